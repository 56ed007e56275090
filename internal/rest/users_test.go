package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/auth"
	"github.com/goldenpathidp/goldenpath/internal/store"
	"github.com/goldenpathidp/goldenpath/internal/store/sqlite"
)

type usersEnv struct {
	t     *testing.T
	srv   *httptest.Server
	store store.Store
	token map[string]string
	ids   map[string]string // the token id of each user's token
}

// newUsersEnv serves the API over a real store with root (admin), alice (developer, payments) and sam
// (developer, search), and goldenpath's bot.
func newUsersEnv(t *testing.T) *usersEnv {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "goldenpath.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc := auth.New(st)
	e := &usersEnv{t: t, store: st, token: map[string]string{}, ids: map[string]string{}}
	for _, u := range []store.User{
		{Name: "root", Roles: []string{store.RoleAdmin}},
		{Name: auth.BotUser, Roles: []string{store.RoleAdmin}},
		{Name: "alice", Roles: []string{store.RoleDeveloper}, Teams: []string{"payments"}},
		{Name: "sam", Roles: []string{store.RoleDeveloper}, Teams: []string{"search"}},
	} {
		if _, err := svc.AddUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		tok, rec, err := svc.IssueToken(ctx, u.Name, "first", 0)
		if err != nil {
			t.Fatal(err)
		}
		e.token[u.Name], e.ids[u.Name] = tok, rec.ID
	}
	s := &Server{Auth: svc, Users: svc, Store: st}
	e.srv = httptest.NewServer(s.Handler())
	t.Cleanup(e.srv.Close)
	return e
}

type apiAnswer struct {
	status int
	body   string
}

func (e *usersEnv) call(method, path, token string, body any) apiAnswer {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return apiAnswer{resp.StatusCode, string(raw)}
}

func TestUserAndTokenRoutes(t *testing.T) {
	e := newUsersEnv(t)
	tests := []struct {
		name, caller, method, path string
		body                       any
		status                     int
		text                       string
	}{
		{"sam lists alice's tokens", "sam", "GET", "/api/v1/users/alice/tokens", nil, 403, "only admins can list other users' tokens"},
		{"sam revokes alice's token", "sam", "DELETE", "/api/v1/tokens/" + e.ids["alice"], nil, 403, "is not yours"},
		{"sam deletes alice", "sam", "DELETE", "/api/v1/users/alice", nil, 403, "deleting users needs the admin role"},
		{"sam moves alice to search", "sam", "PATCH", "/api/v1/users/alice", map[string]any{"teams": []string{"search"}}, 403, "needs the admin role"},
		{"sam makes himself admin", "sam", "PATCH", "/api/v1/users/sam", map[string]any{"roles": []string{"admin"}}, 403, "needs the admin role"},
		{"sam joins payments", "sam", "PATCH", "/api/v1/users/sam", map[string]any{"teams": []string{"search", "payments"}}, 403, "needs the admin role"},
		{"sam mints for alice", "sam", "POST", "/api/v1/users/alice/tokens", map[string]any{}, 403, "only admins can issue tokens for other users"},
		{"unknown field", "root", "PATCH", "/api/v1/users/alice", map[string]any{"name": "bob"}, 400, "name: unknown field"},
		{"nothing to change", "root", "PATCH", "/api/v1/users/alice", map[string]any{}, 400, "nothing to change"},
		{"bad role", "root", "PATCH", "/api/v1/users/alice", map[string]any{"roles": []string{"owner"}}, 400, `role \"owner\" is unknown`},
		{"no such user", "root", "DELETE", "/api/v1/users/nobody", nil, 404, `user \"nobody\" does not exist`},
		{"no such token", "root", "DELETE", "/api/v1/tokens/nope", nil, 404, `token \"nope\" does not exist`},
		{"demote the last admin", "root", "PATCH", "/api/v1/users/root", map[string]any{"roles": []string{"developer"}}, 422, "root is the last admin"},
		{"delete the last admin", "root", "DELETE", "/api/v1/users/root", nil, 422, "root is the last admin"},
		{"delete the bot", "root", "DELETE", "/api/v1/users/" + auth.BotUser, nil, 403, "goldenpath's own user"},
		{"demote the bot", "root", "PATCH", "/api/v1/users/" + auth.BotUser, map[string]any{"roles": []string{"developer"}}, 403, "goldenpath's own user"},
		{"revoke the bot's token", "root", "DELETE", "/api/v1/tokens/" + e.ids[auth.BotUser], nil, 403, "goldenpath's own user"},
		{"anonymous", "", "GET", "/api/v1/users/alice/tokens", nil, 401, "authentication required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := e.call(tt.method, tt.path, e.token[tt.caller], tt.body)
			if got.status != tt.status || !strings.Contains(got.body, tt.text) {
				t.Errorf("got %d %s, want %d saying %q", got.status, got.body, tt.status, tt.text)
			}
		})
	}
	// Nothing of the refused calls happened.
	if got := e.call("GET", "/api/v1/whoami", e.token["alice"], nil); got.status != 200 || !strings.Contains(got.body, `"payments"`) {
		t.Errorf("alice after the refused calls: %d %s", got.status, got.body)
	}
	if got := e.call("GET", "/api/v1/whoami", e.token["sam"], nil); !strings.Contains(got.body, `"developer"`) || strings.Contains(got.body, "admin") {
		t.Errorf("sam after the refused calls: %s", got.body)
	}
}

func TestTokenLifecycleOverREST(t *testing.T) {
	e := newUsersEnv(t)
	// A five-minute token cannot mint a longer one, nor one that never expires.
	short := e.call("POST", "/api/v1/users/alice/tokens", e.token["alice"], map[string]any{"ttl": "5m", "description": "short"})
	var minted struct {
		Token     string    `json:"token"`
		ID        string    `json:"id"`
		ExpiresAt time.Time `json:"expiresAt"`
	}
	if short.status != 201 || json.Unmarshal([]byte(short.body), &minted) != nil {
		t.Fatalf("minting a 5m token: %d %s", short.status, short.body)
	}
	if got := e.call("POST", "/api/v1/users/alice/tokens", minted.Token, map[string]any{"ttl": "720h"}); got.status != 400 ||
		!strings.Contains(got.body, "ttl: 720h0m0s is longer than the credential you are using has left") || !strings.Contains(got.body, `"field": "ttl"`) {
		t.Errorf("a longer ttl: got %d %s", got.status, got.body)
	}
	var child struct {
		ExpiresAt *time.Time `json:"expiresAt"`
	}
	got := e.call("POST", "/api/v1/users/alice/tokens", minted.Token, nil)
	if got.status != 201 || json.Unmarshal([]byte(got.body), &child) != nil || child.ExpiresAt == nil || child.ExpiresAt.After(minted.ExpiresAt) {
		t.Errorf("no ttl from a 5m token: got %d %s, want a token expiring by %s", got.status, got.body, minted.ExpiresAt)
	}

	// Listing shows ids, descriptions and dates, never a token or a hash.
	list := e.call("GET", "/api/v1/users/alice/tokens", e.token["alice"], nil)
	var items struct {
		Items []map[string]any `json:"items"`
	}
	if list.status != 200 || json.Unmarshal([]byte(list.body), &items) != nil || len(items.Items) != 3 {
		t.Fatalf("listing: %d %s", list.status, list.body)
	}
	for _, it := range items.Items {
		for k := range it {
			if k != "id" && k != "user" && k != "description" && k != "createdAt" && k != "expiresAt" && k != "lastUsedAt" && k != "current" {
				t.Errorf("the token list shows %q", k)
			}
		}
	}
	if strings.Contains(list.body, "gp_") {
		t.Error("the token list shows a token")
	}
	if !strings.Contains(list.body, `"current": true`) {
		t.Error("the token list does not mark the token in use")
	}

	// Revoking: alice her own, then it is refused everywhere.
	if got := e.call("DELETE", "/api/v1/tokens/"+minted.ID, e.token["alice"], nil); got.status != 200 || !strings.Contains(got.body, minted.ID) {
		t.Fatalf("revoking: %d %s", got.status, got.body)
	}
	if got := e.call("GET", "/api/v1/whoami", minted.Token, nil); got.status != 401 || !strings.Contains(got.body, "revoked") {
		t.Errorf("a revoked token: got %d %s", got.status, got.body)
	}

	// A role change applies to the next request with an existing token.
	if got := e.call("PATCH", "/api/v1/users/sam", e.token["root"], map[string]any{"roles": []string{"approver"}, "teams": []string{"payments"}}); got.status != 200 {
		t.Fatalf("changing sam: %d %s", got.status, got.body)
	}
	if got := e.call("GET", "/api/v1/whoami", e.token["sam"], nil); !strings.Contains(got.body, `"approver"`) || !strings.Contains(got.body, `"payments"`) {
		t.Errorf("sam after the change: %s", got.body)
	}

	// Deleting alice revokes every token of hers.
	if got := e.call("DELETE", "/api/v1/users/alice", e.token["root"], nil); got.status != 200 || !strings.Contains(got.body, `"tokensRevoked": 2`) {
		t.Fatalf("deleting alice: %d %s", got.status, got.body)
	}
	if got := e.call("GET", "/api/v1/whoami", e.token["alice"], nil); got.status != 401 {
		t.Errorf("a deleted user's token: got %d %s", got.status, got.body)
	}

	if got := e.call("POST", "/api/v1/users", e.token["root"], map[string]any{"name": "dora", "roles": []string{"developer"}}); got.status != 201 {
		t.Fatalf("adding dora: %d %s", got.status, got.body)
	}

	log, _ := e.store.AuditLog(context.Background(), 100)
	for _, a := range log {
		if !strings.HasPrefix(a.Target, "user/") {
			t.Errorf("audit entry %+v: want the target user/<name>", a)
		}
	}
	want := map[string]bool{"user.add": false, "token.issue": false, "token.list": false, "token.revoke": false, "user.update": false, "user.delete": false}
	for _, a := range log {
		if _, ok := want[a.Action]; ok {
			want[a.Action] = true
		}
	}
	for action, seen := range want {
		if !seen {
			t.Errorf("no %s audit entry", action)
		}
	}
}
