// Package app wires goldenpath together: it opens the data directory, starts every embedded server (REST
// API, git forge, OCI registry, S3 store) and the reconciler, seeds the platform repository and the first
// admin on first start, and shuts everything down cleanly. Tests start it on port 0 exactly as `goldenpath
// up` does.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/auth"
	"github.com/goldenpathidp/goldenpath/internal/catalog"
	"github.com/goldenpathidp/goldenpath/internal/change"
	"github.com/goldenpathidp/goldenpath/internal/contract"
	"github.com/goldenpathidp/goldenpath/internal/dns"
	"github.com/goldenpathidp/goldenpath/internal/forge"
	"github.com/goldenpathidp/goldenpath/internal/gateway"
	"github.com/goldenpathidp/goldenpath/internal/objectstore"
	"github.com/goldenpathidp/goldenpath/internal/platform"
	awsprov "github.com/goldenpathidp/goldenpath/internal/provision/aws"
	"github.com/goldenpathidp/goldenpath/internal/provision/local"
	"github.com/goldenpathidp/goldenpath/internal/reconcile"
	"github.com/goldenpathidp/goldenpath/internal/registry"
	"github.com/goldenpathidp/goldenpath/internal/request"
	"github.com/goldenpathidp/goldenpath/internal/rest"
	"github.com/goldenpathidp/goldenpath/internal/scaffold"
	"github.com/goldenpathidp/goldenpath/internal/scaffold/actions"
	"github.com/goldenpathidp/goldenpath/internal/scaffold/expr"
	"github.com/goldenpathidp/goldenpath/internal/scaffolder"
	"github.com/goldenpathidp/goldenpath/internal/secrets"
	"github.com/goldenpathidp/goldenpath/internal/store"
	"github.com/goldenpathidp/goldenpath/internal/store/sqlite"
)

// PlatformRepo is the name of the platform repository in the forge.
const PlatformRepo = "platform"

// Config configures an App.
type Config struct {
	DataDir string // default ./.goldenpath
	Addr    string // API, git and registry; default 127.0.0.1:7070 ("127.0.0.1:0" in tests)
	S3Addr  string // S3 API; default 127.0.0.1:7071
	// DNSAddr is where the embedded DNS server answers (UDP and TCP); default 127.0.0.1:5353; "off" disables it.
	DNSAddr string
	// GatewayAddr and GatewayTLSAddr are the dev gateway's HTTP and HTTPS listeners; defaults
	// 127.0.0.1:8080 and 127.0.0.1:8443; "off" disables the gateway.
	GatewayAddr, GatewayTLSAddr string
	Domain                      string // seeded into platform.yaml on first start; default goldenpathidp.io
	Region                      string // S3 region; default us-east-1
	Version                     string
	// PlatformYAML seeds a new platform repository instead of the default platform.yaml.
	PlatformYAML []byte

	Logger   *slog.Logger
	Getenv   func(string) string // default os.Getenv
	Workers  int
	Resync   time.Duration
	StepHook reconcile.StepHook
}

func (c *Config) defaults() {
	if c.DataDir == "" {
		c.DataDir = ".goldenpath"
	}
	if c.Addr == "" {
		c.Addr = "127.0.0.1:7070"
	}
	if c.S3Addr == "" {
		c.S3Addr = "127.0.0.1:7071"
	}
	// With the main listener on port 0 (tests, benchmarks), every listener left unset takes a free port too.
	free := strings.HasSuffix(c.Addr, ":0")
	for _, l := range []struct {
		addr *string
		def  string
	}{{&c.DNSAddr, "127.0.0.1:5353"}, {&c.GatewayAddr, "127.0.0.1:8080"}, {&c.GatewayTLSAddr, "127.0.0.1:8443"}} {
		if *l.addr == "" {
			*l.addr = l.def
			if free {
				*l.addr = "127.0.0.1:0"
			}
		}
	}
	if c.Domain == "" {
		c.Domain = "goldenpathidp.io"
	}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Getenv == nil {
		c.Getenv = os.Getenv
	}
}

// App is a running goldenpath.
type App struct {
	cfg        Config
	log        *slog.Logger
	Store      store.Store
	Vault      *secrets.Vault
	Auth       *auth.Service
	Forge      *forge.Forge
	Platform   *forge.Repo
	Registry   *registry.Registry
	Objects    *objectstore.Store
	Changes    *change.Service
	Requests   *request.Service
	Reconciler *reconcile.Reconciler
	Catalog    *catalog.Catalog
	Scaffolder *scaffolder.Manager
	DNS        *dns.Server      // nil when disabled
	Gateway    *gateway.Gateway // nil when disabled

	edge     edgeRuntime
	delivery deliveryRuntime
	// renderApps renders the apps' overlays into the generated tree (set by the delivery wiring).
	renderApps                func(ctx context.Context, st *EdgeState, apps []appInfo, edgeFiles map[string][]byte) (map[string][]byte, error)
	gatewayURL, gatewayTLSURL string

	changeRouter *changeRouter
	routes       []string // what the main listener serves (Routes)

	// apiHandler is the main listener's handler, for http:backstage:request (selfapi.go).
	apiHandler atomic.Pointer[http.ServeMux]

	// AdminToken is set when this start created the admin user.
	AdminToken string

	url, s3url string
	servers    []*http.Server
	cancel     context.CancelFunc
	wg         sync.WaitGroup
	closeOnce  sync.Once
	mainMu     sync.Mutex // goldenpath's own commits to main of the platform repository take turns
	closers    []func() error
}

// URL is the base URL of the API, git and registry listener.
func (a *App) URL() string { return a.url }

// loopbackURL reports whether an http://host:port URL listens on loopback only.
func loopbackURL(u string) bool {
	host, _, err := net.SplitHostPort(strings.TrimPrefix(u, "http://"))
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback() || host == "localhost"
}

// S3URL is the base URL of the S3 listener.
func (a *App) S3URL() string { return a.s3url }

// DataDir is the data directory in use.
func (a *App) DataDir() string { return a.cfg.DataDir }

// Start opens the data directory and starts everything. It returns once every listener accepts
// connections; Close stops it.
func Start(ctx context.Context, cfg Config) (_ *App, err error) {
	cfg.defaults()
	a := &App{cfg: cfg, log: cfg.Logger}
	defer func() {
		if err != nil {
			a.Close() // what started so far; `return nil, err` must not leave it running
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data directory %s: %w", cfg.DataDir, err)
	}
	unlock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, unlock) // first in, so released last
	mainLn, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s (is another goldenpath running? use --addr): %w", cfg.Addr, err)
	}
	a.closers = append(a.closers, func() error { mainLn.Close(); return nil })
	s3Ln, err := net.Listen("tcp", cfg.S3Addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s for S3 (use --s3-addr): %w", cfg.S3Addr, err)
	}
	a.closers = append(a.closers, func() error { s3Ln.Close(); return nil })
	a.url, a.s3url = "http://"+mainLn.Addr().String(), "http://"+s3Ln.Addr().String()

	if err := a.open(ctx, mainLn.Addr().String()); err != nil {
		return nil, err
	}
	if err := a.seed(ctx); err != nil {
		return nil, err
	}
	if err := a.Changes.Recover(ctx); err != nil {
		return nil, fmt.Errorf("recovering change requests: %w", err)
	}
	if err := a.seedTemplates(ctx); err != nil {
		return nil, fmt.Errorf("seeding the built-in templates: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.cancel = cancel
	if err := a.startEdge(runCtx); err != nil {
		return nil, err
	}
	a.serve(mainLn, a.mainHandler())
	a.serve(s3Ln, a.Objects)
	a.wg.Add(6)
	go func() {
		defer a.wg.Done()
		if err := a.Reconciler.Run(runCtx); err != nil {
			a.log.Error("reconciler stopped", "err", err)
		}
	}()
	go func() {
		defer a.wg.Done()
		if err := a.Scaffolder.Run(runCtx); err != nil {
			a.log.Error("scaffolder stopped", "err", err)
		}
	}()
	go func() {
		defer a.wg.Done()
		a.syncEntities(runCtx, time.Second)
	}()
	go func() {
		defer a.wg.Done()
		a.edgeLoop(runCtx)
	}()
	go func() {
		defer a.wg.Done()
		_ = a.delivery.watcher.Run(runCtx)
	}()
	go func() {
		defer a.wg.Done()
		_ = a.delivery.watcher.Poll(runCtx, a.pollInterval(ctx))
	}()
	return a, nil
}

// open builds every component over the data directory.
func (a *App) open(ctx context.Context, host string) error {
	dir := a.cfg.DataDir
	st, err := sqlite.Open(ctx, filepath.Join(dir, "goldenpath.db"))
	if err != nil {
		return err
	}
	a.Store = st
	a.closers = append(a.closers, st.Close)
	key, err := secrets.LoadKey(filepath.Join(dir, "secret.key"))
	if err != nil {
		return err
	}
	if a.Vault, err = secrets.New(key, st); err != nil {
		return err
	}
	a.Auth = auth.New(st)
	if a.Forge, err = forge.New(filepath.Join(dir, "repos"), forge.Options{
		Authorize: a.authorizeGit, BeforePush: a.beforePush, CheckPush: a.checkAppPush, OnPush: a.onPush, Logger: a.log,
	}); err != nil {
		return err
	}
	if a.Registry, err = registry.New(filepath.Join(dir, "registry"), registry.Options{
		Authorize: a.authorizeRegistry, Logger: a.log, OnPush: a.onRegistryPush,
	}); err != nil {
		return err
	}
	s3admin, err := s3AdminKey(a.cfg.Getenv, a.s3url)
	if err != nil {
		return err
	}
	if s3admin != nil {
		a.log.Warn("S3 admin key enabled: it may use and create every bucket (for conformance runs only)", "access_key_id", s3admin.AccessKeyID, "env", S3AdminKeyEnv)
	}
	if a.Objects, err = objectstore.New(filepath.Join(dir, "objects"), objectstore.Options{
		Region: a.cfg.Region, Credentials: &local.Keys{Vault: a.Vault, Admin: s3admin}, Logger: a.log,
	}); err != nil {
		return err
	}
	a.closers = append(a.closers, a.Objects.Close)
	if err := a.createPlatformRepo(ctx); err != nil {
		return fmt.Errorf("creating the platform repository: %w", err)
	}
	if a.Platform, err = a.Forge.Repo(PlatformRepo); err != nil {
		return err
	}
	installation, err := installationID(ctx, st)
	if err != nil {
		return err
	}
	a.Reconciler = reconcile.New(reconcile.Options{
		Repo: a.Platform, Store: st, Logger: a.log, Workers: a.cfg.Workers, Resync: a.cfg.Resync, StepHook: a.cfg.StepHook,
		Backends: reconcile.Backends{platform.BackendLocal: {
			contract.ECR:    &local.ECR{Registry: a.Registry, Host: host},
			contract.S3:     &local.S3{Store: a.Objects, Vault: a.Vault, Endpoint: a.s3url, Region: a.cfg.Region},
			contract.Secret: &local.Secret{Vault: a.Vault},
			contract.RDS:    &local.RDS{Vault: a.Vault, Getenv: a.cfg.Getenv, Installation: installation},
			contract.EKS:    local.EKS{},
		}, platform.BackendAWS: awsprov.Provisioners()},
	})
	var req *request.Service
	a.Changes = change.New(change.Options{
		Repo: a.Platform, Store: st, Describe: a.Reconciler.Describe, Logger: a.log.With("component", "change"),
		FileChecks: []change.FileCheck{{Name: "templates", Applies: scaffolder.IsTemplatePath, Check: a.checkTemplate}},
		PathOwner:  a.overlayOwner,
		Hooks: change.Hooks{
			Merged: func(ctx context.Context, c store.Change) {
				req.ChangeMerged(ctx, c)
				a.Reconciler.Notify()
				a.onPlatformMerged(ctx, c)
				a.KickEdge()
			},
			Closed:   func(ctx context.Context, c store.Change) { req.ChangeClosed(ctx, c) },
			Reviewed: func(ctx context.Context, c store.Change, r store.Review) { req.ChangeReviewed(ctx, c, r) },
		},
	})
	req = request.New(a.Platform, a.Changes, st)
	a.Requests = req
	a.changeRouter = &changeRouter{platform: a.Changes, forge: a.Forge, store: st, log: a.log.With("component", "change")}
	if err := a.openDelivery(ctx); err != nil {
		return err
	}
	if a.Catalog, err = catalog.OpenWith(ctx, filepath.Join(dir, "catalog.db"), a.readForgeFile, a.log, catalog.Options{Owner: a.catalogOwner}); err != nil {
		return err
	}
	a.closers = append(a.closers, a.Catalog.Close)
	return a.openScaffolder()
}

func (a *App) openScaffolder() error {
	engine := expr.New(expr.Options{})
	registry, err := scaffold.NewRegistry(actions.All(actions.Deps{
		Engine: engine, Remote: forgeRemote{a}, Catalog: scaffoldCatalog{a}, Requests: scaffoldRequests{a},
		API: selfAPI{a}, Environments: a.environmentNames,
		Publisher: &actions.Publisher{Forge: a.Forge, Changes: scaffoldChanges{a}, BaseURL: a.url,
			Published: func(ctx context.Context, repo string) { a.onPush(ctx, forge.PushEvent{Repo: repo}) }},
	})...)
	if err != nil {
		return err
	}
	a.Scaffolder = scaffolder.New(scaffolder.Options{
		Store: a.Store, Vault: a.Vault, Forge: a.Forge, Templates: &scaffolder.RepoTemplates{Repo: a.Platform, Forge: a.Forge, Registered: registeredTemplates{a}},
		Runner: &scaffold.Runner{Actions: registry, Engine: engine}, Users: scaffoldUsers{a},
		Dir: filepath.Join(a.cfg.DataDir, "tasks"), Logger: a.log,
	})
	return nil
}

func (a *App) mainHandler() http.Handler {
	api := &rest.Server{
		Auth: a.Auth, Users: a.Auth, Store: a.Store, Changes: a.changeRouter, Requests: a.Requests, Vault: a.Vault,
		Status: a.Reconciler, Edge: edgeAPI{a}, Apps: appsAPI{a}, Logger: a.log.With("component", "rest"), Version: a.cfg.Version,
		Endpoints: map[string]string{
			"api":      a.url + "/api/v1",
			"git":      a.url + "/git/" + PlatformRepo + ".git",
			"registry": a.url[len("http://"):],
			"s3":       a.s3url,
		},
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", api.Handler())
	mux.Handle("/api/scaffolder/", a.Scaffolder.Handler(a.Auth))
	mux.Handle("/api/catalog/", a.catalogHandler())
	mux.Handle("/webhooks/", a.delivery.watcher.Handler())
	if a.cfg.Getenv("GOLDENPATH_WEBHOOK_SECRET") == "" && !loopbackURL(a.url) {
		a.log.Warn("registry webhooks are refused: the listener is reachable beyond loopback and no secret is set; set GOLDENPATH_WEBHOOK_SECRET", "addr", a.url)
	}
	portal, portalRoutes := a.portalHandler()
	mux.Handle("/", portal)
	mux.Handle("/git/", a.Forge)
	mux.Handle("/v2/", a.Registry)
	a.apiHandler.Store(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintln(w, "ok")
	})
	a.routes = slices.Concat(api.Routes(), a.Scaffolder.Routes(), a.Catalog.Routes(), a.delivery.watcher.Routes(), portalRoutes,
		[]string{"GET /healthz"})
	return mux
}

// Routes lists every endpoint the main listener serves by method and path ("GET /api/v1/whoami"), besides
// git's smart HTTP under /git/ and the registry under /v2/: what the security matrix's test walks.
func (a *App) Routes() []string { return a.routes }

func (a *App) serve(ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(a.log.Handler(), slog.LevelWarn)}
	a.servers = append(a.servers, srv)
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("server stopped", "addr", ln.Addr(), "err", err)
		}
	}()
}

// Close stops the reconciler and the servers (letting requests in flight finish for a few seconds) and
// closes the store. It is safe to call more than once.
func (a *App) Close() error {
	var errs []error
	a.closeOnce.Do(func() {
		if a.cancel != nil {
			a.cancel()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, s := range a.servers {
			if err := s.Shutdown(ctx); err != nil {
				errs = append(errs, err)
			}
		}
		a.wg.Wait()
		for i := len(a.closers) - 1; i >= 0; i-- {
			if err := a.closers[i](); err != nil {
				errs = append(errs, err)
			}
		}
	})
	return errors.Join(errs...)
}
