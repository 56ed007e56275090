// Package reconcile makes observed state follow desired state. It reads the contracts on main of the
// platform repository (on every merge and on a periodic resync), compares them with the requests it has
// provisioned, and drives provisioners through a durable work queue in the store: one item per request,
// retried with backoff on transient errors, failed clearly otherwise, resumed after a crash. Provisioners
// look up before they create and tag everything with the request's ID, so a step repeated after a crash
// never duplicates a resource.
package reconcile

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/contract"
	"github.com/goldenpathidp/goldenpath/internal/forge"
	"github.com/goldenpathidp/goldenpath/internal/plan"
	"github.com/goldenpathidp/goldenpath/internal/platform"
	"github.com/goldenpathidp/goldenpath/internal/store"
)

// Recorder is how a provisioner reports progress. Step marks a step boundary (and records it on the
// request's timeline); a provisioner must stop when it returns an error.
type Recorder interface {
	Step(ctx context.Context, name string) error
	Event(ctx context.Context, reason, message string)
}

// Outputs are the non-secret results of provisioning (endpoint, names, ...). Secret results are written
// by the provisioner to the vault under "request/<id>/".
type Outputs map[string]string

// Provisioner provisions one contract kind on one backend.
type Provisioner interface {
	// Describe lists the concrete resources r maps to, without side effects (for plans).
	Describe(r *contract.Request, cfg *platform.Config) []plan.Resource
	// Apply creates or updates the resources of r; it must be idempotent.
	Apply(ctx context.Context, r *contract.Request, cfg *platform.Config, rec Recorder) (Outputs, error)
	// Delete removes the resources of r; deleting what does not exist succeeds.
	Delete(ctx context.Context, r *contract.Request, cfg *platform.Config, rec Recorder) error
	// ConfigKey returns the configuration that affects r beyond its contract (e.g. a server URL); when it
	// changes, r is applied again.
	ConfigKey(r *contract.Request, cfg *platform.Config) string
}

// Backends maps a backend name (platform.BackendLocal, ...) to the provisioner of each kind.
type Backends map[string]map[contract.Kind]Provisioner

// Repo is what the reconciler reads from the platform repository.
type Repo interface {
	ResolveRef(ctx context.Context, ref string) (string, error)
	ReadFile(ctx context.Context, rev, path string) ([]byte, error)
	ReadTree(ctx context.Context, rev, prefix string) ([]forge.File, error)
}

// StepHook is called at every step boundary; tests use it to stop the process at a precise point.
type StepHook func(ctx context.Context, requestID contract.ID, action, step string) error

// Options configure a Reconciler.
type Options struct {
	Repo     Repo
	Store    store.Store
	Backends Backends
	Logger   *slog.Logger
	Workers  int           // default 8
	Resync   time.Duration // default 30s
	LeaseFor time.Duration // default 2m
	StepHook StepHook
}

// Reconciler is the loop.
type Reconciler struct {
	repo     Repo
	store    store.Store
	backends Backends
	log      *slog.Logger
	workers  int
	resync   time.Duration
	leaseFor time.Duration
	hook     StepHook
	owner    string
	now      func() time.Time

	syncReq chan struct{}
	wake    chan struct{}
	cfg     atomic.Pointer[platform.Config]
	syncMu  sync.Mutex
	synced  atomic.Int64 // number of completed syncs, for tests and benchmarks
}

// New returns a Reconciler.
func New(o Options) *Reconciler {
	r := &Reconciler{repo: o.Repo, store: o.Store, backends: o.Backends, log: o.Logger, workers: o.Workers,
		resync: o.Resync, leaseFor: o.LeaseFor, hook: o.StepHook, now: time.Now}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	r.log = r.log.With("component", "reconcile")
	if r.workers <= 0 {
		r.workers = 8
	}
	if r.resync <= 0 {
		r.resync = 30 * time.Second
	}
	if r.leaseFor <= 0 {
		r.leaseFor = 2 * time.Minute
	}
	id := make([]byte, 4)
	_, _ = rand.Read(id)
	r.owner = "reconciler-" + hex.EncodeToString(id)
	r.syncReq = make(chan struct{}, 1)
	r.wake = make(chan struct{}, r.workers)
	return r
}

// Notify asks for a sync soon (main changed).
func (r *Reconciler) Notify() {
	select {
	case r.syncReq <- struct{}{}:
	default:
	}
}

func (r *Reconciler) wakeWorkers() {
	for i := 0; i < r.workers; i++ {
		select {
		case r.wake <- struct{}{}:
		default:
			return
		}
	}
}

// Run syncs and works the queue until ctx ends. Leases left by an earlier process (which crashed or was
// killed) are released first: in this single-process mode nobody else can hold them.
func (r *Reconciler) Run(ctx context.Context) error {
	if err := r.store.ReleaseLeases(ctx); err != nil {
		return fmt.Errorf("releasing stale leases: %w", err)
	}
	// Read desired state before working the queue, so workers know the configuration.
	if err := r.Sync(ctx); err != nil && ctx.Err() == nil {
		r.log.Error("first sync failed", "err", err)
	}
	var wg sync.WaitGroup
	for i := 0; i < r.workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.work(ctx, fmt.Sprintf("%s/%d", r.owner, i))
		}()
	}
	r.syncLoop(ctx)
	wg.Wait()
	return nil
}

func (r *Reconciler) syncLoop(ctx context.Context) {
	t := time.NewTicker(r.resync)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.syncReq:
		case <-t.C:
		}
		if err := r.Sync(ctx); err != nil && ctx.Err() == nil {
			r.log.Error("sync failed", "err", err)
		}
	}
}

// Syncs returns how many syncs have completed.
func (r *Reconciler) Syncs() int64 { return r.synced.Load() }

// Config returns platform.yaml as of the last sync (nil before the first).
func (r *Reconciler) Config() *platform.Config { return r.cfg.Load() }

// Describe returns a plan.Describer over the backends configured in cfg.
func (r *Reconciler) Describe(cfg *platform.Config) plan.Describer {
	return func(req *contract.Request) []plan.Resource {
		if p := r.provisioner(cfg, req); p != nil {
			return p.Describe(req, cfg)
		}
		return nil
	}
}

func (r *Reconciler) provisioner(cfg *platform.Config, req *contract.Request) Provisioner {
	env, ok := cfg.Environment(req.Metadata.Environment)
	if !ok {
		return nil
	}
	return r.backends[env.Backend][req.Kind]
}

// Status is the reconciler's view of the platform repository, for the status endpoint.
type Status struct {
	MainSHA  string    `json:"mainSHA"`
	SyncedAt time.Time `json:"syncedAt"`
	Problems []string  `json:"problems,omitempty"` // files on main that could not be read
	Queue    int       `json:"queue"`
}

const statusKey = "reconcile.status"

// LastStatus reads the status written by the last sync.
func (r *Reconciler) LastStatus(ctx context.Context) (Status, error) {
	var st Status
	raw, err := r.store.GetMeta(ctx, statusKey)
	if errors.Is(err, store.ErrNotFound) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	_ = json.Unmarshal([]byte(raw), &st)
	st.Queue, err = r.store.QueueLength(ctx)
	return st, err
}
