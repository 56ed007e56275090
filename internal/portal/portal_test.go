package portal_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/auth"
	"github.com/goldenpathidp/goldenpath/internal/portal"
	"github.com/goldenpathidp/goldenpath/internal/scaffold"
	"github.com/goldenpathidp/goldenpath/internal/store"
)

func TestSignIn(t *testing.T) {
	e := start(t)
	tests := []struct {
		name       string
		token      string
		dropCookie bool
		wantStatus int
		wantText   string
	}{
		{name: "unknown token", token: "gp_nosuchtoken", wantStatus: http.StatusUnauthorized, wantText: "not valid"},
		{name: "empty token", token: "", wantStatus: http.StatusBadRequest, wantText: "token: enter your goldenpath API token"},
		{name: "form without its sign-in cookie", token: e.token["alice"], dropCookie: true, wantStatus: http.StatusForbidden, wantText: "expired or was posted from another site"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := e.browser()
			form := b.get("/signin")
			if tt.dropCookie {
				delete(b.cookies, "gp_signin")
			}
			res := b.post("/signin", url.Values{"csrf": {csrf(t, form)}, "token": {tt.token}})
			if res.status != tt.wantStatus || !strings.Contains(res.body, tt.wantText) {
				t.Errorf("got %d, want %d with %q:\n%s", res.status, tt.wantStatus, tt.wantText, res.body)
			}
			if _, ok := b.cookies["gp_session"]; ok {
				t.Error("a failed sign-in set a session cookie")
			}
		})
	}

	t.Run("valid token", func(t *testing.T) {
		b := e.browser()
		form := b.get("/signin")
		res := b.post("/signin", url.Values{"csrf": {csrf(t, form)}, "token": {e.token["alice"]}, "next": {"/requests?scope=mine"}})
		if res.status != http.StatusSeeOther || res.location != "/requests?scope=mine" {
			t.Fatalf("got %d to %q, want 303 to /requests?scope=mine", res.status, res.location)
		}
		var session *http.Cookie
		for _, c := range res.cookies {
			if c.Name == "gp_session" {
				session = c
			}
		}
		if session == nil {
			t.Fatal("no session cookie")
		}
		if !session.HttpOnly || !session.Secure || session.SameSite != http.SameSiteLaxMode {
			t.Errorf("session cookie: HttpOnly=%v Secure=%v SameSite=%v, want HttpOnly, Secure, SameSite=Lax", session.HttpOnly, session.Secure, session.SameSite)
		}
		if strings.Contains(session.Value, e.token["alice"]) || strings.Contains(session.Value, strings.TrimPrefix(e.token["alice"], "gp_")) {
			t.Error("the session cookie carries the token")
		}
		home := b.get("/")
		if home.status != http.StatusOK || !strings.Contains(home.body, `id="whoami">alice<`) {
			t.Fatalf("home after sign-in: got %d:\n%s", home.status, home.body)
		}
		if strings.Contains(home.body, e.token["alice"]) {
			t.Error("the home page shows the token")
		}
	})

	t.Run("next cannot leave the site", func(t *testing.T) {
		b := e.browser()
		form := b.get("/signin")
		res := b.post("/signin", url.Values{"csrf": {csrf(t, form)}, "token": {e.token["alice"]}, "next": {"//evil.example/x"}})
		if res.location != "/" {
			t.Errorf("got redirect to %q, want /", res.location)
		}
	})
}

func TestAnonymousVisitorsAreSentToSignIn(t *testing.T) {
	e := start(t)
	b := e.browser()
	for _, path := range []string{"/", "/catalog", "/create/app-template", "/requests", "/changes/1", "/tasks"} {
		t.Run(path, func(t *testing.T) {
			res := b.get(path)
			want := "/signin?next=" + url.QueryEscape(path)
			if res.status != http.StatusSeeOther || res.location != want {
				t.Errorf("got %d to %q, want 303 to %q", res.status, res.location, want)
			}
		})
	}
	res := b.post("/changes/1/approve", url.Values{})
	if res.status != http.StatusUnauthorized {
		t.Errorf("anonymous action: got %d, want 401", res.status)
	}
}

var titleRe = regexp.MustCompile(`<title>([^<]+)</title>`)

// TestEveryPageRendersForEachRole opens every page as a developer, an approver and an admin: each answers
// 200 with a title, the skip link, the main landmark and the user's name (except alice's task for bob, of
// another team: 404).
func TestEveryPageRendersForEachRole(t *testing.T) {
	e := start(t)
	id, n := e.fileS3("alice", "payments", "invoices")
	taskID := runTask(t, e, "alice", "s3-request", url.Values{"name": {"ledger"}, "environment": {"dev"}, "size": {"small"}, "encryption": {"AES256"}})
	waitCatalog(t, e, "user:default/alice")
	pages := []string{"/", "/catalog", "/catalog?kind=User&q=alice", "/catalog/user/default/alice", "/create", "/create/app-template",
		"/create/stateful-app-template", "/create/s3-request", "/create/rds-request", "/create/secret-request", "/create/ecr-request",
		"/create/eks-request", "/tasks", "/tasks?all=true", "/tasks/" + taskID, "/requests", "/requests?scope=mine&all=true",
		"/requests/" + id, fmt.Sprintf("/changes/%d", n), "/changes", "/changes?state=merged"}
	for _, user := range []string{"alice", "bob", "admin"} {
		b := signedIn(e, user)
		name := user
		if user == "admin" {
			name = "admin"
		}
		for _, path := range pages {
			t.Run(user+" "+path, func(t *testing.T) {
				res := b.get(path)
				if user == "bob" && path == "/tasks/"+taskID {
					// bob is not in alice's team: her task does not exist for him.
					if res.status != http.StatusNotFound || strings.Contains(res.body, "ledger") {
						t.Errorf("another team's task: got %d, want 404", res.status)
					}
					return
				}
				if res.status != http.StatusOK {
					t.Fatalf("got %d, want 200:\n%s", res.status, res.body)
				}
				m := titleRe.FindStringSubmatch(res.body)
				if m == nil || !strings.HasSuffix(m[1], "· goldenpath") {
					t.Errorf("title: got %q, want one ending in · goldenpath", m)
				}
				for _, want := range []string{`href="#main">Skip to main content`, `<main id="main"`, `id="whoami">` + name + `<`, `<h1`} {
					if !strings.Contains(res.body, want) {
						t.Errorf("the page lacks %s", want)
					}
				}
			})
		}
	}
}

func TestNotFound(t *testing.T) {
	e := start(t)
	b := signedIn(e, "alice")
	for _, path := range []string{"/no/such/page", "/requests/s3.dev.nothing", "/changes/999", "/catalog/component/default/ghost", "/tasks/nope", "/create/ghost"} {
		t.Run(path, func(t *testing.T) {
			res := b.get(path)
			if res.status != http.StatusNotFound || !strings.Contains(res.body, `id="problem-message"`) {
				t.Errorf("got %d, want the 404 page:\n%s", res.status, res.body)
			}
			if strings.Contains(res.body, "goroutine") || strings.Contains(res.body, ".go:") {
				t.Error("the error page shows a stack trace")
			}
		})
	}
}

// TestReviewRoles checks that the page offers approving only to approvers other than the author, that a
// developer's approval is refused even when posted by hand, and that an approver can approve and merge.
func TestReviewRoles(t *testing.T) {
	e := start(t)
	id, n := e.fileS3("alice", "payments", "invoices")
	changePage := fmt.Sprintf("/changes/%d", n)
	alice, carol, bob := signedIn(e, "alice"), signedIn(e, "carol"), signedIn(e, "bob")

	for _, tt := range []struct {
		user        string
		b           *browser
		wantApprove bool
	}{{"alice (author)", alice, false}, {"carol (developer)", carol, false}, {"bob (approver)", bob, true}} {
		t.Run("approve button for "+tt.user, func(t *testing.T) {
			res := tt.b.get(changePage)
			if got := strings.Contains(res.body, "/approve"); got != tt.wantApprove {
				t.Errorf("approve form shown: got %v, want %v", got, tt.wantApprove)
			}
		})
	}

	t.Run("a developer cannot approve", func(t *testing.T) {
		res := carol.action(changePage, changePage+"/approve", nil)
		if res.status != http.StatusForbidden || !strings.Contains(res.body, "approver role") {
			t.Errorf("got %d, want 403 naming the approver role:\n%s", res.status, res.body)
		}
	})
	t.Run("the author cannot approve", func(t *testing.T) {
		res := alice.action(changePage, changePage+"/approve", nil)
		if res.status != http.StatusForbidden {
			t.Errorf("got %d, want 403", res.status)
		}
	})
	t.Run("merge before approval shows why", func(t *testing.T) {
		res := bob.action(changePage, changePage+"/merge", nil)
		if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, `id="action-problem"`) || !strings.Contains(res.body, "approval") {
			t.Errorf("got %d, want 422 with the blockers:\n%s", res.status, res.body)
		}
	})
	t.Run("approver approves and merges", func(t *testing.T) {
		res := bob.action(changePage, changePage+"/approve", url.Values{"text": {"lgtm"}})
		if res.status != http.StatusSeeOther {
			t.Fatalf("approve: got %d, want 303:\n%s", res.status, res.body)
		}
		page := bob.get(changePage)
		if !strings.Contains(page.body, "Approved.") || !strings.Contains(page.body, "lgtm") {
			t.Errorf("after approving, the page lacks the flash or the comment:\n%s", page.body)
		}
		if res := bob.action(changePage, changePage+"/merge", nil); res.status != http.StatusSeeOther {
			t.Fatalf("merge: got %d, want 303:\n%s", res.status, res.body)
		}
		page = bob.get(changePage)
		if page.status != http.StatusOK || !strings.Contains(page.body, `id="change-state">merged<`) {
			t.Errorf("the merged change request's page: got %d:\n%s", page.status, page.body)
		}
		e.waitPhase(id, store.PhaseReady)
		page = alice.get("/requests/" + id)
		if !strings.Contains(page.body, `id="request-phase">Ready<`) {
			t.Errorf("the request page does not show Ready:\n%s", page.body)
		}
	})

	t.Run("credentials for owners only", func(t *testing.T) {
		for _, tt := range []struct {
			user       string
			b          *browser
			wantStatus int
		}{{"alice (owner)", alice, 200}, {"carol (another team)", carol, 403}, {"bob (approver, not owner)", bob, 403}, {"admin", signedIn(e, "admin"), 200}} {
			t.Run(tt.user, func(t *testing.T) {
				res := tt.b.get("/requests/" + id + "/credentials")
				if res.status != tt.wantStatus {
					t.Fatalf("got %d, want %d:\n%s", res.status, tt.wantStatus, res.body)
				}
				if tt.wantStatus == 200 && (!strings.Contains(res.body, "secretAccessKey") || res.header.Get("Cache-Control") != "no-store") {
					t.Errorf("the credentials page lacks the secret key or no-store:\n%s", res.body)
				}
				if tt.wantStatus == 403 && strings.Contains(res.body, "secretAccessKey") {
					t.Error("a refused page shows the secret")
				}
				shows := strings.Contains(tt.b.get("/requests/"+id).body, "/credentials")
				if shows != (tt.wantStatus == 200) {
					t.Errorf("credentials link shown: got %v, want %v", shows, tt.wantStatus == 200)
				}
			})
		}
	})
}

func TestCSRF(t *testing.T) {
	e := start(t)
	_, n := e.fileS3("alice", "payments", "invoices")
	changePage := fmt.Sprintf("/changes/%d", n)
	b := signedIn(e, "alice")
	other := signedIn(e, "bob")
	good := csrf(t, b.get(changePage))
	tests := []struct {
		name   string
		token  string
		origin string
		want   int
	}{
		{name: "no token", token: "", want: http.StatusForbidden},
		{name: "wrong token", token: "forged", want: http.StatusForbidden},
		{name: "another session's token", token: csrf(t, other.get(changePage)), want: http.StatusForbidden},
		{name: "posted from another site", token: good, origin: "https://evil.example", want: http.StatusForbidden},
		{name: "the session's token", token: good, origin: e.app.URL(), want: http.StatusSeeOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", e.app.URL()+changePage+"/comment", strings.NewReader(url.Values{"csrf": {tt.token}, "text": {"from " + tt.name}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			res := b.do(req)
			if res.status != tt.want {
				t.Errorf("got %d, want %d:\n%s", res.status, tt.want, res.body)
			}
		})
	}
	view := b.get(changePage).body
	if strings.Contains(view, "from no token") || strings.Contains(view, "from wrong token") || strings.Contains(view, "evil") {
		t.Error("a refused comment was recorded")
	}
	if !strings.Contains(view, "from the session&#39;s token") {
		t.Error("the accepted comment is missing")
	}
}

func TestSignOut(t *testing.T) {
	e := start(t)
	b := signedIn(e, "alice")
	home := b.get("/")
	if res := b.post("/signout", url.Values{"csrf": {"forged"}}); res.status != http.StatusForbidden {
		t.Errorf("sign-out with a forged token: got %d, want 403", res.status)
	}
	if res := b.get("/"); res.status != http.StatusOK {
		t.Fatalf("the forged sign-out ended the session: got %d", res.status)
	}
	old := b.cookies["gp_session"].Value
	res := b.post("/signout", url.Values{"csrf": {csrf(t, home)}})
	if res.status != http.StatusSeeOther || res.location != "/signin?signedout=1" {
		t.Fatalf("sign-out: got %d to %q", res.status, res.location)
	}
	if _, ok := b.cookies["gp_session"]; ok {
		t.Error("the session cookie was not cleared")
	}
	if p := b.get("/signin?signedout=1"); !strings.Contains(p.body, "You are signed out.") {
		t.Error("the sign-in page does not say the user signed out")
	}
	b.cookies["gp_session"] = &http.Cookie{Name: "gp_session", Value: old} // a copy of the cookie kept elsewhere
	if res := b.get("/"); res.status != http.StatusSeeOther || !strings.HasPrefix(res.location, "/signin") {
		t.Errorf("the old session still works: got %d to %q", res.status, res.location)
	}
}

func TestRevokedTokenEndsTheSession(t *testing.T) {
	e := start(t)
	b := signedIn(e, "alice")
	tokens, err := e.app.Store.ListTokens(context.Background(), "alice")
	if err != nil || len(tokens) != 1 {
		t.Fatalf("tokens: %v, %v", tokens, err)
	}
	if err := e.app.Store.DeleteToken(context.Background(), tokens[0].ID); err != nil {
		t.Fatal(err)
	}
	if res := b.get("/"); res.status != http.StatusSeeOther || !strings.HasPrefix(res.location, "/signin") {
		t.Errorf("after revoking the token: got %d to %q, want the sign-in page", res.status, res.location)
	}
}

// runTask fills in a template's form as user, reviews it, creates the task and waits for it to complete;
// it returns the task id.
func runTask(t *testing.T, e *env, user, template string, values url.Values) string {
	t.Helper()
	b := signedIn(e, user)
	res := b.action("/create/"+template, "/create/"+template, values)
	if res.status != http.StatusSeeOther || !strings.Contains(res.location, "/review?draft=") {
		t.Fatalf("submitting the form: got %d to %q:\n%s", res.status, res.location, res.body)
	}
	review := b.get(res.location)
	draft := regexp.MustCompile(`name="draft" value="([^"]+)"`).FindStringSubmatch(review.body)
	if draft == nil {
		t.Fatalf("no draft on the review page:\n%s", review.body)
	}
	res = b.post("/create/"+template+"/run", url.Values{"csrf": {csrf(t, review)}, "draft": {draft[1]}})
	if res.status != http.StatusSeeOther || !strings.HasPrefix(res.location, "/tasks/") {
		t.Fatalf("creating the task: got %d to %q:\n%s", res.status, res.location, res.body)
	}
	id := strings.TrimPrefix(res.location, "/tasks/")
	deadline := time.Now().Add(20 * time.Second)
	for {
		task, err := e.app.Store.GetTask(context.Background(), id)
		if err == nil && task.Status == store.TaskCompleted {
			return id
		}
		if err == nil && (task.Status == store.TaskFailed || task.Status == store.TaskCancelled) || time.Now().After(deadline) {
			t.Fatalf("task %s: %+v, %v", id, task, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitCatalog(t *testing.T, e *env, ref string) {
	t.Helper()
	b := signedIn(e, "admin")
	deadline := time.Now().Add(10 * time.Second)
	path := "/catalog/" + strings.Replace(strings.Replace(ref, ":", "/", 1), "/", "/", 1)
	for b.get(path).status != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("%s never appeared in the catalog", ref)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCreateValidatesOnTheServer posts values the browser would refuse: the errors come back next to their
// fields, and the values typed are kept.
func TestCreateValidatesOnTheServer(t *testing.T) {
	e := start(t)
	b := signedIn(e, "alice")
	tests := []struct {
		name      string
		form      url.Values
		wantField string
		wantRule  string
	}{
		{name: "name breaks the pattern", form: url.Values{"name": {"Bad_Name"}, "environment": {"dev"}, "size": {"small"}}, wantField: "name", wantRule: "does not match pattern"},
		{name: "required name missing", form: url.Values{"environment": {"dev"}, "size": {"small"}}, wantField: "name", wantRule: "is required"},
		{name: "not one of the choices", form: url.Values{"name": {"ok"}, "environment": {"moon"}, "size": {"small"}}, wantField: "environment", wantRule: "listed choices"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := b.action("/create/s3-request", "/create/s3-request", tt.form)
			if res.status != http.StatusBadRequest {
				t.Fatalf("got %d, want 400:\n%s", res.status, res.body)
			}
			re := regexp.MustCompile(`<p class="error" id="e-` + tt.wantField + `">([^<]*)</p>`)
			m := re.FindStringSubmatch(res.body)
			if m == nil || !strings.Contains(m[1], tt.wantRule) {
				t.Errorf("error next to %s: got %v, want one containing %q:\n%s", tt.wantField, m, tt.wantRule, res.body)
			}
			if v := tt.form.Get("name"); v != "" && !strings.Contains(res.body, `value="`+v+`"`) {
				t.Errorf("the typed name %q was not kept", v)
			}
		})
	}
}

// TestCreateAppTemplate runs app-template through the portal: the form composes the repository picker's
// value, the task page shows the result's links as portal pages, and the event stream ends with completion.
func TestCreateAppTemplate(t *testing.T) {
	e := start(t)
	id := runTask(t, e, "alice", "app-template", url.Values{"name": {"orders"}, "owner": {"group:default/payments"},
		"port": {"8080"}, "registry": {"true"}, "domain": {"goldenpathidp.io"}, "repoUrl.host": {"goldenpath"},
		"repoUrl.owner": {"payments"}, "repoUrl.repo": {"orders"}})
	b := signedIn(e, "alice")
	res := b.get("/tasks/" + id)
	for _, want := range []string{`href="/catalog/component/default/orders"`, `href="/changes/`, "completed"} {
		if !strings.Contains(res.body, want) {
			t.Errorf("the task page lacks %s:\n%s", want, res.body)
		}
	}
	req, _ := http.NewRequest("GET", e.app.URL()+"/tasks/"+id+"/events", nil)
	for _, c := range b.cookies {
		req.AddCookie(c)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("content type: got %q, want text/event-stream", ct)
	}
	var last string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if ev, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
			last = ev
		}
	}
	if last != "completion" {
		t.Errorf("the stream's last event: got %q, want completion", last)
	}
	waitCatalog(t, e, "component:default/orders")
	entity := b.get("/catalog/component/default/orders")
	if !strings.Contains(entity.body, "ecr.dev.orders") || !strings.Contains(entity.body, "payments") {
		t.Errorf("the entity page lacks its registry request or owner:\n%s", entity.body)
	}
	home := b.get("/")
	if !strings.Contains(home.body, `href="/catalog/component/default/orders"`) {
		t.Errorf("home does not list the new component among mine:\n%s", home.body)
	}
}

// taskUsers gives tasks their user from the store, for a portal built outside the app.
type taskUsers struct{ s store.Store }

func (u taskUsers) User(ctx context.Context, name string) (scaffold.User, error) {
	rec, err := u.s.GetUser(ctx, name)
	if err != nil {
		return scaffold.User{}, err
	}
	return scaffold.User{Ref: "user:default/" + rec.Name, Name: rec.Name, Teams: rec.Teams, Roles: rec.Roles}, nil
}

// TestExternalIdentity signs in through the Identify seam (how OIDC plugs in): the portal opens its own
// session for the identity, keeps it across requests (one CSRF token), and acts as that user, even one
// goldenpath does not store.
func TestExternalIdentity(t *testing.T) {
	e := start(t)
	_, n := e.fileS3("alice", "payments", "invoices")
	p, err := portal.New(portal.Options{
		Tokens: e.app.Auth, Store: e.app.Store, Changes: e.app.Changes, Catalog: e.app.Catalog,
		Templates: e.app.Scaffolder.Templates(), Tasks: e.app.Scaffolder, TaskUsers: taskUsers{e.app.Store},
		Identify: func(r *http.Request) (auth.Principal, bool, error) {
			if r.Header.Get("X-Test-User") != "dora" {
				return auth.Principal{}, false, nil
			}
			return auth.Principal{Name: "dora", Roles: []string{store.RoleDeveloper}, Teams: []string{"data"}}, true, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	defer srv.Close()
	b := e.browser()
	b.base = srv.URL
	get := func(path string) page {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("X-Test-User", "dora")
		return b.do(req)
	}
	if res := b.get("/"); res.status != http.StatusSeeOther {
		t.Fatalf("without the identity: got %d, want a redirect to sign in", res.status)
	}
	first := get("/")
	if first.status != http.StatusOK || !strings.Contains(first.body, `id="whoami">dora<`) {
		t.Fatalf("with the identity: got %d:\n%s", first.status, first.body)
	}
	second := get(fmt.Sprintf("/changes/%d", n))
	if csrf(t, first) != csrf(t, second) {
		t.Error("the second request opened a new session instead of keeping the first")
	}
	res := b.post(fmt.Sprintf("/changes/%d/comment", n), url.Values{"csrf": {csrf(t, second)}, "text": {"from dora"}})
	if res.status != http.StatusSeeOther {
		t.Fatalf("commenting: got %d, want 303:\n%s", res.status, res.body)
	}
	view, err := e.app.Changes.View(context.Background(), n, false)
	if err != nil || len(view.Comments) != 1 || view.Comments[0].Author != "dora" {
		t.Errorf("comments: got %+v, %v; want one by dora", view, err)
	}
}
