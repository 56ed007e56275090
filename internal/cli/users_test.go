package cli

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/goldenpathidp/goldenpath/internal/app"
)

func TestUserCommands(t *testing.T) {
	a, err := app.Start(context.Background(), app.Config{DataDir: t.TempDir(), Addr: "127.0.0.1:0", S3Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	c := cliEnv{t: t, server: a.URL(), dir: t.TempDir()}
	admin := a.AdminToken
	c.ok(admin, "user", "add", "alice", "--role", "developer", "--team", "payments")
	c.ok(admin, "user", "add", "list", "--role", "developer") // a user named like a subcommand
	alice := strings.TrimSpace(c.ok(admin, "user", "token", "alice", "--description", "laptop"))
	if !strings.HasPrefix(alice, "gp_") {
		t.Fatalf("user token alice printed %q", alice)
	}
	if tok := strings.TrimSpace(c.ok(admin, "user", "token", "issue", "list")); !strings.HasPrefix(tok, "gp_") {
		t.Errorf("user token issue list printed %q", tok)
	}
	short := strings.TrimSpace(c.ok(alice, "user", "token", "alice", "--ttl", "10m", "--description", "short"))

	// A short-lived token cannot mint a longer one; with no --ttl the new one ends with it.
	if _, errs, code := c.run(short, "user", "token", "alice", "--ttl", "720h"); code != 3 || !strings.Contains(errs, "is longer than the credential you are using has left") {
		t.Errorf("a longer ttl from a 10m token: exit %d, %s", code, errs)
	}
	c.ok(short, "user", "token", "alice")

	out := c.ok(alice, "user", "token", "list")
	if !strings.Contains(out, "ID") || !strings.Contains(out, "LAST USED") || !strings.Contains(out, "laptop") || !strings.Contains(out, "(this one)") {
		t.Errorf("user token list:\n%s", out)
	}
	if strings.Contains(out, "gp_") {
		t.Errorf("user token list shows a token:\n%s", out)
	}
	if lines := strings.Count(strings.TrimSpace(out), "\n"); lines != 3 {
		t.Errorf("user token list: %d tokens, want 3:\n%s", lines, out)
	}
	m := regexp.MustCompile(`(?m)^([0-9a-f]{12})\s+short\s`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no 'short' token in:\n%s", out)
	}
	if _, errs, code := c.run(alice, "user", "token", "list", "admin"); code != 4 || !strings.Contains(errs, "only admins can list other users' tokens") {
		t.Errorf("alice listing admin's tokens: exit %d, %s", code, errs)
	}
	if out := c.ok(alice, "user", "token", "revoke", m[1]); !strings.Contains(out, "Revoked token "+m[1]+" of alice") {
		t.Errorf("revoke printed %q", out)
	}
	if _, errs, code := c.run(short, "whoami"); code != 4 || !strings.Contains(errs, "revoked") {
		t.Errorf("a revoked token: exit %d, %s", code, errs)
	}

	// Roles and teams: admins only, at once.
	if _, errs, code := c.run(alice, "user", "set", "alice", "--role", "admin"); code != 4 || !strings.Contains(errs, "needs the admin role") {
		t.Errorf("alice making herself admin: exit %d, %s", code, errs)
	}
	if _, errs, code := c.run(admin, "user", "set", "alice"); code != 2 || !strings.Contains(errs, "give --role, --team or both") {
		t.Errorf("set without flags: exit %d, %s", code, errs)
	}
	if out := c.ok(admin, "user", "set", "alice", "--role", "approver", "--team", "search,payments"); !strings.Contains(out, "roles approver; teams search,payments") {
		t.Errorf("set printed %q", out)
	}
	if out := c.ok(alice, "whoami"); !strings.Contains(out, "roles: approver") || !strings.Contains(out, "teams: search,payments") {
		t.Errorf("whoami after set: %s", out)
	}
	if out := c.ok(admin, "user", "set", "alice", "--team", ""); !strings.Contains(out, "teams -") {
		t.Errorf("clearing teams printed %q", out)
	}
	if _, errs, code := c.run(admin, "user", "set", "admin", "--role", "developer"); code != 6 || !strings.Contains(errs, "admin is the last admin") {
		t.Errorf("demoting the last admin: exit %d, %s", code, errs)
	}
	if _, errs, code := c.run(admin, "user", "delete", "goldenpath-bot"); code != 4 || !strings.Contains(errs, "goldenpath's own user") {
		t.Errorf("deleting the bot: exit %d, %s", code, errs)
	}
	if out := c.ok(admin, "user", "delete", "alice"); !strings.Contains(out, "Deleted user alice (2 token(s) revoked)") {
		t.Errorf("delete printed %q", out)
	}
	if _, _, code := c.run(alice, "whoami"); code != 4 {
		t.Errorf("a deleted user's token: exit %d, want 4", code)
	}
}
