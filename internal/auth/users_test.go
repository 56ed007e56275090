package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/problem"
	"github.com/goldenpathidp/goldenpath/internal/store"
)

// cast creates root (admin), the bot (admin), alice (developer, payments) and sam (developer, search), each
// with a token that does not expire, and returns their principals.
func cast(t *testing.T, svc *Service) map[string]Principal {
	t.Helper()
	ctx := context.Background()
	out := map[string]Principal{}
	for _, u := range []store.User{
		{Name: "root", Roles: []string{store.RoleAdmin}, Teams: []string{"platform"}},
		{Name: BotUser, Roles: []string{store.RoleAdmin}, Teams: []string{"platform"}},
		{Name: "alice", Roles: []string{store.RoleDeveloper}, Teams: []string{"payments"}},
		{Name: "sam", Roles: []string{store.RoleDeveloper}, Teams: []string{"search"}},
	} {
		if _, err := svc.AddUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		tok, _, err := svc.IssueToken(ctx, u.Name, "test", 0)
		if err != nil {
			t.Fatal(err)
		}
		p, err := svc.Authenticate(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		out[u.Name] = p
	}
	return out
}

// wantProblem fails unless err is a problem with code whose message contains text.
func wantProblem(t *testing.T, err error, code problem.Code, text string) {
	t.Helper()
	var p *problem.Error
	if !errors.As(err, &p) || p.Code != code || !strings.Contains(p.Message, text) {
		t.Errorf("got %v, want a %s problem saying %q", err, code, text)
	}
}

func audited(t *testing.T, svc *Service, actor, action, target string) store.AuditEntry {
	t.Helper()
	log, err := svc.store.AuditLog(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range log {
		if e.Actor == actor && e.Action == action && e.Target == target {
			return e
		}
	}
	t.Errorf("no audit entry %s %s %s in %+v", actor, action, target, log)
	return store.AuditEntry{}
}

func TestMintNeverOutlivesTheCaller(t *testing.T) {
	ctx := context.Background()
	svc := newService(t)
	ps := cast(t, svc)
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	svc.now = func() time.Time { return now }

	short, st, err := svc.Mint(ctx, ps["alice"], "alice", "short", 30*time.Second)
	if err != nil || st.ExpiresAt == nil || !st.ExpiresAt.Equal(now.Add(30*time.Second)) {
		t.Fatalf("minting a 30s token: %+v, %v", st, err)
	}
	shortP, err := svc.Authenticate(ctx, short)
	if err != nil || !shortP.Expires.Equal(now.Add(30*time.Second)) || shortP.TokenID != st.ID {
		t.Fatalf("authenticating the 30s token: %+v, %v", shortP, err)
	}
	now = now.Add(10 * time.Second) // 20s left

	tests := []struct {
		name    string
		caller  Principal
		user    string
		ttl     time.Duration
		wantExp time.Time // zero: never
		code    problem.Code
		text    string
	}{
		{name: "longer ttl", caller: shortP, user: "alice", ttl: time.Hour, code: problem.Invalid, text: "ttl: 1h0m0s is longer than the credential you are using has left (it expires at 2030-01-01T12:00:30Z, in 20s)"},
		{name: "just over", caller: shortP, user: "alice", ttl: 21 * time.Second, code: problem.Invalid, text: "ask for at most 20s"},
		{name: "no ttl: the caller's remaining life", caller: shortP, user: "alice", wantExp: now.Add(20 * time.Second)},
		{name: "shorter ttl", caller: shortP, user: "alice", ttl: 5 * time.Second, wantExp: now.Add(5 * time.Second)},
		{name: "exactly what is left", caller: shortP, user: "alice", ttl: 20 * time.Second, wantExp: now.Add(20 * time.Second)},
		{name: "a non-expiring token mints a non-expiring one", caller: ps["alice"], user: "alice"},
		{name: "a non-expiring token mints any ttl", caller: ps["alice"], user: "alice", ttl: 9000 * time.Hour, wantExp: now.Add(9000 * time.Hour)},
		{name: "for another user", caller: ps["alice"], user: "sam", code: problem.Forbidden, text: "only admins can issue tokens for other users"},
		{name: "admin for another user", caller: ps["root"], user: "sam"},
		{name: "no such user", caller: ps["root"], user: "nobody", code: problem.NotFound, text: `user "nobody" does not exist`},
		{name: "negative ttl", caller: ps["alice"], user: "alice", ttl: -time.Second, code: problem.Invalid, text: "ttl: must be a positive duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plain, tok, err := svc.Mint(ctx, tt.caller, tt.user, tt.name, tt.ttl)
			if tt.code != "" {
				wantProblem(t, err, tt.code, tt.text)
				if plain != "" {
					t.Error("a refused mint returned a token")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.wantExp.IsZero() && tok.ExpiresAt != nil:
				t.Errorf("expires at %s, want never", tok.ExpiresAt)
			case !tt.wantExp.IsZero() && (tok.ExpiresAt == nil || !tok.ExpiresAt.Equal(tt.wantExp)):
				t.Errorf("expires at %v, want %s", tok.ExpiresAt, tt.wantExp)
			}
			if p, err := svc.Authenticate(ctx, plain); err != nil || p.Name != tt.user {
				t.Errorf("the new token authenticates as %+v, %v; want %s", p, err, tt.user)
			}
		})
	}

	// The short token's child cannot be used to go further either: it too is bound by the same limit.
	child, _, err := svc.Mint(ctx, shortP, "alice", "child", 0)
	if err != nil {
		t.Fatal(err)
	}
	childP, _ := svc.Authenticate(ctx, child)
	if _, _, err := svc.Mint(ctx, childP, "alice", "grandchild", time.Minute); err == nil {
		t.Error("the short token's child minted a token that outlives it")
	}
	// An admin with a short token is held to it as well, for anyone.
	adminShort, _, _ := svc.Mint(ctx, ps["root"], "root", "short admin", time.Minute)
	adminShortP, _ := svc.Authenticate(ctx, adminShort)
	if _, _, err := svc.Mint(ctx, adminShortP, "sam", "", 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Mint(ctx, adminShortP, "sam", "", 2*time.Minute); err == nil {
		t.Error("an admin's one-minute token minted a two-minute token for someone else")
	}
	e := audited(t, svc, "alice", "token.issue", "user/alice")
	if !strings.Contains(e.Detail, "expires") || strings.Contains(e.Detail, "gp_") {
		t.Errorf("audit detail %q: want the token id and expiry, never the token", e.Detail)
	}
}

func TestListAndRevokeTokens(t *testing.T) {
	ctx := context.Background()
	svc := newService(t)
	ps := cast(t, svc)
	aliceTok, at, err := svc.Mint(ctx, ps["alice"], "alice", "laptop", time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	list, err := svc.Tokens(ctx, ps["alice"], "alice")
	if err != nil || len(list) != 2 {
		t.Fatalf("alice's tokens: %+v, %v", list, err)
	}
	for _, tok := range list {
		if tok.Hash != nil {
			t.Error("the token list carries hashes")
		}
	}
	if _, err := svc.Tokens(ctx, ps["sam"], "alice"); err == nil {
		t.Error("sam listed alice's tokens")
	} else {
		wantProblem(t, err, problem.Forbidden, "only admins can list other users' tokens")
	}
	if l, err := svc.Tokens(ctx, ps["root"], "alice"); err != nil || len(l) != 2 {
		t.Errorf("the admin listing alice's tokens: %d, %v", len(l), err)
	}
	audited(t, svc, "root", "token.list", "user/alice")

	_, err = svc.Revoke(ctx, ps["sam"], at.ID)
	wantProblem(t, err, problem.Forbidden, "is not yours")
	if _, err := svc.Authenticate(ctx, aliceTok); err != nil {
		t.Fatalf("sam's refused revoke broke alice's token: %v", err)
	}
	if _, err := svc.Revoke(ctx, ps["alice"], at.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, aliceTok); !errors.Is(err, ErrUnauthenticated) || !strings.Contains(err.Error(), "revoked") {
		t.Errorf("a revoked token: got %v, want unauthenticated (revoked)", err)
	}
	e := audited(t, svc, "alice", "token.revoke", "user/alice")
	if e.Detail != "token "+at.ID {
		t.Errorf("audit detail %q, want token %s", e.Detail, at.ID)
	}
	_, err = svc.Revoke(ctx, ps["alice"], at.ID)
	wantProblem(t, err, problem.NotFound, "does not exist")

	// Admins revoke anyone's, except the bot's.
	if _, err := svc.Revoke(ctx, ps["root"], ps["sam"].TokenID); err != nil {
		t.Errorf("the admin revoking sam's token: %v", err)
	}
	_, err = svc.Revoke(ctx, ps["root"], ps[BotUser].TokenID)
	wantProblem(t, err, problem.Forbidden, "goldenpath's own user")
}

func TestDeleteAndChangeUsers(t *testing.T) {
	ctx := context.Background()
	svc := newService(t)
	ps := cast(t, svc)
	extra, _, _ := svc.IssueToken(ctx, "alice", "second", 0)

	// Developers change nobody, themselves included.
	_, err := svc.ChangeUser(ctx, ps["sam"], "sam", UserChange{Roles: []string{store.RoleAdmin}})
	wantProblem(t, err, problem.Forbidden, "needs the admin role")
	_, err = svc.ChangeUser(ctx, ps["sam"], "alice", UserChange{Teams: []string{"search"}})
	wantProblem(t, err, problem.Forbidden, "needs the admin role")
	_, err = svc.DeleteUser(ctx, ps["sam"], "alice")
	wantProblem(t, err, problem.Forbidden, "needs the admin role")

	// The admin changes roles and teams; a later Authenticate sees them.
	u, err := svc.ChangeUser(ctx, ps["root"], "alice", UserChange{Roles: []string{store.RoleApprover}, Teams: []string{"search", "search"}})
	if err != nil || u.Roles[0] != store.RoleApprover || len(u.Teams) != 1 || u.Teams[0] != "search" {
		t.Fatalf("ChangeUser = %+v, %v", u, err)
	}
	if p, _ := svc.Authenticate(ctx, extra); !p.Is(store.RoleApprover) || p.Teams[0] != "search" {
		t.Errorf("an existing token after the change: %+v", p)
	}
	e := audited(t, svc, "root", "user.update", "user/alice")
	if e.Detail != "roles developer -> approver; teams payments -> search" {
		t.Errorf("audit detail %q", e.Detail)
	}
	if u, err := svc.ChangeUser(ctx, ps["root"], "alice", UserChange{Teams: []string{}}); err != nil || len(u.Teams) != 0 || u.Roles[0] != store.RoleApprover {
		t.Errorf("clearing teams: %+v, %v", u, err)
	}
	for _, tt := range []struct {
		name string
		ch   UserChange
		code problem.Code
		text string
	}{
		{"no roles", UserChange{Roles: []string{}}, problem.Invalid, "needs at least one role"},
		{"unknown role", UserChange{Roles: []string{"root"}}, problem.Invalid, `role "root" is unknown`},
		{"bad team", UserChange{Teams: []string{"Pay Ments"}}, problem.Invalid, `team name "Pay Ments" is invalid`},
		{"nothing", UserChange{}, problem.Invalid, "nothing to change"},
	} {
		_, err := svc.ChangeUser(ctx, ps["root"], "alice", tt.ch)
		wantProblem(t, err, tt.code, tt.text)
	}

	// The last admin (the bot does not count) can be neither demoted nor deleted; the bot not touched.
	_, err = svc.ChangeUser(ctx, ps["root"], "root", UserChange{Roles: []string{store.RoleDeveloper}})
	wantProblem(t, err, problem.Precondition, "root is the last admin and cannot be demoted")
	_, err = svc.DeleteUser(ctx, ps["root"], "root")
	wantProblem(t, err, problem.Precondition, "root is the last admin and cannot be deleted")
	_, err = svc.ChangeUser(ctx, ps["root"], BotUser, UserChange{Roles: []string{store.RoleDeveloper}})
	wantProblem(t, err, problem.Forbidden, "goldenpath's own user")
	_, err = svc.DeleteUser(ctx, ps["root"], BotUser)
	wantProblem(t, err, problem.Forbidden, "goldenpath's own user")
	if _, err := svc.ChangeUser(ctx, ps["root"], "sam", UserChange{Roles: []string{store.RoleAdmin}}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ChangeUser(ctx, ps["root"], "root", UserChange{Roles: []string{store.RoleApprover}}); err != nil {
		t.Errorf("demoting an admin while another remains: %v", err)
	}

	// Deleting a user takes every token of theirs at once.
	samAdmin := Principal{Name: "sam", Roles: []string{store.RoleAdmin}} // as sam's next request sees them
	n, err := svc.DeleteUser(ctx, samAdmin, "alice")
	if err != nil || n != 2 {
		t.Fatalf("DeleteUser = %d, %v; want 2 tokens revoked", n, err)
	}
	for _, tok := range []string{extra} {
		if _, err := svc.Authenticate(ctx, tok); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("a deleted user's token: got %v", err)
		}
	}
	if e := audited(t, svc, "sam", "user.delete", "user/alice"); e.Detail != "2 token(s) revoked" {
		t.Errorf("audit detail %q", e.Detail)
	}
	_, err = svc.DeleteUser(ctx, samAdmin, "alice")
	wantProblem(t, err, problem.NotFound, `user "alice" does not exist`)
}
