package auth

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/store"
	"github.com/goldenpathidp/goldenpath/internal/store/sqlite"
)

func newService(t *testing.T) *Service {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return New(s)
}

func TestTokens(t *testing.T) {
	ctx := context.Background()
	svc := newService(t)
	if _, err := svc.AddUser(ctx, store.User{Name: "alice", Roles: []string{"developer"}, Teams: []string{"payments"}}); err != nil {
		t.Fatal(err)
	}
	tok, _, err := svc.IssueToken(ctx, "alice", "laptop", 0)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	p, err := svc.FromRequest(req)
	if err != nil || p.Name != "alice" {
		t.Fatalf("bearer: %+v, %v", p, err)
	}
	req = httptest.NewRequest("GET", "/", nil)
	req.SetBasicAuth("alice", tok)
	if p, err := svc.FromRequest(req); err != nil || p.Name != "alice" {
		t.Errorf("basic: %+v, %v", p, err)
	}
	req.SetBasicAuth("bob", tok)
	if _, err := svc.FromRequest(req); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("basic with another user's name: got %v", err)
	}
	req.Header.Set("Authorization", "Bearer gp_wrong")
	if _, err := svc.FromRequest(req); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("wrong token: got %v", err)
	}
	// Expired tokens are refused.
	old, _, _ := svc.IssueToken(ctx, "alice", "short", time.Millisecond)
	svc.now = func() time.Time { return time.Now().Add(time.Hour) }
	if _, err := svc.Authenticate(ctx, old); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired token: got %v", err)
	}
}

func TestRolesAndOwnership(t *testing.T) {
	dev := Principal{Name: "alice", Roles: []string{"developer"}, Teams: []string{"payments"}}
	approver := Principal{Name: "bob", Roles: []string{"approver"}, Teams: []string{"platform"}}
	admin := Principal{Name: "root", Roles: []string{"admin"}}
	if dev.Is("approver") || !approver.Is("developer") || !admin.Is("approver") {
		t.Error("role hierarchy wrong")
	}
	if !dev.Owns("carol", "payments") || approver.Owns("alice", "payments") || !admin.Owns("x", "y") {
		t.Error("ownership wrong")
	}
}

func TestValidateUser(t *testing.T) {
	for _, u := range []store.User{
		{Name: "Alice", Roles: []string{"developer"}},
		{Name: "alice"},
		{Name: "alice", Roles: []string{"superuser"}},
		{Name: "alice", Roles: []string{"developer"}, Teams: []string{"Pay Ments"}},
	} {
		if err := ValidateUser(u); err == nil {
			t.Errorf("%+v: want an error", u)
		}
	}
}
