package cli

import (
	"context"
	"os/exec"
	"testing"
)

// TestCheckoutRepo: a build knows which forge repository its checkout is a clone of only when origin is
// this goldenpath's git endpoint.
func TestCheckoutRepo(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("needs git")
	}
	for _, tt := range []struct{ name, origin, server, want string }{
		{"a clone with credentials", "http://alice:tok@127.0.0.1:7070/git/payments/orders.git", "http://127.0.0.1:7070", "payments/orders"},
		{"without .git", "http://127.0.0.1:7070/git/search/ledger", "http://127.0.0.1:7070/", "search/ledger"},
		{"another server", "http://127.0.0.1:7071/git/payments/orders.git", "http://127.0.0.1:7070", ""},
		{"GitHub", "https://github.com/payments/orders.git", "http://127.0.0.1:7070", ""},
		{"no origin", "", "http://127.0.0.1:7070", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if out, err := exec.Command("git", "-C", dir, "init", "-q").CombinedOutput(); err != nil {
				t.Fatalf("git init: %v\n%s", err, out)
			}
			if tt.origin != "" {
				if out, err := exec.Command("git", "-C", dir, "remote", "add", "origin", tt.origin).CombinedOutput(); err != nil {
					t.Fatalf("git remote add: %v\n%s", err, out)
				}
			}
			if got := checkoutRepo(context.Background(), dir, tt.server); got != tt.want {
				t.Errorf("checkoutRepo = %q, want %q", got, tt.want)
			}
		})
	}
}
