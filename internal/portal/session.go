package portal

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/auth"
	"github.com/goldenpathidp/goldenpath/internal/problem"
	"github.com/goldenpathidp/goldenpath/internal/store"
)

// Cookie names. The session cookie holds only a random id; the sign-in cookie a random value the sign-in
// form must echo (login CSRF: a page elsewhere cannot sign a browser in as someone else).
const (
	sessionCookie = "gp_session"
	signInCookie  = "gp_signin"
	csrfField     = "csrf"
	maxSessions   = 10000
	maxDrafts     = 10
)

// session is one signed-in browser. It is kept in memory: a restart signs everyone out, which for a single
// process is the honest behaviour (the alternative, a session table, comes with the PostgreSQL store).
type session struct {
	user      string
	tokenHash []byte          // the hash of the token signed in with; nil for an external identity
	identity  *auth.Principal // an external identity (Options.Identify), for users goldenpath does not store
	csrf      string
	expires   time.Time

	mu     sync.Mutex
	flash  string
	drafts map[string]*draft
}

func (se *session) setFlash(msg string) {
	se.mu.Lock()
	se.flash = msg
	se.mu.Unlock()
}

func (se *session) takeFlash() string {
	se.mu.Lock()
	defer se.mu.Unlock()
	f := se.flash
	se.flash = ""
	return f
}

// sessions maps the hash of a session id to its session, so the ids themselves are not kept in memory.
type sessions struct {
	mu  sync.Mutex
	m   map[[32]byte]*session
	now func() time.Time
}

func newSessions(now func() time.Time) *sessions {
	return &sessions{m: map[[32]byte]*session{}, now: now}
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// create stores a new session and returns its id.
func (ss *sessions) create(se *session) string {
	id := randomString(32)
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if len(ss.m) >= maxSessions {
		ss.pruneLocked()
	}
	if len(ss.m) >= maxSessions {
		for k := range ss.m { // still full of live sessions: drop an arbitrary one rather than grow without bound
			delete(ss.m, k)
			break
		}
	}
	ss.m[sha256.Sum256([]byte(id))] = se
	return id
}

func (ss *sessions) pruneLocked() {
	now := ss.now()
	for k, se := range ss.m {
		if now.After(se.expires) {
			delete(ss.m, k)
		}
	}
}

func (ss *sessions) get(id string) *session {
	key := sha256.Sum256([]byte(id))
	ss.mu.Lock()
	defer ss.mu.Unlock()
	se := ss.m[key]
	if se != nil && ss.now().After(se.expires) {
		delete(ss.m, key)
		return nil
	}
	return se
}

// endUser ends every session of user (deleted, or signed out everywhere).
func (ss *sessions) endUser(user string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for k, se := range ss.m {
		if se.user == user {
			delete(ss.m, k)
		}
	}
}

func (ss *sessions) delete(id string) {
	ss.mu.Lock()
	delete(ss.m, sha256.Sum256([]byte(id)))
	ss.mu.Unlock()
}

// visitor is who is asking: the principal and their session, or nobody.
type visitor struct {
	p       auth.Principal
	session *session
	sid     string
}

func (v *visitor) signedIn() bool { return v != nil && v.session != nil }

type handlerFunc func(w http.ResponseWriter, r *http.Request, v *visitor) error

// authed resolves the visitor and sends anonymous ones to the sign-in page. Actions (POSTs) must carry the
// session's CSRF token.
func (s *Server) authed(fn handlerFunc, isAction bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := s.visitor(w, r)
		if err != nil {
			s.fail(w, r, nil, err)
			return
		}
		if !v.signedIn() {
			if isAction {
				s.fail(w, r, nil, problem.New(problem.Unauthenticated, "your session has ended: sign in again and repeat the action"))
				return
			}
			http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if isAction {
			if err := checkCSRF(r, v.session.csrf); err != nil {
				s.fail(w, r, v, err)
				return
			}
		}
		if err := fn(w, r, v); err != nil {
			s.fail(w, r, v, err)
		}
	})
}

// checkCSRF compares the form's token with the expected one and refuses cross-origin posts.
func checkCSRF(r *http.Request, want string) error {
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		if u, err := url.Parse(o); err != nil || u.Host != r.Host {
			return problem.New(problem.Forbidden, "the form was posted from another site (%s); open goldenpath and try again", o)
		}
	}
	got := r.PostFormValue(csrfField)
	if got == "" || want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return problem.New(problem.Forbidden, "the form's security token is missing or stale; reload the page and try again")
	}
	return nil
}

// visitor finds the session of the request and refreshes its principal (roles and teams may have changed
// since sign-in; a revoked or expired token, or a deleted user, ends the session).
func (s *Server) visitor(w http.ResponseWriter, r *http.Request) (*visitor, error) {
	c, err := r.Cookie(sessionCookie)
	if err == nil {
		if se := s.sessions.get(c.Value); se != nil {
			p, err := s.principal(r.Context(), se)
			if err == nil {
				return &visitor{p: p, session: se, sid: c.Value}, nil
			}
			if !errors.Is(err, auth.ErrUnauthenticated) {
				return nil, err
			}
			s.sessions.delete(c.Value)
		}
	}
	if s.o.Identify != nil {
		p, ok, err := s.o.Identify(r)
		if err != nil {
			return nil, problem.New(problem.Unauthenticated, "%v", err)
		}
		if ok {
			se := &session{user: p.Name, identity: &p, csrf: randomString(32), expires: s.o.now().Add(s.o.SessionTTL)}
			sid := s.sessions.create(se)
			s.setSessionCookie(w, r, sid, se.expires)
			return &visitor{p: p, session: se, sid: sid}, nil
		}
	}
	return &visitor{}, nil
}

// principal is who the session acts for, read afresh on every request: a revoked or expired token, or a
// deleted user, ends the session; changed roles and teams apply at once. Its Expires is when the session
// or the token it was opened with ends, whichever is first, so nothing minted through it outlives either.
func (s *Server) principal(ctx context.Context, se *session) (auth.Principal, error) {
	expires, tokenID := se.expires, ""
	if se.tokenHash != nil {
		t, err := s.o.Store.TokenByHash(ctx, se.tokenHash)
		if errors.Is(err, store.ErrNotFound) {
			return auth.Principal{}, auth.ErrUnauthenticated
		}
		if err != nil {
			return auth.Principal{}, err
		}
		if t.User != se.user || (t.ExpiresAt != nil && s.o.now().After(*t.ExpiresAt)) {
			return auth.Principal{}, auth.ErrUnauthenticated
		}
		if t.ExpiresAt != nil && t.ExpiresAt.Before(expires) {
			expires = *t.ExpiresAt
		}
		tokenID = t.ID
	}
	u, err := s.o.Store.GetUser(ctx, se.user)
	if errors.Is(err, store.ErrNotFound) && se.identity != nil {
		p := *se.identity // known to the identity provider only: its roles and teams as it gave them
		p.Expires = expires
		return p, nil
	}
	if errors.Is(err, store.ErrNotFound) {
		return auth.Principal{}, auth.ErrUnauthenticated
	}
	if err != nil {
		return auth.Principal{}, err
	}
	return auth.Principal{Name: u.Name, Roles: u.Roles, Teams: u.Teams, TokenID: tokenID, Expires: expires}, nil
}

// secureCookies tells whether cookies get the Secure attribute.
func (s *Server) secureCookies() bool { return !s.o.InsecureCookies }

func (s *Server) setSessionCookie(w http.ResponseWriter, r *http.Request, sid string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: sid, Path: sessionCookiePath, Expires: expires, HttpOnly: true,
		Secure: s.secureCookies(), SameSite: http.SameSiteLaxMode})
}

// Cookie paths. A browser deletes a cookie only when the deleting Set-Cookie has the same name and path
// (and domain), so clearing uses the path the cookie was set with.
const (
	sessionCookiePath = "/"
	signInCookiePath  = "/signin"
)

func (s *Server) clearCookie(w http.ResponseWriter, name, path string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: path, MaxAge: -1, HttpOnly: true,
		Secure: s.secureCookies(), SameSite: http.SameSiteLaxMode})
}

// signInPage shows the sign-in form, with a fresh login-CSRF value.
func (s *Server) signInPage(w http.ResponseWriter, r *http.Request) {
	v, err := s.visitor(w, r)
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	next := safeNext(r.URL.Query().Get("next"))
	if v.signedIn() {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	msg := ""
	if r.URL.Query().Get("signedout") == "1" {
		msg = "You are signed out."
	}
	s.renderSignIn(w, r, http.StatusOK, next, msg, "")
}

func (s *Server) renderSignIn(w http.ResponseWriter, r *http.Request, status int, next, notice, problemMsg string) {
	token := randomString(24)
	http.SetCookie(w, &http.Cookie{Name: signInCookie, Value: token, Path: signInCookiePath, MaxAge: 3600, HttpOnly: true,
		Secure: s.secureCookies(), SameSite: http.SameSiteStrictMode})
	s.render(w, r, status, "signin", &visitor{}, "Sign in", map[string]any{
		"Next": next, "Notice": notice, "Problem": problemMsg, "SignInToken": token,
	})
}

// signIn checks an API token and opens a session. The token itself is neither stored nor sent back.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.PostFormValue("next"))
	c, err := r.Cookie(signInCookie)
	if err != nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue(csrfField))) != 1 {
		s.renderSignIn(w, r, http.StatusForbidden, next, "", "The sign-in form expired or was posted from another site; try again.")
		return
	}
	token := strings.TrimSpace(r.PostFormValue("token"))
	if token == "" {
		s.renderSignIn(w, r, http.StatusBadRequest, next, "", "token: enter your goldenpath API token (it starts with gp_).")
		return
	}
	p, err := s.o.Tokens.Authenticate(r.Context(), token)
	if errors.Is(err, auth.ErrUnauthenticated) {
		s.log.Info("portal sign-in refused", "remote", remoteHost(r))
		s.renderSignIn(w, r, http.StatusUnauthorized, next, "", "That token is not valid: it is unknown, revoked or expired.")
		return
	}
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	h := sha256.Sum256([]byte(token))
	se := &session{user: p.Name, tokenHash: h[:], csrf: randomString(32), expires: s.o.now().Add(s.o.SessionTTL)}
	sid := s.sessions.create(se)
	s.clearCookie(w, signInCookie, signInCookiePath)
	s.setSessionCookie(w, r, sid, se.expires)
	_ = s.o.Store.Audit(r.Context(), store.AuditEntry{Time: s.o.now().UTC(), Actor: p.Name, Action: "portal.signin", Target: "user/" + p.Name})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// signOut ends the session. It needs the CSRF token, so another site cannot sign a user out either.
func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		http.Redirect(w, r, "/signin?signedout=1", http.StatusSeeOther)
		return
	}
	se := s.sessions.get(c.Value)
	if se == nil {
		s.clearCookie(w, sessionCookie, sessionCookiePath)
		http.Redirect(w, r, "/signin?signedout=1", http.StatusSeeOther)
		return
	}
	if err := checkCSRF(r, se.csrf); err != nil {
		s.fail(w, r, nil, err)
		return
	}
	s.sessions.delete(c.Value)
	s.clearCookie(w, sessionCookie, sessionCookiePath)
	_ = s.o.Store.Audit(r.Context(), store.AuditEntry{Time: s.o.now().UTC(), Actor: se.user, Action: "portal.signout", Target: "user/" + se.user})
	http.Redirect(w, r, "/signin?signedout=1", http.StatusSeeOther)
}

// safeNext keeps redirects after sign-in on this site: it returns next if it is a path on this site, else
// "/". It judges next as a browser will read it, not as written: browsers drop every tab, CR and LF in a URL
// (so "/\t/evil.example" is "//evil.example", another host), trim leading and trailing C0 controls and
// spaces, and treat '\\' as '/'. So those characters are removed first, and what remains must parse as a
// bare path: no scheme, no host, no user info, and neither "//" nor "/\\" at its start.
func safeNext(next string) string {
	cleaned := strings.Map(func(r rune) rune {
		if r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, next)
	if cleaned != strings.TrimFunc(cleaned, func(r rune) bool { return r <= ' ' }) {
		return "/" // a leading or trailing control character or space: nothing a link of ours has
	}
	if !strings.HasPrefix(cleaned, "/") || strings.HasPrefix(cleaned, "/signin") {
		return "/"
	}
	if len(cleaned) > 1 && (cleaned[1] == '/' || cleaned[1] == '\\') {
		return "/"
	}
	u, err := url.Parse(cleaned)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") {
		return "/"
	}
	return cleaned
}

func remoteHost(r *http.Request) string {
	h, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return h
}
