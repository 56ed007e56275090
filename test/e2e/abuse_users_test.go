package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/store"
)

// The abuse suite for users and tokens (issue 10, item 11 and the portal's sign-in): team search's
// developer goes after team payments' user and tokens, and after the admin's powers; each attempt must fail
// with a clear error while the owner and the admin still succeed.

// usersTokenIDs lists the ids of user's tokens as the admin sees them, by description.
func usersTokenIDs(e *env, user string) map[string]string {
	e.t.Helper()
	var out struct {
		Items []struct {
			ID          string `json:"id"`
			Description string `json:"description"`
		} `json:"items"`
	}
	e.must(200, "GET", "/api/v1/users/"+user+"/tokens", e.admin, nil).json(e.t, &out)
	ids := map[string]string{}
	for _, it := range out.Items {
		ids[it.Description] = it.ID
	}
	return ids
}

// usersMint issues a token for user with description desc as caller, returning the token and its id.
func usersMint(e *env, caller, user, desc string) (string, string) {
	e.t.Helper()
	r := e.must(201, "POST", "/api/v1/users/"+user+"/tokens", caller, map[string]any{"description": desc})
	return r.field(e.t, "token").(string), r.field(e.t, "id").(string)
}

// usersGitClone clones the platform repository over git's smart HTTP with user and token as the password.
func usersGitClone(t *testing.T, e *env, user, token string) error {
	t.Helper()
	u, _ := url.Parse(e.app.URL() + "/git/platform.git")
	u.User = url.UserPassword(user, token)
	home := t.TempDir()
	cmd := exec.Command("git", "clone", "-q", u.String(), filepath.Join(home, "platform"))
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "GIT_ASKPASS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	return nil
}

// usersRegistry is what the registry answers a docker client's login (GET /v2/ with Basic auth).
func usersRegistry(t *testing.T, e *env, user, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", e.app.URL()+"/v2/", nil)
	req.SetBasicAuth(user, token)
	resp, err := e.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func usersAudited(t *testing.T, e *env, actor, action, target string) {
	t.Helper()
	log, err := e.app.Store.AuditLog(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range log {
		if a.Actor == actor && a.Action == action && a.Target == target {
			return
		}
	}
	t.Errorf("no audit entry: %s %s %s", actor, action, target)
}

// TestAbuseUsersOtherTeamsTokens: seadev (search) cannot list, revoke, mint or use alice's (payments)
// tokens; alice can list and revoke their own.
func TestAbuseUsersOtherTeamsTokens(t *testing.T) {
	e := start(t, startOptions{})
	c := twoTeams(e)
	_, laptopID := usersMint(e, c.alice, "alice", "laptop")

	wantProblem(t, "seadev listing alice's tokens", e.call("GET", "/api/v1/users/alice/tokens", c.seadev, nil), 403, "only admins can list other users' tokens")
	wantProblem(t, "seadev revoking alice's token", e.call("DELETE", "/api/v1/tokens/"+laptopID, c.seadev, nil), 403, "is not yours")
	wantProblem(t, "seadev minting for alice", e.call("POST", "/api/v1/users/alice/tokens", c.seadev, map[string]any{}), 403, "only admins can issue tokens for other users")
	if code, _, errs := e.goldenpath(c.seadev, "user", "token", "list", "alice"); code != 4 || !strings.Contains(errs, "only admins can list other users' tokens") {
		t.Errorf("CLI: seadev listing alice's tokens: exit %d, %s", code, errs)
	}
	if code, _, errs := e.goldenpath(c.seadev, "user", "token", "revoke", laptopID); code != 4 || !strings.Contains(errs, "is not yours") {
		t.Errorf("CLI: seadev revoking alice's token: exit %d, %s", code, errs)
	}
	// Presenting one's own token under alice's name is not alice.
	req, _ := http.NewRequest("GET", e.app.URL()+"/api/v1/whoami", nil)
	req.SetBasicAuth("alice", c.seadev)
	if resp, err := e.http.Do(req); err != nil || resp.StatusCode != 401 {
		t.Errorf("seadev's token as alice's password: %v, %v", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
	if usersRegistry(t, e, "alice", c.seadev) != 401 {
		t.Error("the registry took seadev's token as alice's")
	}

	// The owner still lists (never a token nor a hash) and revokes.
	r := e.must(200, "GET", "/api/v1/users/alice/tokens", c.alice, nil)
	if strings.Contains(string(r.body), "gp_") || strings.Contains(strings.ToLower(string(r.body)), "hash") || !strings.Contains(string(r.body), laptopID) {
		t.Errorf("alice's token list: %s", r.body)
	}
	code, out, errs := e.goldenpath(c.alice, "user", "token", "list")
	if code != 0 || !strings.Contains(out, laptopID) || !strings.Contains(out, "LAST USED") || strings.Contains(out, "gp_") {
		t.Errorf("CLI: alice listing their tokens: exit %d\n%s%s", code, out, errs)
	}
	e.must(200, "DELETE", "/api/v1/tokens/"+laptopID, c.alice, nil)
	usersAudited(t, e, "alice", "token.list", "user/alice")
	usersAudited(t, e, "alice", "token.revoke", "user/alice")
	usersAudited(t, e, "alice", "token.issue", "user/alice")
}

// TestAbuseUsersDeveloperCannotAdminister: seadev cannot delete users or change anyone's roles or teams,
// their own included; nothing changes, and the admin can.
func TestAbuseUsersDeveloperCannotAdminister(t *testing.T) {
	e := start(t, startOptions{})
	c := twoTeams(e)
	for _, tt := range []struct {
		what, method, path string
		body               any
	}{
		{"delete alice", "DELETE", "/api/v1/users/alice", nil},
		{"delete the admin", "DELETE", "/api/v1/users/admin", nil},
		{"move alice to search", "PATCH", "/api/v1/users/alice", map[string]any{"teams": []string{"search"}}},
		{"demote paula", "PATCH", "/api/v1/users/paula", map[string]any{"roles": []string{"developer"}}},
		{"make themselves admin", "PATCH", "/api/v1/users/seadev", map[string]any{"roles": []string{"admin"}}},
		{"make themselves approver", "PATCH", "/api/v1/users/seadev", map[string]any{"roles": []string{"approver"}}},
		{"join payments", "PATCH", "/api/v1/users/seadev", map[string]any{"teams": []string{"search", "payments"}}},
	} {
		wantProblem(t, "seadev: "+tt.what, e.call(tt.method, tt.path, c.seadev, tt.body), 403, "needs the admin role")
	}
	for _, args := range [][]string{{"user", "delete", "alice"}, {"user", "set", "seadev", "--role", "admin"}, {"user", "set", "seadev", "--team", "payments"}} {
		if code, _, errs := e.goldenpath(c.seadev, args...); code != 4 || !strings.Contains(errs, "needs the admin role") {
			t.Errorf("CLI: seadev %v: exit %d, %s", args, code, errs)
		}
	}
	b := portalAs(t, e, c.seadev)
	csrf := b.csrf("/users/seadev")
	for _, p := range []struct {
		path string
		form url.Values
	}{
		{"/users/alice/delete", url.Values{}},
		{"/users/seadev/set", url.Values{"role": {"admin"}, "teams": {"search"}}},
		{"/users/seadev/set", url.Values{"role": {"developer"}, "teams": {"search, payments"}}},
	} {
		p.form.Set("csrf", csrf)
		if status, _, body := b.do("POST", p.path, p.form); status != 403 || !strings.Contains(body, "needs the admin role") {
			t.Errorf("portal: seadev POST %s: got %d", p.path, status)
		}
	}
	if status, _, _ := b.do("GET", "/users", nil); status != 403 {
		t.Errorf("portal: seadev opening the users list: got %d, want 403", status)
	}

	var me struct {
		Roles []string `json:"roles"`
		Teams []string `json:"teams"`
	}
	e.must(200, "GET", "/api/v1/whoami", c.seadev, nil).json(t, &me)
	if strings.Join(me.Roles, ",") != "developer" || strings.Join(me.Teams, ",") != "search" {
		t.Errorf("seadev after the attempts: %+v", me)
	}
	e.must(200, "GET", "/api/v1/whoami", c.alice, nil)
	// The admin can.
	e.must(200, "PATCH", "/api/v1/users/paula", e.admin, map[string]any{"teams": []string{"payments", "platform"}})
	usersAudited(t, e, "admin", "user.update", "user/paula")
}

// TestAbuseUsersRevokedTokenStopsEverywhere: a revoked token is refused by the API, git, the registry and
// the portal (new sign-ins and the session it opened), at once.
func TestAbuseUsersRevokedTokenStopsEverywhere(t *testing.T) {
	e := start(t, startOptions{})
	c := twoTeams(e)
	tok, id := usersMint(e, c.alice, "alice", "to revoke")
	b := newBrowser(t, e)
	if status, _ := b.signIn(tok, "/"); status != http.StatusSeeOther || !b.signedIn() {
		t.Fatalf("portal sign-in before revoking: %d", status)
	}
	e.must(200, "GET", "/api/v1/whoami", tok, nil)
	if err := usersGitClone(t, e, "alice", tok); err != nil {
		t.Fatalf("git clone before revoking: %v", err)
	}
	if s := usersRegistry(t, e, "alice", tok); s != 200 {
		t.Fatalf("registry login before revoking: %d", s)
	}

	if code, out, errs := e.goldenpath(c.alice, "user", "token", "revoke", id); code != 0 || !strings.Contains(out, "Revoked token "+id) {
		t.Fatalf("revoking: exit %d %s%s", code, out, errs)
	}
	wantProblem(t, "REST with the revoked token", e.call("GET", "/api/v1/whoami", tok, nil), 401, "revoked")
	if err := usersGitClone(t, e, "alice", tok); err == nil {
		t.Error("git clone with the revoked token worked")
	}
	if s := usersRegistry(t, e, "alice", tok); s != 401 {
		t.Errorf("registry login with the revoked token: got %d, want 401", s)
	}
	if b.signedIn() {
		t.Error("the portal session opened with the revoked token goes on")
	}
	if status, _ := newBrowser(t, e).signIn(tok, "/"); status != http.StatusUnauthorized {
		t.Errorf("portal sign-in with the revoked token: got %d, want 401", status)
	}
	// alice's other token is untouched.
	e.must(200, "GET", "/api/v1/whoami", c.alice, nil)
	if err := usersGitClone(t, e, "alice", c.alice); err != nil {
		t.Errorf("alice's other token: %v", err)
	}
	usersAudited(t, e, "alice", "token.revoke", "user/alice")
}

// TestAbuseUsersDeletedUserStopsAtOnce: deleting a user revokes all their tokens and ends their portal
// sessions at once.
func TestAbuseUsersDeletedUserStopsAtOnce(t *testing.T) {
	e := start(t, startOptions{})
	c := twoTeams(e)
	second, _ := usersMint(e, e.admin, "alice", "second")
	b := portalAs(t, e, second)
	if !b.signedIn() {
		t.Fatal("not signed in")
	}
	r := e.must(200, "DELETE", "/api/v1/users/alice", e.admin, nil)
	if n := r.field(t, "tokensRevoked"); n != float64(2) {
		t.Errorf("tokens revoked: %v, want 2", n)
	}
	for _, tok := range []string{c.alice, second} {
		wantProblem(t, "REST with a deleted user's token", e.call("GET", "/api/v1/whoami", tok, nil), 401, "authentication required")
		if err := usersGitClone(t, e, "alice", tok); err == nil {
			t.Error("git clone with a deleted user's token worked")
		}
		if s := usersRegistry(t, e, "alice", tok); s != 401 {
			t.Errorf("registry login with a deleted user's token: %d", s)
		}
	}
	if b.signedIn() {
		t.Error("a deleted user's portal session goes on")
	}
	// Re-creating the name does not bring the old tokens or session back.
	e.must(201, "POST", "/api/v1/users", e.admin, map[string]any{"name": "alice", "roles": []string{"developer"}, "teams": []string{"payments"}})
	if r := e.call("GET", "/api/v1/whoami", second, nil); r.status != 401 || b.signedIn() {
		t.Errorf("after re-creating alice, the old token: %d; old session signed in: %v", r.status, b.signedIn())
	}
	usersAudited(t, e, "admin", "user.delete", "user/alice")
}

// TestAbuseUsersRoleChangeIsImmediate: a role or team change applies to the very next request of existing
// tokens and portal sessions, both ways.
func TestAbuseUsersRoleChangeIsImmediate(t *testing.T) {
	e := start(t, startOptions{})
	c := twoTeams(e)
	n := e.file(c.alice, contractDoc("S3Request", "invoices", "alice", "payments", "dev", "  size: small\n"))
	e.approveAndMerge(n, c.paula)
	e.waitPhase("s3.dev.invoices", "Ready", 30*time.Second)
	b := portalAs(t, e, c.seadev)
	creds := "/api/v1/requests/s3.dev.invoices/credentials"

	wantProblem(t, "seadev reading payments' credentials", e.call("GET", creds, c.seadev, nil), 403, "only the owner")
	wantProblem(t, "seadev listing users", e.call("GET", "/api/v1/users", c.seadev, nil), 403, "admin role")
	if status, _, _ := b.do("GET", "/requests/s3.dev.invoices/credentials", nil); status != 403 {
		t.Errorf("portal: seadev on payments' credentials: %d", status)
	}

	e.must(200, "PATCH", "/api/v1/users/seadev", e.admin, map[string]any{"teams": []string{"search", "payments"}, "roles": []string{"admin"}})
	e.must(200, "GET", creds, c.seadev, nil)
	e.must(200, "GET", "/api/v1/users", c.seadev, nil)
	if status, _, _ := b.do("GET", "/requests/s3.dev.invoices/credentials", nil); status != 200 {
		t.Errorf("portal: seadev on payments' credentials after joining: %d", status)
	}
	if status, _, _ := b.do("GET", "/users", nil); status != 200 {
		t.Errorf("portal: seadev on the users list as admin: %d", status)
	}

	if code, out, errs := e.goldenpath(e.admin, "user", "set", "seadev", "--role", "developer", "--team", "search"); code != 0 {
		t.Fatalf("user set: exit %d %s%s", code, out, errs)
	}
	wantProblem(t, "seadev back in search", e.call("GET", creds, c.seadev, nil), 403, "only the owner")
	wantProblem(t, "seadev demoted", e.call("GET", "/api/v1/users", c.seadev, nil), 403, "admin role")
	if status, _, _ := b.do("GET", "/users", nil); status != 403 {
		t.Errorf("portal: seadev on the users list after demotion: %d", status)
	}
	usersAudited(t, e, "admin", "user.update", "user/seadev")
}

// TestAbuseUsersShortTokenCannotMintLonger: a short-lived token (five minutes here, so a loaded machine
// cannot outrun it; thirty seconds in the report) can mint neither a longer token nor one that never
// expires; by default what it mints ends when it does.
func TestAbuseUsersShortTokenCannotMintLonger(t *testing.T) {
	e := start(t, startOptions{})
	c := twoTeams(e)
	r := e.must(201, "POST", "/api/v1/users/alice/tokens", c.alice, map[string]any{"ttl": "5m", "description": "short"})
	short := r.field(t, "token").(string)
	parentExp, err := time.Parse(time.RFC3339Nano, r.field(t, "expiresAt").(string))
	if err != nil {
		t.Fatal(err)
	}
	wantProblem(t, "720h from a 5-minute token", e.call("POST", "/api/v1/users/alice/tokens", short, map[string]any{"ttl": "720h"}), 400,
		"ttl: 720h0m0s is longer than the credential you are using has left")
	if code, _, errs := e.goldenpath(short, "user", "token", "alice", "--ttl", "24h"); code != 3 || !strings.Contains(errs, "a token cannot mint one that outlives it") {
		t.Errorf("CLI: 24h from a 5-minute token: exit %d, %s", code, errs)
	}
	// An admin's short token cannot create a lasting one for someone else either.
	adminShort := e.must(201, "POST", "/api/v1/users/admin/tokens", e.admin, map[string]any{"ttl": "5m"}).field(t, "token").(string)
	wantProblem(t, "admin's 5-minute token minting 1h for alice", e.call("POST", "/api/v1/users/alice/tokens", adminShort, map[string]any{"ttl": "1h"}), 400, "longer than the credential")

	// No ttl: not "never", but the parent's end.
	child := e.must(201, "POST", "/api/v1/users/alice/tokens", short, map[string]any{"description": "child"})
	var got struct {
		Token     string     `json:"token"`
		ExpiresAt *time.Time `json:"expiresAt"`
	}
	child.json(t, &got)
	if got.ExpiresAt == nil || got.ExpiresAt.After(parentExp) {
		t.Fatalf("the child expires at %v, want no later than %s", got.ExpiresAt, parentExp)
	}
	var listed struct {
		Items []struct {
			Description string     `json:"description"`
			ExpiresAt   *time.Time `json:"expiresAt"`
		} `json:"items"`
	}
	e.must(200, "GET", "/api/v1/users/alice/tokens", c.alice, nil).json(t, &listed)
	for _, it := range listed.Items {
		if it.Description == "child" && (it.ExpiresAt == nil || it.ExpiresAt.After(parentExp)) {
			t.Errorf("the list says the child expires at %v", it.ExpiresAt)
		}
	}
	usersAudited(t, e, "alice", "token.issue", "user/alice")
	// A non-expiring token still mints non-expiring ones.
	if r := e.must(201, "POST", "/api/v1/users/alice/tokens", c.alice, map[string]any{}); r.field(t, "expiresAt") != nil {
		t.Errorf("a token from a non-expiring one expires: %s", r.body)
	}
}

// TestAbuseUsersLastAdminAndBot: the last admin can be neither deleted nor demoted, goldenpath's bot
// neither deleted, changed nor have its token revoked; with a second admin, the first can step down.
func TestAbuseUsersLastAdminAndBot(t *testing.T) {
	e := start(t, startOptions{})
	c := twoTeams(e)
	wantProblem(t, "deleting the last admin", e.call("DELETE", "/api/v1/users/admin", e.admin, nil), 422, "admin is the last admin")
	wantProblem(t, "demoting the last admin", e.call("PATCH", "/api/v1/users/admin", e.admin, map[string]any{"roles": []string{"approver"}}), 422, "admin is the last admin")
	if code, _, errs := e.goldenpath(e.admin, "user", "delete", "admin"); code != 6 || !strings.Contains(errs, "last admin") {
		t.Errorf("CLI: deleting the last admin: exit %d, %s", code, errs)
	}
	wantProblem(t, "deleting the bot", e.call("DELETE", "/api/v1/users/goldenpath-bot", e.admin, nil), 403, "goldenpath's own user")
	wantProblem(t, "demoting the bot", e.call("PATCH", "/api/v1/users/goldenpath-bot", e.admin, map[string]any{"roles": []string{"developer"}}), 403, "goldenpath's own user")
	for _, id := range usersTokenIDs(e, "goldenpath-bot") {
		wantProblem(t, "revoking the bot's token", e.call("DELETE", "/api/v1/tokens/"+id, e.admin, nil), 403, "goldenpath's own user")
	}
	bot, err := e.app.Store.GetUser(context.Background(), "goldenpath-bot")
	if err != nil || strings.Join(bot.Roles, ",") != store.RoleAdmin {
		t.Errorf("the bot after the attempts: %+v, %v", bot, err)
	}

	// With paula made admin, the first admin may step down; paula then is the last.
	e.must(200, "PATCH", "/api/v1/users/paula", e.admin, map[string]any{"roles": []string{"admin"}})
	e.must(200, "PATCH", "/api/v1/users/admin", e.admin, map[string]any{"roles": []string{"developer"}})
	wantProblem(t, "the old admin acting as admin", e.call("DELETE", "/api/v1/users/alice", e.admin, nil), 403, "needs the admin role")
	wantProblem(t, "demoting the new last admin", e.call("PATCH", "/api/v1/users/paula", c.paula, map[string]any{"roles": []string{"approver"}}), 422, "paula is the last admin")
	e.must(200, "DELETE", "/api/v1/users/admin", c.paula, nil)
	usersAudited(t, e, "paula", "user.delete", "user/admin")
	usersAudited(t, e, "admin", "user.update", "user/admin")
}

// TestAbuseUsersPortalSignInStaysOnSite: the portal's sign-in never redirects to another host, however
// next is dressed up (browsers drop tabs and newlines and read '\' as '/').
func TestAbuseUsersPortalSignInStaysOnSite(t *testing.T) {
	e := start(t, startOptions{})
	c := twoTeams(e)
	for _, next := range []string{"/\t/evil.example", "/\n/evil.example", "/\r/evil.example", "/\t\\evil.example", "//evil.example",
		"/\\evil.example", "https://evil.example/", "\t//evil.example"} {
		b := newBrowser(t, e)
		status, loc := b.signIn(c.alice, next)
		if status != http.StatusSeeOther || loc != "/" {
			t.Errorf("next=%q: got %d to %q, want 303 to /", next, status, loc)
		}
	}
	// The raw query string of the report: next=/%09/evil.example.
	b := portalAs(t, e, c.alice)
	if status, loc, _ := b.do("GET", "/signin?next=/%09/evil.example", nil); status != http.StatusSeeOther || loc != "/" {
		t.Errorf("signed in, /signin?next=/%%09/evil.example: got %d to %q, want 303 to /", status, loc)
	}
	// Sign-out clears the session cookie where it was set, and the old cookie no longer works.
	old := b.cookie["gp_session"]
	csrf := b.csrf("/")
	req, _ := http.NewRequest("POST", e.app.URL()+"/signout", strings.NewReader(url.Values{"csrf": {csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: "gp_session", Value: old})
	resp, err := b.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cleared := false
	for _, ck := range resp.Cookies() {
		if ck.Name == "gp_session" && ck.MaxAge < 0 && ck.Path == "/" {
			cleared = true
		}
	}
	if !cleared {
		t.Errorf("sign-out's Set-Cookie does not clear gp_session at Path=/: %v", resp.Header["Set-Cookie"])
	}
	b.cookie = map[string]string{"gp_session": old}
	if b.signedIn() {
		t.Error("the session cookie replayed after sign-out still works")
	}
	usersAudited(t, e, "alice", "portal.signout", "user/alice")
}
