package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/problem"
	"github.com/goldenpathidp/goldenpath/internal/store"
)

// BotUser is goldenpath's own user: it pulls images to run them and watches the registry with a token
// kept in the vault. It cannot be deleted or changed, and its tokens cannot be revoked, through the user
// commands: that would silently stop delivery.
const BotUser = "goldenpath-bot"

// The rules below are enforced here, not in the REST API or the portal, so every way in (CLI, REST, portal)
// refuses the same things with the same words, and every change is audited in one place.

// Mint issues a token for user on behalf of caller: for themselves, or for anyone if caller is an admin.
// A token never outlives the credential that minted it: when caller's credential expires, the new token
// expires no later (ttl 0 means "as long as the caller's credential"), and a longer ttl is refused naming
// the limit. ttl 0 from a credential that does not expire means a token that does not expire either.
func (s *Service) Mint(ctx context.Context, caller Principal, user, description string, ttl time.Duration) (string, store.Token, error) {
	if user != caller.Name && !caller.Is(store.RoleAdmin) {
		return "", store.Token{}, problem.New(problem.Forbidden, "only admins can issue tokens for other users")
	}
	if ttl < 0 {
		return "", store.Token{}, problem.Field("ttl", "must be a positive duration such as 720h, got %s", ttl)
	}
	now := s.now().UTC()
	var exp time.Time
	if ttl > 0 {
		exp = now.Add(ttl)
	}
	if !caller.Expires.IsZero() {
		left := caller.Expires.Sub(now)
		switch {
		case left <= 0:
			return "", store.Token{}, problem.New(problem.Unauthenticated, "the credential you are using expired at %s", caller.Expires.UTC().Format(time.RFC3339))
		case ttl == 0:
			exp = caller.Expires
		case ttl > left:
			return "", store.Token{}, problem.Field("ttl", "%s is longer than the credential you are using has left (it expires at %s, in %s): "+
				"a token cannot mint one that outlives it; ask for at most %s, or leave ttl out to get exactly that",
				ttl, caller.Expires.UTC().Format(time.RFC3339), left.Truncate(time.Second), left.Truncate(time.Second))
		}
	}
	plain, t, err := s.issue(ctx, user, description, exp)
	if errors.Is(err, store.ErrNotFound) {
		return "", store.Token{}, problem.New(problem.NotFound, "user %q does not exist", user)
	}
	if err != nil {
		return "", store.Token{}, err
	}
	detail := "token " + t.ID + ", never expires"
	if t.ExpiresAt != nil {
		detail = "token " + t.ID + ", expires " + t.ExpiresAt.Format(time.RFC3339)
	}
	s.audit(ctx, caller, "token.issue", user, detail)
	return plain, t, nil
}

// Tokens lists user's tokens (never their plaintext, which is not kept, nor their hashes): to the user
// themselves and to admins.
func (s *Service) Tokens(ctx context.Context, caller Principal, user string) ([]store.Token, error) {
	if user != caller.Name && !caller.Is(store.RoleAdmin) {
		return nil, problem.New(problem.Forbidden, "only admins can list other users' tokens; list yours with `goldenpath user token list`")
	}
	if _, err := s.store.GetUser(ctx, user); errors.Is(err, store.ErrNotFound) {
		return nil, problem.New(problem.NotFound, "user %q does not exist", user)
	} else if err != nil {
		return nil, err
	}
	list, err := s.store.ListTokens(ctx, user)
	if err != nil {
		return nil, err
	}
	for i := range list {
		list[i].Hash = nil
	}
	s.audit(ctx, caller, "token.list", user, "")
	return list, nil
}

// Revoke deletes a token: the user revokes their own, admins anyone's. It stops working at once for the
// API, git, the registry and portal sessions opened with it (they look the token up on every request).
func (s *Service) Revoke(ctx context.Context, caller Principal, id string) (store.Token, error) {
	t, err := s.store.GetToken(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Token{}, problem.New(problem.NotFound, "token %q does not exist (list yours with `goldenpath user token list`)", id)
	}
	if err != nil {
		return store.Token{}, err
	}
	if t.User != caller.Name && !caller.Is(store.RoleAdmin) {
		return store.Token{}, problem.New(problem.Forbidden, "token %s is not yours: only admins can revoke other users' tokens", id)
	}
	if t.User == BotUser {
		return store.Token{}, problem.New(problem.Forbidden, "token %s belongs to %s, goldenpath's own user (it pulls and deploys images): it cannot be revoked", id, BotUser)
	}
	if err := s.store.DeleteToken(ctx, id); errors.Is(err, store.ErrNotFound) {
		return store.Token{}, problem.New(problem.NotFound, "token %q does not exist (it was revoked meanwhile)", id)
	} else if err != nil {
		return store.Token{}, err
	}
	t.Hash = nil
	s.audit(ctx, caller, "token.revoke", t.User, "token "+t.ID)
	return t, nil
}

// DeleteUser deletes a user with all their tokens at once (admins only); their portal sessions end at their
// next request. The last admin and goldenpath's own user cannot be deleted. It returns how many tokens went.
func (s *Service) DeleteUser(ctx context.Context, caller Principal, name string) (int, error) {
	if !caller.Is(store.RoleAdmin) {
		return 0, problem.New(problem.Forbidden, "deleting users needs the admin role")
	}
	if name == BotUser {
		return 0, botProblem("deleted")
	}
	n, err := s.store.DeleteUser(ctx, name, func(u store.User, others []store.User) error {
		if isAdmin(u) && !anotherAdmin(others) {
			return lastAdminProblem(name, "deleted")
		}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return 0, problem.New(problem.NotFound, "user %q does not exist", name)
	}
	if err != nil {
		return 0, err
	}
	s.audit(ctx, caller, "user.delete", name, fmt.Sprintf("%d token(s) revoked", n))
	return n, nil
}

// UserChange is a change of a user's roles and teams; a nil field is left as it is, an empty Teams removes
// the user from every team.
type UserChange struct {
	Roles []string
	Teams []string
}

// ChangeUser replaces a user's roles and/or teams (admins only). It takes effect on the user's next
// request, with every token and portal session they have: both look the user up each time. The last admin
// cannot lose the role, and goldenpath's own user cannot be changed.
func (s *Service) ChangeUser(ctx context.Context, caller Principal, name string, ch UserChange) (store.User, error) {
	if !caller.Is(store.RoleAdmin) {
		return store.User{}, problem.New(problem.Forbidden, "changing a user's roles or teams needs the admin role")
	}
	if ch.Roles == nil && ch.Teams == nil {
		return store.User{}, problem.New(problem.Invalid, "nothing to change: give roles, teams or both")
	}
	if name == BotUser {
		return store.User{}, botProblem("changed")
	}
	var before store.User
	u, err := s.store.ChangeUser(ctx, name, func(u *store.User, others []store.User) error {
		before = *u
		if ch.Roles != nil {
			u.Roles = unique(ch.Roles)
		}
		if ch.Teams != nil {
			u.Teams = unique(ch.Teams)
		}
		if err := ValidateUser(*u); err != nil {
			return problem.New(problem.Invalid, "%v", err)
		}
		if isAdmin(before) && !isAdmin(*u) && !anotherAdmin(others) {
			return lastAdminProblem(name, "demoted")
		}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, problem.New(problem.NotFound, "user %q does not exist", name)
	}
	if err != nil {
		return store.User{}, err
	}
	s.audit(ctx, caller, "user.update", name, fmt.Sprintf("roles %s -> %s; teams %s -> %s",
		list(before.Roles), list(u.Roles), list(before.Teams), list(u.Teams)))
	return u, nil
}

func (s *Service) audit(ctx context.Context, caller Principal, action, user, detail string) {
	// The change is made; an audit write that fails must not turn it into an error the caller would retry.
	_ = s.store.Audit(ctx, store.AuditEntry{Time: s.now().UTC(), Actor: caller.Name, Action: action, Target: "user/" + user, Detail: detail})
}

func isAdmin(u store.User) bool { return slices.Contains(u.Roles, store.RoleAdmin) }

// anotherAdmin tells whether a person among others is an admin (goldenpath's own user does not count: no one
// can sign in as it).
func anotherAdmin(others []store.User) bool {
	return slices.ContainsFunc(others, func(o store.User) bool { return o.Name != BotUser && isAdmin(o) })
}

func lastAdminProblem(name, what string) error {
	return problem.New(problem.Precondition, "%s is the last admin and cannot be %s: give another user the admin role first "+
		"(goldenpath user set NAME --role admin)", name, what)
}

func botProblem(what string) error {
	return problem.New(problem.Forbidden, "%s is goldenpath's own user (it pulls and deploys images): it cannot be %s", BotUser, what)
}

func unique(in []string) []string {
	out := make([]string, 0, len(in))
	for _, v := range in {
		if v = strings.TrimSpace(v); !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func list(v []string) string {
	if len(v) == 0 {
		return "(none)"
	}
	return strings.Join(v, ",")
}
