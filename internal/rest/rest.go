// Package rest serves goldenpath's REST API under /api/v1: requests, change requests, secrets, users,
// schemas and an OpenAPI document generated from the same route table that registers the handlers.
// Every error is JSON {code, message, field} (see package problem); request bodies have a size limit.
package rest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/goldenpathidp/goldenpath/internal/auth"
	"github.com/goldenpathidp/goldenpath/internal/change"
	"github.com/goldenpathidp/goldenpath/internal/dns"
	"github.com/goldenpathidp/goldenpath/internal/problem"
	"github.com/goldenpathidp/goldenpath/internal/reconcile"
	"github.com/goldenpathidp/goldenpath/internal/request"
	"github.com/goldenpathidp/goldenpath/internal/secrets"
	"github.com/goldenpathidp/goldenpath/internal/store"
)

// MaxBodyBytes bounds request bodies.
const MaxBodyBytes = 1 << 20

// Authenticator resolves the caller of an HTTP request. The token service implements it; OIDC will too.
type Authenticator interface {
	FromRequest(r *http.Request) (auth.Principal, error)
}

// Vault reads and writes secrets.
type Vault interface {
	Put(ctx context.Context, name string, value secrets.Value, actor string) error
	Get(ctx context.Context, name string) (secrets.Value, store.Secret, error)
	List(ctx context.Context, prefix string) ([]string, error)
}

// ChangeRequests reviews and merges change requests (of the platform repository and of app repositories).
type ChangeRequests interface {
	List(ctx context.Context, f store.ChangeFilter) ([]store.Change, error)
	OpenBranch(ctx context.Context, p auth.Principal, repo, branch, title, body string) (store.Change, error)
	View(ctx context.Context, number int64, withDiff bool) (*change.View, error)
	Approve(ctx context.Context, p auth.Principal, number int64, comment string) (store.Review, error)
	Reject(ctx context.Context, p auth.Principal, number int64, reason string) (store.Change, error)
	Close(ctx context.Context, p auth.Principal, number int64, reason string) (store.Change, error)
	Merge(ctx context.Context, p auth.Principal, number int64) (store.Change, error)
	Comment(ctx context.Context, p auth.Principal, number int64, body string) (store.Comment, error)
}

// Edge is DNS, routes and the dev gateway.
type Edge interface {
	View(ctx context.Context) (any, error)
	Plan(ctx context.Context, env string) (dns.Plan, error)
	Apply(ctx context.Context, env string) (dns.Plan, error)
	CACert() []byte
}

// Apps is delivery: the apps, where they run, and the images deployed to them. What may quote an app's
// own output (its logs) is its team's: p is the caller.
type Apps interface {
	List(ctx context.Context, p auth.Principal) (any, error)
	Get(ctx context.Context, p auth.Principal, name string) (any, error)
	Deployments(ctx context.Context, p auth.Principal, app string) (any, error)
	Logs(ctx context.Context, p auth.Principal, app, env string) ([]byte, error)
}

// Status reports the reconciler's view.
type Status interface {
	LastStatus(ctx context.Context) (reconcile.Status, error)
}

// Server is the REST API.
type Server struct {
	Auth     Authenticator
	Users    *auth.Service
	Store    store.Store
	Changes  ChangeRequests
	Requests *request.Service
	Vault    Vault
	Status   Status
	Edge     Edge
	Apps     Apps
	Logger   *slog.Logger
	Version  string
	// Endpoints are shown by GET /api/v1/platform so clients learn where git, the registry and S3 are.
	Endpoints map[string]string

	mux    *http.ServeMux
	routes []route
}

type principalKey struct{}

// route is one endpoint; the OpenAPI document is generated from these.
type route struct {
	method, path, summary string
	public                bool
	body                  string // request body description, "" for none
	handle                func(w http.ResponseWriter, r *http.Request, p auth.Principal) error
}

// Handler returns the HTTP handler for /api/v1/.
func (s *Server) Handler() http.Handler {
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	s.mux = http.NewServeMux()
	s.routes = s.table()
	for _, rt := range s.routes {
		s.mux.Handle(rt.method+" "+rt.path, s.wrap(rt))
	}
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, problem.New(problem.NotFound, "no API endpoint %s %s; see /api/v1/openapi.json", r.Method, r.URL.Path))
	})
	return s.mux
}

// Routes lists the endpoints Handler serves ("METHOD /path"), for the security matrix's test.
func (s *Server) Routes() []string {
	var out []string
	for _, rt := range s.table() {
		out = append(out, rt.method+" "+rt.path)
	}
	return out
}

func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		var p auth.Principal
		if !rt.public {
			var err error
			if p, err = s.Auth.FromRequest(r); err != nil {
				if errors.Is(err, auth.ErrUnauthenticated) {
					w.Header().Set("WWW-Authenticate", `Bearer realm="goldenpath"`)
					err = problem.New(problem.Unauthenticated, "%s", err.Error()).Wrap(err)
				}
				s.writeError(w, r, err)
				return
			}
		}
		if err := rt.handle(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)), p); err != nil {
			s.writeError(w, r, err)
		}
	})
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		err = problem.New(problem.TooLarge, "the request body is larger than %d bytes", tooBig.Limit)
	}
	p := problem.From(err)
	if p.Code == problem.Internal {
		s.Logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, p.Code.Status(), p)
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// decode reads a JSON body into v strictly.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return err
		}
		if errors.Is(err, io.EOF) {
			return problem.New(problem.Invalid, "the request body is empty; send a JSON object")
		}
		msg := err.Error()
		if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
			return problem.Field(strings.Trim(f, `"`), "unknown field")
		}
		return problem.New(problem.Invalid, "the request body is not valid JSON: %s", msg)
	}
	return nil
}

func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil, problem.New(problem.Invalid, "the request body is empty")
	}
	return b, nil
}
