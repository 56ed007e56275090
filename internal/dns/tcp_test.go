package dns

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

// dialFrom opens a TCP connection to addr from the loopback address ip (127.0.0.2 is another client on
// Linux, where all of 127/8 is local); the test is skipped where that address cannot be used.
func dialFrom(t *testing.T, ip, addr string) *mdns.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		var op *net.OpError
		if ip != "127.0.0.1" && errors.As(err, &op) && op.Op == "dial" {
			t.Skipf("cannot connect from %s here: %v", ip, err)
		}
		t.Fatalf("dialing %s from %s: %v", addr, ip, err)
	}
	t.Cleanup(func() { c.Close() })
	return &mdns.Conn{Conn: c}
}

// ask sends one query on the connection and reports whether an answer came back within the timeout; a
// connection the server closed fails at once.
func ask(c *mdns.Conn, timeout time.Duration) error {
	m := new(mdns.Msg)
	m.SetQuestion("argocd.dev.goldenpathidp.io.", mdns.TypeA)
	_ = c.SetDeadline(time.Now().Add(timeout))
	if err := c.WriteMsg(m); err != nil {
		return err
	}
	r, err := c.ReadMsg()
	if err != nil {
		return err
	}
	if r.Id != m.Id || len(r.Answer) != 1 {
		return errors.New("unexpected answer " + r.String())
	}
	return nil
}

// TestTCPClientCannotStarveOthers: a client holding far more connections than the server serves at once
// gets its share and no more (the rest are closed at once), and another client's query is answered.
func TestTCPClientCannotStarveOthers(t *testing.T) {
	s := startServer(t, "", testRecords())
	attacker := make([]*mdns.Conn, maxTCPConns+100)
	for i := range attacker {
		attacker[i] = dialFrom(t, "127.0.0.1", s.Addr())
	}

	victim := dialFrom(t, "127.0.0.2", s.Addr())
	if err := ask(victim, 5*time.Second); err != nil {
		t.Fatalf("another client's TCP query while one client holds %d connections: %v", len(attacker), err)
	}

	answered := 0
	for _, c := range attacker {
		if ask(c, 5*time.Second) == nil {
			answered++
		}
	}
	if answered != maxTCPConnsPerClient {
		t.Errorf("the client holding %d connections was answered on %d of them, want %d (the rest closed at once)",
			len(attacker), answered, maxTCPConnsPerClient)
	}
}

// TestTCPGlobalLimitClosesAtOnce: over the global limit a new connection is closed at once instead of
// waiting in the backlog, and it is served again as soon as a slot frees up.
func TestTCPGlobalLimitClosesAtOnce(t *testing.T) {
	s, err := NewServer(context.Background(), ServerConfig{Zones: []string{testZone}, MaxTCPConns: 4, MaxTCPConnsPerClient: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.ApplyChanges(context.Background(), testZone, Plan{Zone: testZone, Create: testRecords()}); err != nil {
		t.Fatal(err)
	}
	var held []*mdns.Conn
	for _, ip := range []string{"127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.2"} {
		c := dialFrom(t, ip, s.Addr())
		if err := ask(c, 5*time.Second); err != nil {
			t.Fatalf("connection %d from %s, within the limits: %v", len(held)+1, ip, err)
		}
		held = append(held, c)
	}
	if err := ask(dialFrom(t, "127.0.0.1", s.Addr()), 5*time.Second); err == nil {
		t.Fatal("a fourth connection from 127.0.0.1 (limit 3 per client) was served")
	}
	start := time.Now()
	if err := ask(dialFrom(t, "127.0.0.3", s.Addr()), 5*time.Second); err == nil {
		t.Fatal("a fifth connection (limit 4) was served")
	} else if time.Since(start) > 4*time.Second {
		t.Fatalf("the connection over the limit waited %s before failing (%v), want it closed at once", time.Since(start), err)
	}

	held[0].Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := ask(dialFrom(t, "127.0.0.3", s.Addr()), 5*time.Second)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after one connection closed, a new one is still refused: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
