package portal_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/portal"
	"github.com/goldenpathidp/goldenpath/internal/store"
)

// setCookie finds the Set-Cookie of name in a response.
func setCookie(t *testing.T, p page, name string) *http.Cookie {
	t.Helper()
	for _, c := range p.cookies {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no Set-Cookie for %s; got %v", name, p.header["Set-Cookie"])
	return nil
}

// TestCookiesAreClearedWhereTheyWereSet checks each clearing Set-Cookie against the one that set the
// cookie: a browser removes a cookie only when name and path match.
func TestCookiesAreClearedWhereTheyWereSet(t *testing.T) {
	e := start(t)
	b := e.browser()
	form := b.get("/signin")
	signInSet := setCookie(t, form, "gp_signin")
	res := b.post("/signin", url.Values{"csrf": {csrf(t, form)}, "token": {e.token["alice"]}, "next": {"/"}})
	signInCleared := setCookie(t, res, "gp_signin")
	if signInCleared.MaxAge >= 0 || signInCleared.Path != signInSet.Path {
		t.Errorf("sign-in clears gp_signin with Path=%q MaxAge=%d; it was set with Path=%q", signInCleared.Path, signInCleared.MaxAge, signInSet.Path)
	}
	sessionSet := setCookie(t, res, "gp_session")
	home := b.get("/")
	out := b.post("/signout", url.Values{"csrf": {csrf(t, home)}})
	sessionCleared := setCookie(t, out, "gp_session")
	if sessionCleared.MaxAge >= 0 || sessionCleared.Path != sessionSet.Path || sessionCleared.Value != "" {
		t.Errorf("sign-out clears gp_session with Path=%q MaxAge=%d Value=%q; it was set with Path=%q",
			sessionCleared.Path, sessionCleared.MaxAge, sessionCleared.Value, sessionSet.Path)
	}
	// The server-side session is gone: the old cookie, replayed, signs nobody in.
	b.cookies["gp_session"] = &http.Cookie{Name: "gp_session", Value: sessionSet.Value}
	if res := b.get("/"); res.status != http.StatusSeeOther || !strings.HasPrefix(res.location, "/signin") {
		t.Errorf("the old session cookie after sign-out: got %d to %q, want the sign-in page", res.status, res.location)
	}
	audits, _ := e.app.Store.AuditLog(context.Background(), 100)
	if !hasAudit(audits, "alice", "portal.signout", "user/alice") {
		t.Error("no portal.signout audit entry")
	}
}

// TestSignOutWithARealCookieJar walks sign-in and sign-out with net/http's cookie jar, which keeps
// cookies by name, domain and path as browsers do: afterwards it holds no cookie of goldenpath's.
func TestSignOutWithARealCookieJar(t *testing.T) {
	e := start(t)
	p, err := portal.New(portal.Options{
		Tokens: e.app.Auth, Store: e.app.Store, Changes: e.app.Changes, Catalog: e.app.Catalog, Users: e.app.Auth,
		Templates: e.app.Scaffolder.Templates(), Tasks: e.app.Scaffolder, TaskUsers: taskUsers{e.app.Store},
		InsecureCookies: true, // the jar sends Secure cookies over https only
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	fetch := func(method, path string, form url.Values) (int, string) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, srv.URL+path, body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}
	held := func() []string {
		var names []string
		for _, path := range []string{"/", "/signin", "/requests"} {
			u, _ := url.Parse(srv.URL + path)
			for _, c := range jar.Cookies(u) {
				names = append(names, path+":"+c.Name)
			}
		}
		return names
	}
	_, form := fetch("GET", "/signin", nil)
	if status, _ := fetch("POST", "/signin", url.Values{"csrf": {csrfOf(t, form)}, "token": {e.token["alice"]}}); status != http.StatusSeeOther {
		t.Fatalf("sign-in: got %d", status)
	}
	if got := held(); strings.Contains(strings.Join(got, " "), "gp_signin") {
		t.Errorf("after sign-in the jar still holds the sign-in cookie: %v", got)
	}
	status, home := fetch("GET", "/", nil)
	if status != http.StatusOK {
		t.Fatalf("home: got %d", status)
	}
	if status, _ := fetch("POST", "/signout", url.Values{"csrf": {csrfOf(t, home)}}); status != http.StatusSeeOther {
		t.Fatalf("sign-out: got %d", status)
	}
	if got := held(); len(got) != 0 {
		t.Errorf("after sign-out the jar holds %v, want nothing", got)
	}
	if status, _ := fetch("GET", "/", nil); status != http.StatusSeeOther {
		t.Errorf("home after sign-out: got %d, want a redirect to sign in", status)
	}
}

func csrfOf(t *testing.T, body string) string {
	t.Helper()
	return csrf(t, page{body: body})
}

// TestSignInDoesNotRedirectOffSite signs in with next values that a browser would read as another host.
func TestSignInDoesNotRedirectOffSite(t *testing.T) {
	e := start(t)
	for _, next := range []string{"/\t/evil.example", "/\r\n/evil.example", "/\t\\evil.example", "\t//evil.example", "//evil.example",
		"/\\evil.example", "https://evil.example", "https:evil.example", " //evil.example", "/%09/evil.example"} {
		t.Run(next, func(t *testing.T) {
			b := e.browser()
			form := b.get("/signin?next=" + url.QueryEscape(next))
			if strings.Contains(form.body, "evil.example") && !strings.Contains(next, "%09") {
				t.Errorf("the sign-in form carries next=%q", next)
			}
			res := b.post("/signin", url.Values{"csrf": {csrf(t, form)}, "token": {e.token["alice"]}, "next": {next}})
			if res.status != http.StatusSeeOther || (res.location != "/" && next != "/%09/evil.example") {
				t.Errorf("got %d to %q, want 303 to /", res.status, res.location)
			}
			if next == "/%09/evil.example" && res.location != "/%09/evil.example" {
				t.Errorf("an encoded tab is a path on this site: got %q", res.location)
			}
			// Signed in already, the sign-in page redirects at once: through the same check.
			if again := b.get("/signin?next=" + url.QueryEscape(next)); again.status != http.StatusSeeOther || (again.location != "/" && next != "/%09/evil.example") {
				t.Errorf("signed in: got %d to %q, want 303 to /", again.status, again.location)
			}
		})
	}
}

func hasAudit(log []store.AuditEntry, actor, action, target string) bool {
	for _, a := range log {
		if a.Actor == actor && a.Action == action && a.Target == target {
			return true
		}
	}
	return false
}

var tokenIDRe = regexp.MustCompile(`action="/tokens/([0-9a-f]+)/revoke"`)

// TestUserPages: everyone sees and revokes their own tokens; another team's developer can neither see nor
// revoke them, nor change anyone; the admin changes roles and teams (at once for open sessions), revokes
// tokens (ending sessions opened with them) and deletes users (ending their sessions).
func TestUserPages(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	alice, carol, admin := signedIn(e, "alice"), signedIn(e, "carol"), signedIn(e, "admin")
	extra, _, err := e.app.Auth.IssueToken(ctx, "alice", "ci", 0)
	if err != nil {
		t.Fatal(err)
	}
	aliceCI := e.browser()
	aliceCI.signIn(extra)

	own := alice.get("/users/alice")
	if own.status != http.StatusOK || !strings.Contains(own.body, "Your account") || len(tokenIDRe.FindAllString(own.body, -1)) != 2 {
		t.Fatalf("alice's account page: %d\n%s", own.status, own.body)
	}
	if strings.Contains(own.body, e.token["alice"]) || strings.Contains(own.body, extra) {
		t.Error("the account page shows a token")
	}
	if strings.Contains(own.body, `id="user-set"`) || strings.Contains(own.body, `id="user-delete"`) {
		t.Error("a developer is offered to change or delete users")
	}
	if !strings.Contains(own.body, "this session") {
		t.Error("the page does not mark the session's own token")
	}

	// carol (search) cannot look, revoke, change or delete.
	aliceIDs := tokenIDRe.FindAllStringSubmatch(own.body, -1)
	for _, tt := range []struct{ name, path string }{
		{"users list", "/users"},
		{"alice's page", "/users/alice"},
	} {
		if res := carol.get(tt.path); res.status != http.StatusForbidden {
			t.Errorf("carol GET %s (%s): got %d, want 403", tt.path, tt.name, res.status)
		}
	}
	carolHome := carol.get("/users/carol")
	for _, tt := range []struct {
		path string
		form url.Values
		text string
	}{
		{"/tokens/" + aliceIDs[0][1] + "/revoke", nil, "is not yours"},
		{"/users/alice/set", url.Values{"role": {"developer"}, "teams": {"search"}}, "needs the admin role"},
		{"/users/carol/set", url.Values{"role": {"admin"}, "teams": {"search"}}, "needs the admin role"},
		{"/users/carol/set", url.Values{"role": {"developer"}, "teams": {"search, payments"}}, "needs the admin role"},
		{"/users/alice/delete", nil, "needs the admin role"},
	} {
		form := tt.form
		if form == nil {
			form = url.Values{}
		}
		form.Set("csrf", csrf(t, carolHome))
		if res := carol.post(tt.path, form); res.status != http.StatusForbidden || !strings.Contains(res.body, tt.text) {
			t.Errorf("carol POST %s: got %d, want 403 saying %q:\n%s", tt.path, res.status, tt.text, res.body)
		}
	}
	if res := alice.get("/"); res.status != http.StatusOK || !strings.Contains(res.body, "(developer)") {
		t.Fatalf("alice after carol's attempts: %d", res.status)
	}

	// The admin changes alice: her open session sees it at once.
	res := admin.action("/users/alice", "/users/alice/set", url.Values{"role": {"approver"}, "teams": {"payments, search"}})
	if res.status != http.StatusSeeOther {
		t.Fatalf("admin setting alice: %d\n%s", res.status, res.body)
	}
	if home := alice.get("/"); !strings.Contains(home.body, "(approver)") {
		t.Errorf("alice's session after the change: %s", home.body)
	}
	if u, _ := e.app.Store.GetUser(ctx, "alice"); len(u.Teams) != 2 || u.Teams[1] != "search" {
		t.Errorf("alice's teams: %v", u.Teams)
	}
	if res := admin.action("/users/admin", "/users/admin/set", url.Values{"role": {"developer"}}); res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, "last admin") {
		t.Errorf("demoting the last admin: %d\n%s", res.status, res.body)
	}
	if res := admin.get("/users/goldenpath-bot"); res.status != http.StatusOK || strings.Contains(res.body, `id="user-delete"`) || strings.Contains(res.body, "/revoke") {
		t.Errorf("the bot's page offers changes: %d", res.status)
	}

	// alice revokes her CI token: the session opened with it ends; hers goes on.
	ciID := ""
	for _, m := range aliceIDs {
		if tok, _ := e.app.Store.GetToken(ctx, m[1]); tok.Description == "ci" {
			ciID = m[1]
		}
	}
	if res := alice.action("/users/alice", "/tokens/"+ciID+"/revoke", nil); res.status != http.StatusSeeOther || res.location != "/users/alice" {
		t.Fatalf("revoking the CI token: %d to %q\n%s", res.status, res.location, res.body)
	}
	if res := aliceCI.get("/"); res.status != http.StatusSeeOther || !strings.HasPrefix(res.location, "/signin") {
		t.Errorf("the session on the revoked token: got %d to %q", res.status, res.location)
	}
	if res := alice.get("/"); res.status != http.StatusOK {
		t.Errorf("alice's own session after revoking another token: %d", res.status)
	}

	// The admin deletes alice: her session ends at once.
	if res := admin.action("/users/alice", "/users/alice/delete", nil); res.status != http.StatusSeeOther || res.location != "/users" {
		t.Fatalf("deleting alice: %d to %q\n%s", res.status, res.location, res.body)
	}
	if res := alice.get("/"); res.status != http.StatusSeeOther || !strings.HasPrefix(res.location, "/signin") {
		t.Errorf("a deleted user's session: got %d to %q", res.status, res.location)
	}
	if list := admin.get("/users"); strings.Contains(list.body, `href="/users/alice"`) || !strings.Contains(list.body, `href="/users/carol"`) {
		t.Errorf("the users list after deleting alice:\n%s", list.body)
	}

	// Revoking the token of one's own session signs out.
	own = carol.get("/users/carol")
	m := tokenIDRe.FindStringSubmatch(own.body)
	if res := carol.action("/users/carol", "/tokens/"+m[1]+"/revoke", nil); res.status != http.StatusSeeOther || !strings.HasPrefix(res.location, "/signin") {
		t.Errorf("revoking the session's own token: %d to %q", res.status, res.location)
	}

	audits, _ := e.app.Store.AuditLog(ctx, 200)
	for _, want := range [][3]string{{"alice", "token.list", "user/alice"}, {"admin", "user.update", "user/alice"},
		{"alice", "token.revoke", "user/alice"}, {"admin", "user.delete", "user/alice"}, {"carol", "token.revoke", "user/carol"}} {
		if !hasAudit(audits, want[0], want[1], want[2]) {
			t.Errorf("no audit entry %v", want)
		}
	}
}
