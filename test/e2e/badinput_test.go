package e2e

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestBadInput sends every kind of bad input the issue lists and checks the error names the problem,
// and that nothing was half-applied.
func TestBadInput(t *testing.T) {
	e := start(t, startOptions{})
	tm := cast(e)
	good := contractDoc("S3Request", "assets", "alice", "payments", "dev", "  size: small\n")

	tests := []struct {
		name   string
		token  string
		body   any
		status int
		want   []string // substrings of the response
	}{
		{"malformed YAML", tm.alice, "apiVersion: goldenpath.io/v1\nkind: [S3Request\n", 400, []string{`"code": "invalid"`, "malformed YAML"}},
		{"unknown field", tm.alice, good + "  colour: blue\n", 400, []string{`"field": "spec.colour"`, "unknown field", `"line": 10`}},
		{"wrong apiVersion", tm.alice, strings.Replace(good, "goldenpath.io/v1", "goldenpath.io/v9", 1), 400, []string{`"field": "apiVersion"`}},
		{"wrong kind", tm.alice, strings.Replace(good, "S3Request", "RedisRequest", 1), 400, []string{`"field": "kind"`, "unknown kind"}},
		{"invalid name", tm.alice, strings.Replace(good, "name: assets", "name: Assets_Bucket", 1), 400, []string{`"field": "metadata.name"`, "not a valid name"}},
		{"unknown environment", tm.alice, strings.Replace(good, "environment: dev", "environment: qa", 1), 400, []string{`"field": "metadata.environment"`, `environment \"qa\" is not defined`}},
		{"unknown size class", tm.alice, strings.Replace(good, "size: small", "size: huge", 1), 400, []string{`"field": "spec.size"`, `size class \"huge\" is not defined`}},
		{"missing team", tm.alice, strings.Replace(good, "  team: payments\n", "", 1), 400, []string{`"field": "metadata.team"`, "is required"}},
		{"owner who does not exist", tm.alice, strings.Replace(good, "owner: alice", "owner: ghost", 1), 400, []string{`"field": "metadata.owner"`, `user \"ghost\" does not exist`}},
		{"another team's resource", tm.mallory, good, 403, []string{"forbidden", "payments"}},
		{"no token", "", good, 401, []string{"unauthenticated"}},
		{"bad token", "gp_nope", good, 401, []string{"unauthenticated"}},
		{"oversized body", tm.alice, good + "# " + strings.Repeat("x", 2<<20) + "\n", 413, []string{"too_large"}},
		{"empty body", tm.alice, "", 400, []string{"empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			r := e.call("POST", "/api/v1/requests", tt.token, tt.body)
			if r.status != tt.status {
				t.Fatalf("got %d, want %d: %s", r.status, tt.status, r.body)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(r.body), w) {
					t.Errorf("response %s does not contain %s", r.body, w)
				}
			}
		})
	}
	e.t = t
	// Nothing above left a change request or a request record behind.
	if r := e.must(200, "GET", "/api/v1/changes?state=open", e.admin, nil); strings.Contains(string(r.body), `"number"`) {
		t.Errorf("a refused request opened a change request: %s", r.body)
	}
	if r := e.must(200, "GET", "/api/v1/requests?all=true", e.admin, nil); strings.Contains(string(r.body), `"id"`) {
		t.Errorf("a refused request left a record: %s", r.body)
	}

	t.Run("duplicate request", func(t *testing.T) {
		e.t = t
		n := e.file(tm.alice, good)
		r := e.must(409, "POST", "/api/v1/requests", tm.alice, good)
		if !strings.Contains(string(r.body), fmt.Sprintf("open change request #%d", n)) {
			t.Errorf("duplicate while pending: %s", r.body)
		}
		e.approveAndMerge(n, tm.bob)
		e.waitPhase("s3.dev.assets", "Ready", 10*time.Second)
		if r := e.must(409, "POST", "/api/v1/requests", tm.alice, good); !strings.Contains(string(r.body), "already exists on main") {
			t.Errorf("duplicate after merge: %s", r.body)
		}
	})

	t.Run("duplicate requests filed at once", func(t *testing.T) {
		e.t = t
		doc := contractDoc("S3Request", "twice", "alice", "payments", "dev", "  size: small\n")
		statuses := race(3, func(int) int { return e.call("POST", "/api/v1/requests", tm.alice, doc).status })
		if !sameSet(statuses, []int{201, 409, 409}) {
			t.Errorf("three simultaneous filings: %v, want one 201 and two 409", statuses)
		}
	})

	t.Run("approval by the requester", func(t *testing.T) {
		e.t = t
		n := e.file(tm.bob, contractDoc("SecretRequest", "bob-own", "bob", "platform", "dev", "  description: x\n"))
		r := e.must(403, "POST", fmt.Sprintf("/api/v1/changes/%d/approve", n), tm.bob, nil)
		if !strings.Contains(string(r.body), "cannot approve it") {
			t.Errorf("self-approval: %s", r.body)
		}
		if r := e.must(422, "POST", fmt.Sprintf("/api/v1/changes/%d/merge", n), tm.bob, nil); !strings.Contains(string(r.body), "needs 1 approval") {
			t.Errorf("merge without approval: %s", r.body)
		}
	})

	t.Run("token without the role", func(t *testing.T) {
		e.t = t
		n := e.file(tm.alice, contractDoc("SecretRequest", "no-role", "alice", "payments", "dev", "  description: x\n"))
		if r := e.call("POST", fmt.Sprintf("/api/v1/changes/%d/approve", n), tm.mallory, nil); r.status != 403 || !strings.Contains(string(r.body), "approver role") {
			t.Errorf("developer approving: %d %s", r.status, r.body)
		}
		if r := e.call("POST", "/api/v1/users", tm.alice, map[string]any{"name": "eve", "roles": []string{"admin"}}); r.status != 403 {
			t.Errorf("developer creating an admin: %d %s", r.status, r.body)
		}
		if r := e.call("POST", "/api/v1/users/bob/tokens", tm.alice, nil); r.status != 403 {
			t.Errorf("developer issuing a token for someone else: %d", r.status)
		}
	})

	t.Run("second approval racing the first", func(t *testing.T) {
		e.t = t
		n := e.file(tm.alice, contractDoc("SecretRequest", "race", "alice", "payments", "dev", "  description: x\n"))
		statuses := race(2, func(int) int {
			return e.call("POST", fmt.Sprintf("/api/v1/changes/%d/approve", n), tm.bob, nil).status
		})
		if !sameSet(statuses, []int{200, 409}) {
			t.Errorf("two approvals by bob at once: %v, want one 200 and one 409", statuses)
		}
		tokens := []string{tm.bob, tm.carol}
		statuses = race(2, func(i int) int {
			return e.call("POST", fmt.Sprintf("/api/v1/changes/%d/merge", n), tokens[i], nil).status
		})
		if !sameSet(statuses, []int{200, 409}) {
			t.Errorf("two merges at once: %v, want one 200 and one 409", statuses)
		}
		e.waitPhase("secret.dev.race", "Ready", 10*time.Second)
	})

	t.Run("change request that fails validation", func(t *testing.T) {
		e.t = t
		work := t.TempDir()
		u, _ := url.Parse(e.app.URL() + "/git/platform.git")
		u.User = url.UserPassword("alice", tm.alice)
		git(t, work, "clone", u.String(), "platform")
		repo := filepath.Join(work, "platform")
		path := filepath.Join(repo, "docs/20-contracts/s3-requests/broken/S3-REQUEST.yaml")
		_ = os.MkdirAll(filepath.Dir(path), 0o755)
		_ = os.WriteFile(path, []byte(contractDoc("S3Request", "broken", "alice", "payments", "dev", "  size: small\n  replicas: 3\n")), 0o644)
		git(t, repo, "checkout", "-b", "broken")
		git(t, repo, "add", ".")
		git(t, repo, "commit", "-m", "broken")
		git(t, repo, "push", "origin", "broken")
		r := e.must(201, "POST", "/api/v1/changes", tm.alice, map[string]string{"branch": "broken"})
		n := int64(r.field(t, "number").(float64))
		e.must(200, "POST", fmt.Sprintf("/api/v1/changes/%d/approve", n), tm.bob, nil)
		r = e.must(422, "POST", fmt.Sprintf("/api/v1/changes/%d/merge", n), tm.bob, nil)
		if !strings.Contains(string(r.body), `check \"contracts\" failed`) {
			t.Errorf("merge of an invalid contract: %s", r.body)
		}
		v := e.must(200, "GET", fmt.Sprintf("/api/v1/changes/%d", n), tm.bob, nil)
		if !strings.Contains(string(v.body), "spec.replicas") {
			t.Errorf("the change request does not show which field is wrong: %s", v.body)
		}
		// Pushing straight to main is refused for developers.
		git(t, repo, "checkout", "-q", "main")
		_ = os.WriteFile(filepath.Join(repo, "README.md"), []byte("vandalised"), 0o644)
		git(t, repo, "commit", "-qam", "direct")
		out, err := gitOut(repo, "push", "origin", "main")
		if err == nil || !strings.Contains(out, "main is protected") {
			t.Errorf("direct push to main by a developer: %v\n%s", err, out)
		}
	})

	t.Run("bad parameters", func(t *testing.T) {
		e.t = t
		for path, want := range map[string]string{
			"/api/v1/requests/nonsense":  `"field": "id"`,
			"/api/v1/requests/rds.dev.x": "does not exist",
			"/api/v1/changes/abc":        `"field": "number"`,
			"/api/v1/changes/9999":       "does not exist",
			"/api/v1/requests?kind=vm":   `"field": "kind"`,
			"/api/v1/changes?state=odd":  `"field": "state"`,
		} {
			r := e.call("GET", path, tm.alice, nil)
			if r.status < 400 || !strings.Contains(string(r.body), want) {
				t.Errorf("GET %s: %d %s; want %s", path, r.status, r.body, want)
			}
		}
		r := e.call("POST", "/api/v1/changes/1/comments", tm.alice, map[string]any{"body": "x", "extra": 1})
		if r.status != 400 || !strings.Contains(string(r.body), `"field": "extra"`) {
			t.Errorf("unknown JSON field: %d %s", r.status, r.body)
		}
	})
}

func race(n int, fn func(i int) int) []int {
	out := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			out[i] = fn(i)
		}(i)
	}
	close(start)
	wg.Wait()
	return out
}

func sameSet(got, want []int) bool {
	if len(got) != len(want) {
		return false
	}
	count := map[int]int{}
	for _, g := range got {
		count[g]++
	}
	for _, w := range want {
		count[w]--
	}
	for _, c := range count {
		if c != 0 {
			return false
		}
	}
	return true
}
