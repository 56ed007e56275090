// Package auth knows who is calling: users with roles and teams, and API tokens that are stored only as
// hashes. Tokens arrive as a Bearer token or as the password of HTTP Basic auth (so git and docker clients
// can use them). OIDC sign-in will be another Authenticator beside this one.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/store"
)

// ErrUnauthenticated means no valid credentials were presented.
var ErrUnauthenticated = errors.New("authentication required: pass an API token as 'Authorization: Bearer <token>'")

// Principal is an authenticated caller.
type Principal struct {
	Name  string   `json:"name"`
	Roles []string `json:"roles"`
	Teams []string `json:"teams"`
	// TokenID is the API token the caller authenticated with ("" for a portal session by another identity).
	TokenID string `json:"-"`
	// Expires is when the caller's credential (their token, or the portal session it opened) stops working;
	// zero if never. Tokens the caller mints expire no later (see Mint).
	Expires time.Time `json:"-"`
}

// Is tells whether p holds role; admins hold every role, approvers are also developers.
func (p Principal) Is(role string) bool {
	if slices.Contains(p.Roles, store.RoleAdmin) {
		return true
	}
	if role == store.RoleDeveloper && slices.Contains(p.Roles, store.RoleApprover) {
		return true
	}
	return slices.Contains(p.Roles, role)
}

// Owns tells whether p may use a resource owned by owner and team: the owner, members of the team, and admins.
func (p Principal) Owns(owner, team string) bool {
	return p.Name == owner || slices.Contains(p.Teams, team) || p.Is(store.RoleAdmin)
}

// Service manages users and tokens.
type Service struct {
	store store.Store
	now   func() time.Time
}

// New returns a Service over s.
func New(s store.Store) *Service { return &Service{store: s, now: time.Now} }

var userName = regexp.MustCompile(`^[a-z0-9]([a-z0-9._-]{0,62})$`)
var teamName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// ValidRoles lists the roles a user may hold.
var ValidRoles = []string{store.RoleDeveloper, store.RoleApprover, store.RoleAdmin}

// ValidateUser checks a user's name, roles and teams.
func ValidateUser(u store.User) error {
	if !userName.MatchString(u.Name) {
		return fmt.Errorf("user name %q is invalid: lowercase letters, digits, '.', '_' and '-', at most 63 characters", u.Name)
	}
	if len(u.Roles) == 0 {
		return fmt.Errorf("user %q needs at least one role (%s)", u.Name, strings.Join(ValidRoles, ", "))
	}
	for _, r := range u.Roles {
		if !slices.Contains(ValidRoles, r) {
			return fmt.Errorf("role %q is unknown: want one of %s", r, strings.Join(ValidRoles, ", "))
		}
	}
	for _, t := range u.Teams {
		if !teamName.MatchString(t) {
			return fmt.Errorf("team name %q is invalid: a DNS label of lowercase letters, digits and '-'", t)
		}
	}
	return nil
}

// AddUser creates a user.
func (s *Service) AddUser(ctx context.Context, u store.User) (store.User, error) {
	if err := ValidateUser(u); err != nil {
		return store.User{}, err
	}
	u.CreatedAt = s.now().UTC()
	if err := s.store.CreateUser(ctx, u); err != nil {
		return store.User{}, err
	}
	return u, nil
}

// IssueToken creates a new token for user and returns its plaintext, which is shown once and never stored.
// It checks nothing about who asks: it is for goldenpath's own users (the first admin, the bot). A token
// asked for by a caller goes through Mint.
func (s *Service) IssueToken(ctx context.Context, user, description string, ttl time.Duration) (string, store.Token, error) {
	var exp time.Time
	if ttl > 0 {
		exp = s.now().UTC().Add(ttl)
	}
	return s.issue(ctx, user, description, exp)
}

// issue creates a token for user expiring at exp (never if zero).
func (s *Service) issue(ctx context.Context, user, description string, exp time.Time) (string, store.Token, error) {
	if _, err := s.store.GetUser(ctx, user); err != nil {
		return "", store.Token{}, err
	}
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return "", store.Token{}, err
	}
	plain := "gp_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw))
	id := make([]byte, 6)
	_, _ = rand.Read(id)
	t := store.Token{ID: hex.EncodeToString(id), User: user, Hash: hash(plain), Description: description, CreatedAt: s.now().UTC()}
	if !exp.IsZero() {
		exp = exp.UTC()
		t.ExpiresAt = &exp
	}
	if err := s.store.CreateToken(ctx, t); err != nil {
		return "", store.Token{}, err
	}
	return plain, t, nil
}

func hash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// Authenticate resolves a plaintext token to its user.
func (s *Service) Authenticate(ctx context.Context, token string) (Principal, error) {
	if !strings.HasPrefix(token, "gp_") {
		return Principal{}, ErrUnauthenticated
	}
	t, err := s.store.TokenByHash(ctx, hash(token))
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, fmt.Errorf("%w (the token is unknown or was revoked)", ErrUnauthenticated)
	}
	if err != nil {
		return Principal{}, err
	}
	now := s.now()
	if t.ExpiresAt != nil && now.After(*t.ExpiresAt) {
		return Principal{}, fmt.Errorf("%w (the token expired at %s)", ErrUnauthenticated, t.ExpiresAt.Format(time.RFC3339))
	}
	u, err := s.store.GetUser(ctx, t.User)
	if err != nil {
		return Principal{}, err
	}
	if now.Sub(t.LastUsedAt) > time.Minute {
		_ = s.store.TouchToken(ctx, t.ID, now)
	}
	p := Principal{Name: u.Name, Roles: u.Roles, Teams: u.Teams, TokenID: t.ID}
	if t.ExpiresAt != nil {
		p.Expires = *t.ExpiresAt
	}
	return p, nil
}

// FromRequest authenticates an HTTP request carrying a token as Bearer or as the Basic auth password.
// A Basic username, when given, must match the token's user.
func (s *Service) FromRequest(r *http.Request) (Principal, error) {
	h := r.Header.Get("Authorization")
	if tok, ok := strings.CutPrefix(h, "Bearer "); ok {
		return s.Authenticate(r.Context(), strings.TrimSpace(tok))
	}
	if user, pass, ok := r.BasicAuth(); ok {
		p, err := s.Authenticate(r.Context(), pass)
		if err != nil {
			return Principal{}, err
		}
		if user != "" && user != p.Name && user != "token" && user != "x-access-token" {
			return Principal{}, fmt.Errorf("%w (the token belongs to %q, not %q)", ErrUnauthenticated, p.Name, user)
		}
		return p, nil
	}
	return Principal{}, ErrUnauthenticated
}
