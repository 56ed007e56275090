package e2e

// What the abuse suite (abuse_*_test.go) shares: its cast of two teams, and the steps its tests take
// through git, change requests, the registry and the portal.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/forge"
)

// teams is the cast of the abuse suite: payments (alice and pete develop, paula approves) and search
// (seadev develops, sara approves), and bob, an approver of the platform team. The values are tokens.
type teams struct {
	alice, pete, paula, seadev, sara, bob string
}

func twoTeams(e *env) teams {
	return teams{
		alice:  e.user("alice", []string{"developer"}, "payments"),
		pete:   e.user("pete", []string{"developer"}, "payments"),
		paula:  e.user("paula", []string{"approver"}, "payments"),
		seadev: e.user("seadev", []string{"developer"}, "search"),
		sara:   e.user("sara", []string{"approver"}, "search"),
		bob:    e.user("bob", []string{"approver"}, "platform"),
	}
}

// fileReady files a contract as author, has approver approve and merge it, waits for the request to be
// Ready and returns its id.
func fileReady(e *env, author, approver, kind, name, owner, team, spec string) string {
	e.t.Helper()
	e.approveAndMerge(e.file(author, contractDoc(kind, name, owner, team, "dev", spec)), approver)
	id := strings.ToLower(strings.TrimSuffix(kind, "Request")) + ".dev." + name
	e.waitPhase(id, "Ready", 30*time.Second)
	return id
}

// wantProblem fails unless r has status and its body contains text.
func wantProblem(t *testing.T, what string, r response, status int, text string) {
	t.Helper()
	if r.status != status || !strings.Contains(string(r.body), text) {
		t.Errorf("%s: got %d %s, want %d saying %q", what, r.status, r.body, status, text)
	}
}

// eventually polls cond until it holds or timeout has passed, and reports whether it held.
func eventually(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(25 * time.Millisecond)
	}
	return true
}

// waitFor polls cond until it holds, failing after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !eventually(timeout, cond) {
		t.Fatalf("%s: not within %s", what, timeout)
	}
}

// createRepo creates repo with files in one commit on main, straight in the forge, as a template's publish
// step would.
func createRepo(t *testing.T, e *env, repo string, files map[string]string) {
	t.Helper()
	var changes []forge.Change
	for p, content := range files {
		changes = append(changes, forge.Change{Path: p, Content: []byte(content)})
	}
	if _, _, err := e.app.Forge.CreateRepoWithCommit(context.Background(), repo, "main", forge.CommitOptions{Message: "start",
		Author: forge.Signature{Name: "e2e", Email: "e2e@localhost"}, Changes: changes}); err != nil {
		t.Fatal(err)
	}
}

// pushNewRepo creates an empty repo, pushes files to its main as user over git and returns user's checkout.
func pushNewRepo(t *testing.T, e *env, user, token, repo string, files map[string]string) string {
	t.Helper()
	if _, err := e.app.Forge.CreateRepo(context.Background(), repo, "main"); err != nil {
		t.Fatal(err)
	}
	dir := cloneAs(t, e, user, token, repo)
	commitFiles(t, dir, "main", files)
	git(t, dir, "push", "-q", "origin", "HEAD:main")
	return dir
}

// cloneAs checks repo out as user, with user's name and address in the checkout's configuration.
func cloneAs(t *testing.T, e *env, user, token, repo string) string {
	t.Helper()
	dir := clone(t, e, user, token, repo)
	git(t, dir, "config", "user.name", user)
	git(t, dir, "config", "user.email", user+"@example.com")
	return dir
}

// clonePlatform clones the platform repository as user.
func clonePlatform(t *testing.T, e *env, user, token string) string {
	t.Helper()
	return cloneAs(t, e, user, token, "platform")
}

// commitFiles writes files in a clone and commits them on branch (created from the current HEAD when new).
func commitFiles(t *testing.T, dir, branch string, files map[string]string) {
	t.Helper()
	if _, err := gitOut(dir, "rev-parse", "--verify", "refs/heads/"+branch); err != nil {
		git(t, dir, "checkout", "-q", "-b", branch)
	} else {
		git(t, dir, "checkout", "-q", branch)
	}
	for p, content := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-q", "-m", "change on "+branch)
}

// openChange opens a change request for a pushed branch of repo ("" for the platform repository).
func openChange(e *env, token, repo, branch string) response {
	e.t.Helper()
	return e.call("POST", "/api/v1/changes", token, map[string]string{"repo": repo, "branch": branch, "title": "from " + branch})
}

// changeNumber is the number of the change request openChange opened, failing unless it did.
func changeNumber(e *env, r response) int64 {
	e.t.Helper()
	if r.status != 201 {
		e.t.Fatalf("opening a change request: got %d: %s", r.status, r.body)
	}
	return int64(r.field(e.t, "number").(float64))
}

// changeCheck returns whether change request n's named check passed, and its text.
func changeCheck(e *env, n int64, name string) (bool, string) {
	e.t.Helper()
	var v struct {
		Evaluation struct {
			Checks []struct {
				Name    string
				Passed  bool
				Summary string
				Errors  []struct{ Rule string }
			}
		}
	}
	e.must(200, "GET", fmt.Sprintf("/api/v1/changes/%d", n), e.admin, nil).json(e.t, &v)
	for _, c := range v.Evaluation.Checks {
		if c.Name == name {
			text := c.Summary
			for _, er := range c.Errors {
				text += "\n" + er.Rule
			}
			return c.Passed, text
		}
	}
	e.t.Fatalf("change request #%d has no %q check", n, name)
	return false, ""
}

// browser is a session on the portal. It keeps cookies by hand: the portal's are Secure, and a cookie jar
// would not send them over the test's plain HTTP.
type browser struct {
	t      *testing.T
	e      *env
	client *http.Client
	cookie map[string]string
}

func newBrowser(t *testing.T, e *env) *browser {
	return &browser{t: t, e: e, cookie: map[string]string{},
		client: &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// portalAs is a browser signed in with token.
func portalAs(t *testing.T, e *env, token string) *browser {
	t.Helper()
	b := newBrowser(t, e)
	if status, _ := b.signIn(token, "/"); status != http.StatusSeeOther {
		t.Fatalf("signing in to the portal: got %d, want 303", status)
	}
	return b
}

// do sends a request with the session's cookies and returns the status, the Location and the body.
func (b *browser) do(method, path string, form url.Values) (int, string, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.e.app.URL()+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range b.cookie {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookie, c.Name)
		} else {
			b.cookie[c.Name] = c.Value
		}
	}
	return resp.StatusCode, resp.Header.Get("Location"), string(raw)
}

// csrf returns the CSRF token of the form on the page at path.
func (b *browser) csrf(path string) string {
	b.t.Helper()
	status, _, body := b.do("GET", path, nil)
	m := csrfInput.FindStringSubmatch(body)
	if status != http.StatusOK || m == nil {
		b.t.Fatalf("GET %s: %d, no form:\n%s", path, status, body)
	}
	return m[1]
}

// signIn posts the sign-in form with token and next; it returns the status and the Location.
func (b *browser) signIn(token, next string) (int, string) {
	b.t.Helper()
	csrf := b.csrf("/signin")
	status, loc, _ := b.do("POST", "/signin", url.Values{"csrf": {csrf}, "token": {token}, "next": {next}})
	return status, loc
}

// signedIn tells whether the session still opens the home page.
func (b *browser) signedIn() bool {
	b.t.Helper()
	status, _, _ := b.do("GET", "/", nil)
	return status == http.StatusOK
}
