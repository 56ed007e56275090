package actions

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/goldenpathidp/goldenpath/internal/scaffold"
)

func TestAPIPath(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{in: "/catalog/entities", want: "/api/catalog/entities"},
		{in: "catalog/entities/by-name/component/default/x", want: "/api/catalog/entities/by-name/component/default/x"},
		{in: "/api/v1/requests", want: "/api/v1/requests"},
		{in: "/catalog/entities?filter=kind=component", want: "/api/catalog/entities"},
		{in: "http://169.254.169.254/latest/meta-data", err: "another host"},
		{in: "//evil.example/x", err: "another host"},
		{in: "https://goldenpath/api/v1/whoami", err: "another host"},
		{in: "/catalog/../../git/payments/orders.git/info/refs", err: ".."},
		{in: "/catalog/%2e%2e/%2e%2e/healthz", err: ".."},
		{in: "/catalog/%2F%2Fevil", err: "not a plain API path"},
		{in: `/catalog\..\x`, err: "not a plain API path"},
		{in: "/v1/requests/rds.dev.orders/credentials", err: "credentials"},
		{in: "/api/v1/secrets/x", err: "secrets"},
		{in: "/v1/users/alice/tokens", err: "tokens"},
		{in: "/scaffolder/v2/tasks", err: "scaffolder tasks"},
	}
	for _, tt := range tests {
		got, _, err := apiPath(tt.in)
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("apiPath(%q) = %q, %v; want an error containing %q", tt.in, got, err, tt.err)
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("apiPath(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// fakeAPI answers like goldenpath's API would, and records what it was asked as whom.
type fakeAPI struct {
	mu    sync.Mutex
	calls []string
}

func (f *fakeAPI) Call(_ context.Context, u scaffold.User, r APIRequest) (APIResponse, error) {
	f.mu.Lock()
	f.calls = append(f.calls, u.Name+" "+r.Method+" "+r.Path+"?"+r.Query.Encode()+" "+string(r.Body))
	f.mu.Unlock()
	if r.Path == "/api/v1/users" {
		return APIResponse{Status: 403, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"error":"admins only"}`)}, nil
	}
	return APIResponse{Status: 200, Header: http.Header{"Content-Type": {"application/json"}, "X-Total": {"1"}}, Body: []byte(`{"items":[{"b":1,"a":2}]}`)}, nil
}

func TestBackstageRequest(t *testing.T) {
	api := &fakeAPI{}
	acts := []scaffold.Action{BackstageRequest(api), RoadieSerializeJSON()}
	_, res, _, err := runSteps(t, context.Background(), acts, `
    - {id: get, action: "http:backstage:request", input: {path: /catalog/entities, method: GET, params: {filter: kind=component}}}
    - {id: order, action: roadiehq:utils:serialize:json, input: {data: "${{ steps.get.output.body }}"}}
    - {id: post, action: "http:backstage:request", input: {path: /api/v1/changes/1/comments, method: POST, headers: {content-type: application/json}, body: {body: hi}}}
    - {id: bad, action: "http:backstage:request", input: {path: /v1/users, method: GET, continueOnBadResponse: true}}
`, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := stepOutput(res, "get"); got["code"] != 200 && got["code"] != float64(200) || asJSON(got["headers"]) != `{"content-type":"application/json","x-total":"1"}` {
		t.Errorf("outputs: %v", got)
	}
	if got := stepOutput(res, "order")["serialized"]; got != `{"items":[{"b":1,"a":2}]}` {
		t.Errorf("the body keeps its order: got %v", got)
	}
	if got := stepOutput(res, "bad"); asJSON(got) != `{"body":{"error":"admins only"},"code":403,"headers":{}}` {
		t.Errorf("continueOnBadResponse: %s", asJSON(got))
	}
	want := []string{"alice GET /api/catalog/entities?filter=kind%3Dcomponent ", `alice POST /api/v1/changes/1/comments? {"body":"hi"}`, "alice GET /api/v1/users? "}
	if strings.Join(api.calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls:\n%s\nwant\n%s", strings.Join(api.calls, "\n"), strings.Join(want, "\n"))
	}

	for _, tt := range []struct{ step, err string }{
		{`{id: x, action: "http:backstage:request", input: {path: /v1/users, method: GET}}`, "unable to complete request (status 403)"},
		{`{id: x, action: "http:backstage:request", input: {path: "http://example.com/", method: GET}}`, "another host"},
		{`{id: x, action: "http:backstage:request", input: {path: /v1/whoami, method: GET, headers: {Authorization: "Bearer gp_admin"}}}`, "always calls as the task's user"},
		{`{id: x, action: "http:backstage:request", input: {path: /v1/whoami, method: GET, headers: {X-Forwarded-Host: evil.example}}}`, "takes no host"},
	} {
		n := len(api.calls)
		_, _, _, err := runSteps(t, context.Background(), acts, "    - "+tt.step+"\n", nil, nil)
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%s: got %v, want an error containing %q", tt.step, err, tt.err)
		}
		if tt.err != "unable to complete request (status 403)" && len(api.calls) != n {
			t.Errorf("%s: the API was called: %v", tt.step, api.calls[n:])
		}
	}
}
