package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/forge"
)

// actionsRequestTemplate is a template whose one step is http:backstage:request with the path and method
// given as parameters: what a template author can make goldenpath call, as whoever runs it.
func actionsRequestTemplate(name string) forge.Change {
	return scafTemplate(name, `  parameters:
    - properties:
        path: {type: string}
        method: {type: string}
  steps:
    - id: call
      action: http:backstage:request
      input:
        path: ${{ parameters.path }}
        method: ${{ parameters.method }}
        headers: {content-type: application/json}
  output:
    code: ${{ steps.call.output.code }}
`)
}

// actionsRun runs template as token and returns the final status and the task log.
func actionsRun(e *env, token, template string, values map[string]any) (string, string) {
	e.t.Helper()
	id := e.task(token, template, values, nil)
	status, evs := e.waitTask(token, id, time.Minute)
	return status, messages(evs)
}

// TestAbuseActionsBackstageRequest: a template's http:backstage:request reaches goldenpath's own API only,
// with the rights of whoever runs the task. A search developer's template cannot make goldenpath call
// another host, cannot close payments' change request or create a user when search runs it, and cannot
// read credentials or mint tokens even for a user who may; alice, running it on her own change request,
// succeeds. The one-request tokens are gone afterwards.
func TestAbuseActionsBackstageRequest(t *testing.T) {
	e := start(t, startOptions{})
	c := twoTeams(e)
	var hits atomic.Int64
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer elsewhere.Close()

	name := "actions-request-" + suffix()
	scafMergeTemplate(t, e, c.seadev, "seadev", c.bob, name, actionsRequestTemplate(name))
	n := e.file(c.alice, contractDoc("S3Request", "ledger-"+suffix(), "alice", "payments", "dev", "  size: small\n"))
	usersBefore := string(e.must(200, "GET", "/api/v1/users", e.admin, nil).body)

	for _, tt := range []struct {
		what, path, method, want string
	}{
		{"another host", elsewhere.URL + "/steal", "GET", "another host"},
		{"another host, scheme-relative", "//" + strings.TrimPrefix(elsewhere.URL, "http://") + "/steal", "GET", "another host"},
		{"out of the API by ..", "/catalog/../../healthz", "GET", ".."},
		{"out of the API, encoded", "/catalog/%2e%2e/%2e%2e/git/payments/x.git/info/refs", "GET", ".."},
		{"payments' change request", fmt.Sprintf("/v1/changes/%d/close", n), "POST", "status 403"},
		{"an admin's route", "/v1/users", "POST", "status 403"},
		{"credentials", "/v1/requests/s3.dev.x/credentials", "GET", "credentials"},
		{"a token", "/v1/users/seadev/tokens", "POST", "tokens"},
		{"a task starting tasks", "/scaffolder/v2/tasks", "POST", "scaffolder tasks"},
	} {
		t.Run(tt.what, func(t *testing.T) {
			e.t = t
			status, log := actionsRun(e, c.seadev, name, map[string]any{"path": tt.path, "method": tt.method})
			if status != "failed" || !strings.Contains(log, tt.want) {
				t.Errorf("got %s, want failed saying %q:\n%s", status, tt.want, log)
			}
		})
	}
	e.t = t
	if hits.Load() != 0 {
		t.Errorf("the other host was called %d times", hits.Load())
	}
	var ch struct{ State string }
	e.must(200, "GET", fmt.Sprintf("/api/v1/changes/%d", n), c.alice, nil).json(t, &ch)
	if ch.State != "open" {
		t.Errorf("payments' change request is %s after search's template ran", ch.State)
	}
	if users := string(e.must(200, "GET", "/api/v1/users", e.admin, nil).body); users != usersBefore {
		t.Errorf("the users changed:\n%s\nwant\n%s", users, usersBefore)
	}

	// The owner runs the same template on her own change request: it closes.
	status, log := actionsRun(e, c.alice, name, map[string]any{"path": fmt.Sprintf("/v1/changes/%d/close", n), "method": "POST"})
	if status != "completed" {
		t.Fatalf("alice closing her own change request: %s\n%s", status, log)
	}
	e.must(200, "GET", fmt.Sprintf("/api/v1/changes/%d", n), c.alice, nil).json(t, &ch)
	if ch.State != "closed" {
		t.Errorf("alice's change request is %s, want closed", ch.State)
	}
	for _, u := range []string{"alice", "seadev"} {
		toks, err := e.app.Store.ListTokens(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		for _, tok := range toks {
			if strings.Contains(tok.Description, "http:backstage:request") {
				t.Errorf("%s still has the one-request token %s", u, tok.ID)
			}
		}
	}
}
