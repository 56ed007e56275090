package portal_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/app"
	"github.com/goldenpathidp/goldenpath/internal/auth"
	"github.com/goldenpathidp/goldenpath/internal/request"
	"github.com/goldenpathidp/goldenpath/internal/store"
)

// env is goldenpath started in-process on port 0, with a developer (alice, team payments), another
// developer (carol, team search), an approver (bob, team platform) and the admin.
type env struct {
	t     *testing.T
	app   *app.App
	token map[string]string
}

func start(t *testing.T) *env {
	t.Helper()
	a, err := app.Start(context.Background(), app.Config{DataDir: t.TempDir(), Addr: "127.0.0.1:0", S3Addr: "127.0.0.1:0", Resync: time.Second})
	if err != nil {
		t.Fatalf("starting goldenpath: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	e := &env{t: t, app: a, token: map[string]string{"admin": a.AdminToken}}
	for _, u := range []store.User{
		{Name: "alice", Roles: []string{store.RoleDeveloper}, Teams: []string{"payments"}},
		{Name: "carol", Roles: []string{store.RoleDeveloper}, Teams: []string{"search"}},
		{Name: "bob", Roles: []string{store.RoleApprover}, Teams: []string{"platform"}},
	} {
		if _, err := a.Auth.AddUser(context.Background(), u); err != nil {
			t.Fatal(err)
		}
		tok, _, err := a.Auth.IssueToken(context.Background(), u.Name, "portal test", 0)
		if err != nil {
			t.Fatal(err)
		}
		e.token[u.Name] = tok
	}
	return e
}

// principal is who a user is, for setting things up through the services directly.
func (e *env) principal(name string) auth.Principal {
	e.t.Helper()
	p, err := e.app.Auth.Authenticate(context.Background(), e.token[name])
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// fileS3 files an S3Request as user and returns the request ID and change request number.
func (e *env) fileS3(user, team, name string) (string, int64) {
	e.t.Helper()
	doc := fmt.Sprintf("apiVersion: goldenpath.io/v1\nkind: S3Request\nmetadata:\n  name: %s\n  owner: %s\n  team: %s\n  environment: dev\nspec:\n  size: small\n", name, user, team)
	req, err := request.ParseBody([]byte(doc))
	if err != nil {
		e.t.Fatal(err)
	}
	filed, err := e.app.Requests.Create(context.Background(), e.principal(user), req)
	if err != nil {
		e.t.Fatalf("filing %s: %v", name, err)
	}
	return filed.Request.ID, filed.Change.Number
}

// waitPhase waits for a request to reach phase.
func (e *env) waitPhase(id, phase string) {
	e.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		rec, err := e.app.Store.GetRequest(context.Background(), id)
		if err == nil && rec.Phase == phase {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s did not reach %s: %+v, %v", id, phase, rec, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// browser is a minimal browser: it keeps cookies by name (ignoring Secure, as browsers do for loopback
// addresses), does not follow redirects, and remembers the last page.
type browser struct {
	t       *testing.T
	base    string
	cookies map[string]*http.Cookie
	client  *http.Client
}

func (e *env) browser() *browser {
	return &browser{t: e.t, base: e.app.URL(), cookies: map[string]*http.Cookie{},
		client: &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status   int
	body     string
	location string
	header   http.Header
	cookies  []*http.Cookie
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	for _, c := range b.cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
	return page{status: resp.StatusCode, body: string(raw), location: resp.Header.Get("Location"), header: resp.Header, cookies: resp.Cookies()}
}

func (b *browser) get(path string) page {
	b.t.Helper()
	req, err := http.NewRequest("GET", b.base+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	req, err := http.NewRequest("POST", b.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the CSRF token from a page's forms.
func csrf(t *testing.T, p page) string {
	t.Helper()
	m := csrfRe.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no CSRF token in the page:\n%s", p.body)
	}
	return m[1]
}

// signIn signs the browser in with a token and returns the home page.
func (b *browser) signIn(token string) page {
	b.t.Helper()
	form := b.get("/signin")
	res := b.post("/signin", url.Values{"csrf": {csrf(b.t, form)}, "token": {token}, "next": {"/"}})
	if res.status != http.StatusSeeOther || res.location != "/" {
		b.t.Fatalf("signing in: got %d to %q, want 303 to /:\n%s", res.status, res.location, res.body)
	}
	return b.get("/")
}

// action posts a form with the CSRF token of the page it is on.
func (b *browser) action(from, path string, form url.Values) page {
	b.t.Helper()
	p := b.get(from)
	if p.status != http.StatusOK {
		b.t.Fatalf("GET %s: got %d, want 200:\n%s", from, p.status, p.body)
	}
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", csrf(b.t, p))
	return b.post(path, form)
}

func signedIn(e *env, user string) *browser {
	b := e.browser()
	b.signIn(e.token[user])
	return b
}
