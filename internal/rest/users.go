package rest

import (
	"net/http"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/auth"
	"github.com/goldenpathidp/goldenpath/internal/store"
)

// The rules (who may, the last admin, goldenpath's own user, audit) live in auth.Service; these handlers
// only translate HTTP.

// TokenView is what the API shows of a token: never the token, which is not kept, nor its hash.
type TokenView struct {
	ID          string     `json:"id"`
	User        string     `json:"user"`
	Description string     `json:"description,omitempty"`
	CreatedAt   time.Time  `json:"createdAt"`
	ExpiresAt   *time.Time `json:"expiresAt,omitempty"`
	LastUsedAt  time.Time  `json:"lastUsedAt,omitzero"`
	Current     bool       `json:"current,omitempty"` // the token of this very request
}

func tokenView(t store.Token, p auth.Principal) TokenView {
	return TokenView{ID: t.ID, User: t.User, Description: t.Description, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt,
		LastUsedAt: t.LastUsedAt, Current: t.ID == p.TokenID}
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	list, err := s.Users.Tokens(r.Context(), p, r.PathValue("name"))
	if err != nil {
		return err
	}
	items := make([]TokenView, 0, len(list))
	for _, t := range list {
		items = append(items, tokenView(t, p))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	t, err := s.Users.Revoke(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"revoked": tokenView(t, p)})
}

type userChangeBody struct {
	Roles []string `json:"roles"` // absent or null: unchanged
	Teams []string `json:"teams"` // absent or null: unchanged; []: no teams
}

func (s *Server) changeUser(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var in userChangeBody
	if err := decode(r, &in); err != nil {
		return err
	}
	u, err := s.Users.ChangeUser(r.Context(), p, r.PathValue("name"), auth.UserChange{Roles: in.Roles, Teams: in.Teams})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, u)
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	name := r.PathValue("name")
	n, err := s.Users.DeleteUser(r.Context(), p, name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"deleted": name, "tokensRevoked": n})
}
