package gateway

import (
	"log/slog"
	"testing"
	"time"
)

func TestLeafRenewal(t *testing.T) {
	ca, err := loadOrCreateCA(t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	day := 24 * time.Hour
	tests := []struct {
		name    string
		at      time.Time
		renewed bool
	}{
		{"first handshake mints", t0, true},
		{"half-way through its life the cached leaf is served", t0.Add(15 * day), false},
		{"with less than a third of its life left it is renewed", t0.Add(21 * day), true},
		{"the renewed leaf is cached in turn", t0.Add(22 * day), false},
		{"near the CA's end the leaf ends with the CA", ca.cert.NotAfter.Add(-5 * day), true},
		{"a leaf cut short by the CA is still cached", ca.cert.NotAfter.Add(-4 * day), false},
	}
	var prev string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ca.now = func() time.Time { return tt.at }
			c, err := ca.leaf("a.test")
			if err != nil {
				t.Fatalf("leaf: %v", err)
			}
			serial := c.Leaf.SerialNumber.String()
			if renewed := serial != prev; renewed != tt.renewed {
				t.Errorf("got renewed %v, want %v", renewed, tt.renewed)
			}
			prev = serial
			if c.Leaf.NotAfter.After(ca.cert.NotAfter) {
				t.Errorf("got leaf ending %s, after its CA (%s)", c.Leaf.NotAfter, ca.cert.NotAfter)
			}
			if !tt.at.After(c.Leaf.NotBefore) || !tt.at.Before(c.Leaf.NotAfter) {
				t.Errorf("got leaf valid %s to %s, want it valid at %s", c.Leaf.NotBefore, c.Leaf.NotAfter, tt.at)
			}
		})
	}
}
