// Package portal is goldenpath's web portal: server-rendered pages where developers sign in, see what they
// own, browse the catalog, run software templates and follow their tasks live, file and track requests, and
// where approvers review, approve and merge change requests. It replaces the Backstage front end of the seed
// plan without a JavaScript build: html/template pages, one stylesheet and a few lines of script (the live
// task log), all embedded.
//
// Every page is reached through a server-side session (an opaque id in a Secure, HttpOnly, SameSite=Lax
// cookie; the API token used to sign in is never stored or echoed, only its hash to notice revocation), every
// POST carries the session's CSRF token, and every action goes through the same services as the REST API,
// so roles and ownership are enforced in one place and the portal only hides what a user cannot do.
package portal

import (
	"context"
	"embed"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/auth"
	"github.com/goldenpathidp/goldenpath/internal/catalog"
	"github.com/goldenpathidp/goldenpath/internal/change"
	"github.com/goldenpathidp/goldenpath/internal/contract"
	"github.com/goldenpathidp/goldenpath/internal/request"
	"github.com/goldenpathidp/goldenpath/internal/scaffold"
	"github.com/goldenpathidp/goldenpath/internal/scaffolder"
	"github.com/goldenpathidp/goldenpath/internal/store"
)

//go:embed templates/*.html static/*
var assets embed.FS

// TokenAuthenticator resolves a goldenpath API token to its user (auth.Service does).
type TokenAuthenticator interface {
	Authenticate(ctx context.Context, token string) (auth.Principal, error)
}

// Identifier maps a request to a principal signed in elsewhere (the seam for OIDC: a proxy header or an
// OIDC callback's result). ok is false when the request carries no such identity. The portal opens its own
// session for the principal, so CSRF protection and sign-out work the same way.
type Identifier func(r *http.Request) (p auth.Principal, ok bool, err error)

// Store is the part of goldenpath's observed state the portal reads.
type Store interface {
	GetUser(ctx context.Context, name string) (store.User, error)
	ListUsers(ctx context.Context) ([]store.User, error)
	TokenByHash(ctx context.Context, hash []byte) (store.Token, error)
	GetRequest(ctx context.Context, id string) (store.Request, error)
	ListRequests(ctx context.Context, f store.RequestFilter) ([]store.Request, error)
	Events(ctx context.Context, requestID string, limit int) ([]store.Event, error)
	ListChanges(ctx context.Context, f store.ChangeFilter) ([]store.Change, error)
	TaskEvents(ctx context.Context, taskID string, after int64) ([]store.TaskEvent, error) // of a task Tasks let the visitor read
	Audit(ctx context.Context, e store.AuditEntry) error
}

// ChangeRequests reviews and merges change requests (the app's router over every repository).
type ChangeRequests interface {
	View(ctx context.Context, n int64, diff bool) (*change.View, error)
	Approve(ctx context.Context, p auth.Principal, n int64, comment string) (store.Review, error)
	Reject(ctx context.Context, p auth.Principal, n int64, reason string) (store.Change, error)
	Close(ctx context.Context, p auth.Principal, n int64, reason string) (store.Change, error)
	Merge(ctx context.Context, p auth.Principal, n int64) (store.Change, error)
	Comment(ctx context.Context, p auth.Principal, n int64, body string) (store.Comment, error)
}

// Requests proposes deleting a request through a change request.
type Requests interface {
	Delete(ctx context.Context, p auth.Principal, id contract.ID) (request.Filed, error)
}

// Users lists and revokes tokens and changes and deletes users, deciding who may (auth.Service does).
type Users interface {
	Tokens(ctx context.Context, caller auth.Principal, user string) ([]store.Token, error)
	Revoke(ctx context.Context, caller auth.Principal, id string) (store.Token, error)
	DeleteUser(ctx context.Context, caller auth.Principal, name string) (int, error)
	ChangeUser(ctx context.Context, caller auth.Principal, name string, ch auth.UserChange) (store.User, error)
}

// Catalog is the part of the software catalog the portal reads.
type Catalog interface {
	Get(ctx context.Context, ref catalog.Ref) (*catalog.Entity, error)
	List(ctx context.Context, kind string, after string, limit int) ([]*catalog.Entity, error)
	ListByOwner(ctx context.Context, owner catalog.Ref, after string, limit int) ([]*catalog.Entity, error)
}

// Templates lists the software templates on the platform repository's main.
type Templates interface {
	List(ctx context.Context) ([]scaffolder.Found, []error, error)
}

// TemplateSource reads a template's template.yaml as written, so the form keeps the author's field order
// (the parsed schema is a map). Optional.
type TemplateSource func(ctx context.Context, f scaffolder.Found) ([]byte, error)

// Tasks runs templates and follows the runs. Task and ListTasks show a user only the tasks they may read
// (theirs, their teams', all for admins); another team's task does not exist for them.
type Tasks interface {
	Create(ctx context.Context, in scaffolder.CreateInput) (string, error)
	Task(ctx context.Context, id string, user scaffold.User) (store.Task, error)
	ListTasks(ctx context.Context, user scaffold.User, f store.TaskFilter) ([]store.Task, int, error)
	Subscribe(id string) (<-chan struct{}, func())
	Cancel(ctx context.Context, id string, user scaffold.User) error
	Retry(ctx context.Context, id string, user scaffold.User, newSecrets map[string]string) error
}

// TaskUsers gives a task its user as templates see it (user.ref, user.entity).
type TaskUsers interface {
	User(ctx context.Context, name string) (scaffold.User, error)
}

// Credentials reads the secret outputs (passwords, keys) of a request. The portal calls it only for the
// request's owners, its team and admins.
type Credentials interface {
	Secrets(ctx context.Context, rec store.Request) (map[string]string, error)
}

// Options configure a Server. Store, Tokens, Changes, Catalog, Templates, Tasks and TaskUsers are required.
type Options struct {
	Tokens      TokenAuthenticator
	Identify    Identifier // optional: sign-in by an external identity (OIDC)
	Store       Store
	Changes     ChangeRequests
	Requests    Requests // optional: without it requests cannot be deleted from the portal
	Users       Users    // optional: without it the account and user pages are unavailable
	Catalog     Catalog
	Templates   Templates
	Source      TemplateSource // optional
	Tasks       Tasks
	TaskUsers   TaskUsers
	Credentials Credentials // optional: without it the credentials page shows the outputs only
	Apps        Apps        // optional: without it the apps pages are unavailable
	// APIBase is the base URL of goldenpath's API (http://127.0.0.1:7070): links to the API in task outputs
	// (change requests, requests) are shown as the portal's pages instead.
	APIBase string
	// InsecureCookies drops the Secure attribute of the session cookie, for a portal served over plain HTTP
	// on a non-loopback address (browsers already treat loopback addresses as secure).
	InsecureCookies bool
	SessionTTL      time.Duration // default 12h; a session never outlives its token
	Logger          *slog.Logger
	now             func() time.Time
}

// Server serves the portal.
type Server struct {
	patterns []string // what routes registered
	o        Options
	log      *slog.Logger
	pages    map[string]*template.Template
	sessions *sessions
	mux      *http.ServeMux
}

// New returns a portal Server.
func New(o Options) (*Server, error) {
	for name, missing := range map[string]bool{"Tokens": o.Tokens == nil, "Store": o.Store == nil, "Changes": o.Changes == nil,
		"Catalog": o.Catalog == nil, "Templates": o.Templates == nil, "Tasks": o.Tasks == nil, "TaskUsers": o.TaskUsers == nil} {
		if missing {
			return nil, fmt.Errorf("portal: Options.%s is required", name)
		}
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 12 * time.Hour
	}
	if o.now == nil {
		o.now = time.Now
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	s := &Server{o: o, log: log.With("component", "portal"), pages: pages, sessions: newSessions(o.now)}
	s.mux = s.routes()
	return s, nil
}

// ServeHTTP serves the portal's pages under / (the caller mounts the API and other servers beside it).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	s.mux.ServeHTTP(w, r)
}

// maxFormBytes bounds a form post.
const maxFormBytes = 1 << 20

// Routes lists the pages and actions the portal serves ("METHOD /path"), for the security matrix's test.
func (s *Server) Routes() []string { return s.patterns }

func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	s.patterns = nil
	handle := func(pattern string, h http.Handler) {
		s.patterns = append(s.patterns, pattern)
		mux.Handle(pattern, h)
	}
	handle("GET /static/", http.FileServerFS(assets))
	handle("GET /signin", http.HandlerFunc(s.signInPage))
	handle("POST /signin", http.HandlerFunc(s.signIn))
	handle("POST /signout", http.HandlerFunc(s.signOut))

	page := func(pattern string, fn handlerFunc) { handle(pattern, s.authed(fn, false)) }
	action := func(pattern string, fn handlerFunc) { handle(pattern, s.authed(fn, true)) }
	page("GET /{$}", s.home)
	page("GET /catalog", s.catalogList)
	page("GET /catalog/{kind}/{namespace}/{name}", s.entityPage)
	page("GET /create", s.templateList)
	page("GET /create/{name}", s.templateForm)
	action("POST /create/{name}", s.templateSubmit)
	page("GET /create/{name}/review", s.templateReview)
	action("POST /create/{name}/run", s.templateRun)
	page("GET /tasks", s.taskList)
	page("GET /tasks/{id}", s.taskPage)
	page("GET /tasks/{id}/events", s.taskEvents)
	action("POST /tasks/{id}/cancel", s.taskCancel)
	action("POST /tasks/{id}/retry", s.taskRetry)
	page("GET /apps", s.appList)
	page("GET /apps/{name}", s.appPage)
	page("GET /requests", s.requestList)
	page("GET /requests/{id}", s.requestPage)
	page("GET /requests/{id}/credentials", s.credentialsPage)
	action("POST /requests/{id}/delete", s.requestDelete)
	page("GET /changes", s.changeList)
	page("GET /changes/{number}", s.changePage)
	action("POST /changes/{number}/{verb}", s.changeAction)
	page("GET /users", s.userList)
	page("GET /users/{name}", s.userPage)
	action("POST /users/{name}/set", s.userSet)
	action("POST /users/{name}/delete", s.userDelete)
	action("POST /tokens/{id}/revoke", s.tokenRevoke)
	mux.HandleFunc("/", s.notFound)
	return mux
}
