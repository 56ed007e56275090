package portal

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/goldenpathidp/goldenpath/internal/auth"
	"github.com/goldenpathidp/goldenpath/internal/problem"
	"github.com/goldenpathidp/goldenpath/internal/store"
)

// The account and user pages: everyone sees and revokes their own tokens; admins see every user, change
// roles and teams, revoke anyone's tokens and delete users. Who may do what is decided by Options.Users
// (auth.Service), the same code the REST API calls; the pages only hide what a user cannot do.

func (s *Server) users() (Users, error) {
	if s.o.Users == nil {
		return nil, problem.New(problem.Unavailable, "managing users and tokens is not available in this portal; use `goldenpath user`")
	}
	return s.o.Users, nil
}

func (s *Server) userList(w http.ResponseWriter, r *http.Request, v *visitor) error {
	if !v.p.Is(store.RoleAdmin) {
		return problem.New(problem.Forbidden, "listing users needs the admin role; your own tokens are at /users/%s", v.p.Name)
	}
	list, err := s.o.Store.ListUsers(r.Context())
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "users", v, "Users", map[string]any{"Users": list})
	return nil
}

type userData struct {
	U        store.User
	Tokens   []store.Token
	Self     bool
	Admin    bool // the visitor may change the user
	Bot      bool
	Roles    []string
	TokenID  string // the token this session was opened with
	TeamList string
}

func (s *Server) userPage(w http.ResponseWriter, r *http.Request, v *visitor) error {
	users, err := s.users()
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	tokens, err := users.Tokens(r.Context(), v.p, name) // refuses other users' pages to non-admins
	if err != nil {
		return err
	}
	u, err := s.o.Store.GetUser(r.Context(), name)
	if errors.Is(err, store.ErrNotFound) {
		return problem.New(problem.NotFound, "user %q does not exist", name)
	}
	if err != nil {
		return err
	}
	d := userData{U: u, Tokens: tokens, Self: name == v.p.Name, Admin: v.p.Is(store.RoleAdmin), Bot: name == auth.BotUser,
		Roles: auth.ValidRoles, TokenID: v.p.TokenID, TeamList: strings.Join(u.Teams, ", ")}
	s.render(w, r, http.StatusOK, "user", v, "User "+name, d)
	return nil
}

// userSet replaces a user's roles and teams from the form: role checkboxes and a list of teams separated
// by commas or spaces (empty: no team).
func (s *Server) userSet(w http.ResponseWriter, r *http.Request, v *visitor) error {
	users, err := s.users()
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	roles := r.PostForm["role"]
	if roles == nil {
		roles = []string{}
	}
	teams := strings.FieldsFunc(r.PostFormValue("teams"), func(c rune) bool { return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r' })
	if teams == nil {
		teams = []string{}
	}
	u, err := users.ChangeUser(r.Context(), v.p, name, auth.UserChange{Roles: roles, Teams: teams})
	if err != nil {
		return err
	}
	return redirect(w, r, v, "/users/"+url.PathEscape(name), "Saved: "+u.Name+" now has roles "+listOrNone(u.Roles)+" and teams "+listOrNone(u.Teams)+".")
}

func (s *Server) userDelete(w http.ResponseWriter, r *http.Request, v *visitor) error {
	users, err := s.users()
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	n, err := users.DeleteUser(r.Context(), v.p, name)
	if err != nil {
		return err
	}
	s.sessions.endUser(name) // at once, not only at their next request
	if name == v.p.Name {
		s.clearCookie(w, sessionCookie, sessionCookiePath)
		http.Redirect(w, r, "/signin?signedout=1", http.StatusSeeOther)
		return nil
	}
	return redirect(w, r, v, "/users", "Deleted "+name+": "+itoa(int64(n))+" token(s) revoked, their sessions ended.")
}

func (s *Server) tokenRevoke(w http.ResponseWriter, r *http.Request, v *visitor) error {
	users, err := s.users()
	if err != nil {
		return err
	}
	t, err := users.Revoke(r.Context(), v.p, r.PathValue("id"))
	if err != nil {
		return err
	}
	if t.ID == v.p.TokenID { // this session stands on that token: it ends now
		s.sessions.delete(v.sid)
		s.clearCookie(w, sessionCookie, sessionCookiePath)
		http.Redirect(w, r, "/signin?signedout=1", http.StatusSeeOther)
		return nil
	}
	return redirect(w, r, v, "/users/"+url.PathEscape(t.User), "Revoked token "+t.ID+" of "+t.User+": it no longer works anywhere.")
}

func listOrNone(v []string) string {
	if len(v) == 0 {
		return "(none)"
	}
	return strings.Join(slices.Clone(v), ", ")
}
