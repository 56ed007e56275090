package actions

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/scaffold"
	"github.com/goldenpathidp/goldenpath/internal/scaffold/expr"
)

// API serves requests of goldenpath's own API for http:backstage:request: in-process (nothing is dialled,
// so no template can make goldenpath reach another host), authenticated as the task's user with a
// short-lived credential of that user's own, so the request has exactly that user's rights.
type API interface {
	Call(ctx context.Context, u scaffold.User, r APIRequest) (APIResponse, error)
}

// APIRequest is one request to goldenpath's API; Path is always under /api/.
type APIRequest struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte
}

// APIResponse is its answer.
type APIResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// Limits of http:backstage:request.
const (
	maxAPITimeout       = 60 * time.Second
	MaxAPIResponseBytes = 4 << 20
)

// apiDenied lists the API paths a template may not call, even as a user who could: what they answer is a
// credential (a task's outputs are read by the creator's teams, not only by the credential's owners), or
// a task (a template starting tasks could start them without end).
var apiDenied = []struct {
	re     *regexp.Regexp
	reason string
}{
	{regexp.MustCompile(`^/api/v1/requests/[^/]+/credentials$`), "it answers credentials, which a task's outputs would show to the task's readers"},
	{regexp.MustCompile(`^/api/v1/secrets(/|$)`), "it reads or writes secrets; use a SecretRequest (goldenpath:request:create)"},
	{regexp.MustCompile(`^/api/v1/(users/[^/]+/)?tokens(/|$)`), "it issues or revokes API tokens"},
	{regexp.MustCompile(`^/api/scaffolder/v2/(tasks|dry-run)(/|$)`), "a template may not start or drive scaffolder tasks"},
}

// apiPath turns the action's path into a path of goldenpath's API. As in Backstage, the first segment is the
// plugin ("/catalog/entities" is /api/catalog/entities); a path already under /api/ is taken as it is. The
// result is always a clean path under /api/: no scheme or host, no "..", no "//", no backslash.
func apiPath(raw string) (string, url.Values, error) {
	p, rawQuery, _ := strings.Cut(raw, "?")
	switch {
	case strings.Contains(raw, "://") || strings.HasPrefix(raw, "//"):
		return "", nil, fmt.Errorf("%q names another host; http:backstage:request calls goldenpath's own API only (give a path such as /catalog/entities)", raw)
	case strings.ContainsAny(p, "\\#\x00") || strings.Contains(p, "//"):
		return "", nil, fmt.Errorf("%q is not a plain API path", raw)
	}
	decoded, err := url.PathUnescape(p)
	if err != nil || strings.ContainsAny(decoded, "\\\x00?#") || strings.Contains(decoded, "//") {
		return "", nil, fmt.Errorf("%q is not a plain API path", raw)
	}
	for _, seg := range strings.Split(decoded, "/") {
		if seg == ".." || seg == "." {
			return "", nil, fmt.Errorf("%q must not contain . or .. segments", raw)
		}
	}
	decoded = "/" + strings.TrimPrefix(decoded, "/")
	if !strings.HasPrefix(decoded, "/api/") {
		decoded = "/api" + decoded
	}
	if path.Clean(decoded) != strings.TrimSuffix(decoded, "/") || decoded == "/api/" {
		return "", nil, fmt.Errorf("%q is not a plain API path", raw)
	}
	for _, d := range apiDenied {
		if d.re.MatchString(decoded) {
			return "", nil, fmt.Errorf("%s may not be called from a template: %s", decoded, d.reason)
		}
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return "", nil, fmt.Errorf("%q: query: %w", raw, err)
	}
	return decoded, q, nil
}

var httpMethods = []any{"GET", "HEAD", "OPTIONS", "POST", "UPDATE", "DELETE", "PUT", "PATCH"}

// BackstageRequest is http:backstage:request, confined to goldenpath's own API and run as the task's user.
func BackstageRequest(api API) scaffold.Action {
	return &action{
		id:          "http:backstage:request",
		description: "Sends an HTTP request to goldenpath's own API (/catalog/..., /scaffolder/..., /v1/...) as the user who runs the task, with that user's rights.",
		input: object(map[string]any{
			"path":                  str("The API path to call: /catalog/entities (a plugin's path), or /api/catalog/entities"),
			"method":                map[string]any{"type": "string", "enum": httpMethods, "title": "The method type of the request"},
			"headers":               map[string]any{"type": "object", "title": "The headers you would like to pass to your request (not Authorization or Cookie)"},
			"params":                map[string]any{"type": "object", "title": "The query parameters you would like to pass to your request"},
			"body":                  map[string]any{"title": "The body you would like to pass to your request"},
			"logRequestPath":        boolean("Option to turn request path logging off. On by default"),
			"continueOnBadResponse": boolean("Return response code and body and continue to next scaffolder step if the response status is 4xx or 5xx"),
			"timeout":               map[string]any{"type": "number", "default": 60000, "title": "Timeout for the request (milliseconds, at most 60000)"},
			"useBackstageToken":     boolean("Accepted: goldenpath always calls as the task's user"),
			"idempotencyKey":        str("Accepted: a retried task resumes after completed steps, so a completed request is not sent again"),
		}, "path", "method"),
		output: object(map[string]any{
			"code":    num("The response code of the request"),
			"headers": map[string]any{"type": "object", "title": "The headers of the response"},
			"body":    map[string]any{"title": "The body of the response"},
		}),
		run: func(ctx context.Context, ac *scaffold.ActionContext) error {
			if api == nil {
				return fmt.Errorf("http:backstage:request is not configured")
			}
			req, err := apiRequest(ac)
			if err != nil {
				return err
			}
			if ac.Bool("logRequestPath", true) {
				ac.Logf("Creating %s request with http:backstage:request against %s", req.Method, req.Path)
			} else {
				ac.Logf("Creating %s request with http:backstage:request", req.Method)
			}
			if ac.DryRun && !slices.Contains([]string{"GET", "HEAD", "OPTIONS"}, req.Method) {
				ac.Logf("Dry run mode. Skipping non dry-run safe method '%s' request to %s", req.Method, req.Path)
				return nil
			}
			timeout := maxAPITimeout
			if ms := toFloat(ac.Input["timeout"]); ms > 0 && time.Duration(ms)*time.Millisecond < timeout {
				timeout = time.Duration(ms) * time.Millisecond
			}
			cctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			resp, err := api.Call(cctx, ac.User, req)
			if cctx.Err() != nil && ctx.Err() == nil {
				return fmt.Errorf("request was aborted as it took longer than %s", timeout)
			}
			if err != nil {
				return fmt.Errorf("there was an issue with the request: %w", err)
			}
			return apiOutputs(ac, resp)
		},
	}
}

// apiRequest builds the request from the action's input.
func apiRequest(ac *scaffold.ActionContext) (APIRequest, error) {
	p, q, err := apiPath(ac.String("path", ""))
	if err != nil {
		return APIRequest{}, fmt.Errorf("input.path: %w", err)
	}
	if params, ok := expr.AsMap(ac.Input["params"]); ok {
		for k, v := range params {
			q.Set(k, fmt.Sprint(v))
		}
	}
	h := http.Header{}
	headers, _ := expr.AsMap(ac.Input["headers"])
	for k, v := range headers {
		switch lk := strings.ToLower(k); {
		case lk == "authorization" || lk == "cookie" || lk == "proxy-authorization":
			return APIRequest{}, fmt.Errorf("input.headers.%s: http:backstage:request always calls as the task's user; it takes no credentials", k)
		case lk == "host" || strings.HasPrefix(lk, "x-forwarded-") || lk == "forwarded":
			return APIRequest{}, fmt.Errorf("input.headers.%s: http:backstage:request calls goldenpath itself; it takes no host", k)
		}
		h.Set(k, fmt.Sprint(v))
	}
	var body []byte
	switch b := ac.Input["body"].(type) {
	case nil:
	case string:
		body = []byte(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return APIRequest{}, fmt.Errorf("input.body: %w", err)
		}
		body = raw
		if h.Get("Content-Type") == "" {
			h.Set("Content-Type", "application/json")
		}
	}
	return APIRequest{Method: ac.String("method", "GET"), Path: p, Query: q, Header: h, Body: body}, nil
}

// apiOutputs sets code, headers and body as the original does: a JSON body parsed, any other as
// {message: text}; a status of 400 or more fails the step unless continueOnBadResponse.
func apiOutputs(ac *scaffold.ActionContext, resp APIResponse) error {
	headers := map[string]any{}
	for k, v := range resp.Header {
		headers[strings.ToLower(k)] = strings.Join(v, ", ")
	}
	var body any = map[string]any{"message": string(resp.Body)}
	if strings.Contains(resp.Header.Get("Content-Type"), "application/json") && len(resp.Body) > 0 {
		v, err := expr.DecodeJSON(resp.Body)
		if err != nil {
			return fmt.Errorf("could not parse response body: %w", err)
		}
		body = v
	}
	if resp.Status >= 400 {
		raw, _ := json.Marshal(body)
		ac.Logf("There was an issue with your request. Status code: %d Response body: %s", resp.Status, scaffold.Clip(string(raw), 4096))
		if !ac.Bool("continueOnBadResponse", false) {
			return fmt.Errorf("unable to complete request (status %d)", resp.Status)
		}
		headers = map[string]any{}
	}
	ac.Output("code", resp.Status)
	ac.Output("headers", headers)
	ac.Output("body", body)
	return nil
}
