// Package e2e runs the real goldenpath program in-process on port 0 and drives it the way users do: over
// its REST API, git's smart HTTP, the registry and S3 APIs, and PostgreSQL.
package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/app"
)

// postgresURL is the admin URL of a real PostgreSQL server for RDSRequests. .ci/run starts one and sets it.
func postgresURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("GOLDENPATH_TEST_POSTGRES_URL")
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("GOLDENPATH_TEST_POSTGRES_URL is not set; .ci/run starts PostgreSQL and sets it")
		}
		t.Skip("GOLDENPATH_TEST_POSTGRES_URL is not set: skipping the PostgreSQL parts (scripts/test-postgres.sh starts a server)")
	}
	return u
}

// testGetenv is the program's environment in tests: the test PostgreSQL server's admin password, as a
// platform team gives it (platform.yaml names the server without it, since it is in git).
func testGetenv(k string) string {
	if k == "GOLDENPATH_POSTGRES_PASSWORD" {
		if u, err := url.Parse(os.Getenv("GOLDENPATH_TEST_POSTGRES_URL")); err == nil && u.User != nil {
			pw, _ := u.User.Password()
			return pw
		}
	}
	return os.Getenv(k)
}

// logBuffer keeps the program's log and prints it only when a test fails.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

type env struct {
	t     *testing.T
	app   *app.App
	dir   string
	admin string
	http  *http.Client
	logs  *logBuffer
	// secretsSeen collects every secret handed out, to check none reaches the log.
	secretsSeen []string
}

// log returns everything the program logged so far.
func (e *env) log() string {
	e.logs.mu.Lock()
	defer e.logs.mu.Unlock()
	return e.logs.buf.String()
}

type startOptions struct {
	dir    string
	config func(*app.Config)
}

// start runs goldenpath on port 0 in dir (a new temp dir when empty) and stops it when the test ends.
func start(t *testing.T, o startOptions) *env {
	t.Helper()
	if o.dir == "" {
		o.dir = t.TempDir()
	}
	logs := &logBuffer{}
	cfg := app.Config{DataDir: o.dir, Addr: "127.0.0.1:0", S3Addr: "127.0.0.1:0", Resync: 2 * time.Second,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), Getenv: testGetenv}
	if o.config != nil {
		o.config(&cfg)
	}
	a, err := app.Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("starting goldenpath: %v", err)
	}
	e := &env{t: t, app: a, dir: o.dir, admin: a.AdminToken, http: &http.Client{Timeout: time.Minute}, logs: logs}
	if e.admin == "" {
		raw, _ := os.ReadFile(o.dir + "/" + app.AdminTokenFile)
		e.admin = strings.TrimSpace(string(raw))
	}
	t.Cleanup(func() {
		a.Close()
		if t.Failed() {
			t.Logf("goldenpath log:\n%s", logs.buf.String())
		}
	})
	return e
}

// response is an API answer.
type response struct {
	status int
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

func (r response) field(t *testing.T, path ...string) any {
	t.Helper()
	var v any
	r.json(t, &v)
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("no %v in %s", path, r.body)
		}
		v = m[p]
	}
	return v
}

// call performs an API request with a token; body may be a string (sent as YAML) or a value (sent as JSON).
func (e *env) call(method, path, token string, body any) response {
	e.t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, ct = strings.NewReader(b), "application/yaml"
	case []byte:
		rd, ct = bytes.NewReader(b), "application/octet-stream"
	default:
		raw, _ := json.Marshal(b)
		rd, ct = bytes.NewReader(raw), "application/json"
	}
	req, err := http.NewRequest(method, e.app.URL()+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.http.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, body: raw}
}

// must performs a call and fails the test unless it returns want.
func (e *env) must(want int, method, path, token string, body any) response {
	e.t.Helper()
	r := e.call(method, path, token, body)
	if r.status != want {
		e.t.Fatalf("%s %s: got %d, want %d: %s", method, path, r.status, want, r.body)
	}
	return r
}

// user creates a user and returns a token for them.
func (e *env) user(name string, roles []string, teams ...string) string {
	e.t.Helper()
	e.must(201, "POST", "/api/v1/users", e.admin, map[string]any{"name": name, "roles": roles, "teams": teams})
	r := e.must(201, "POST", "/api/v1/users/"+name+"/tokens", e.admin, map[string]any{"description": "e2e"})
	return r.field(e.t, "token").(string)
}

// file files a contract and returns the change request number.
func (e *env) file(token, doc string) int64 {
	e.t.Helper()
	r := e.must(201, "POST", "/api/v1/requests", token, doc)
	return int64(r.field(e.t, "change", "number").(float64))
}

// approveAndMerge approves change request n with each approver and merges it with the last one.
func (e *env) approveAndMerge(n int64, approvers ...string) {
	e.t.Helper()
	for _, a := range approvers {
		e.must(200, "POST", fmt.Sprintf("/api/v1/changes/%d/approve", n), a, map[string]string{"comment": "lgtm"})
	}
	e.must(200, "POST", fmt.Sprintf("/api/v1/changes/%d/merge", n), approvers[len(approvers)-1], nil)
}

// waitPhase polls a request until it reaches phase, failing after timeout; it returns the request.
func (e *env) waitPhase(id, phase string, timeout time.Duration) map[string]any {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	var last response
	for time.Now().Before(deadline) {
		last = e.call("GET", "/api/v1/requests/"+id, e.admin, nil)
		if last.status == 200 {
			var v map[string]any
			last.json(e.t, &v)
			if v["phase"] == phase {
				return v
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatalf("%s did not reach %s within %s; last: %s", id, phase, timeout, last.body)
	return nil
}

// condition returns the Ready condition's reason and message.
func condition(v map[string]any) (string, string) {
	conds, _ := v["conditions"].([]any)
	for _, c := range conds {
		m := c.(map[string]any)
		if m["type"] == "Ready" {
			return m["reason"].(string), m["message"].(string)
		}
	}
	return "", ""
}

func suffix() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func contractDoc(kind, name, owner, team, env, spec string) string {
	return fmt.Sprintf("apiVersion: goldenpath.io/v1\nkind: %s\nmetadata:\n  name: %s\n  owner: %s\n  team: %s\n  environment: %s\nspec:\n%s",
		kind, name, owner, team, env, spec)
}
