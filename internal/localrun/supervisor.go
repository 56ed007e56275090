// Package localrun runs deployed apps as supervised local processes, for `goldenpath up` when no
// Kubernetes cluster is configured. Deploying an image extracts its program, starts it on a free
// loopback port, waits until it is healthy, reports the new upstream (the caller points the dev
// gateway at it) and only then stops the previous process: a zero-downtime swap. Crashed processes
// are restarted with backoff. Every process runs confined by package sandbox: it reaches its own working
// directory and the system's shared files, nothing of goldenpath's. Logs live under goldenpath's data
// directory; binaries and working directories live outside it, in a directory made for each Supervisor.
package localrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/goldenpathidp/goldenpath/internal/sandbox"
)

// Defaults for the zero values of Options.
const (
	DefaultHealthTimeout   = 30 * time.Second
	DefaultStopGrace       = 10 * time.Second
	DefaultDrainDelay      = 200 * time.Millisecond
	DefaultLogLimit        = 256 << 10
	DefaultRestartDelay    = 500 * time.Millisecond
	DefaultMaxRestartDelay = 30 * time.Second
)

// Options configures a Supervisor.
type Options struct {
	// Dir holds the apps' logs. Apps cannot reach it.
	Dir string
	// RunDir is where the Supervisor makes its directory for the apps' binaries and working directories
	// (removed by Close); "" means the system's temporary directory. It must be outside Dir and
	// Sandbox.Private, and the file system must allow executing programs from it.
	RunDir string
	// Sandbox selects how apps are confined; the zero value uses every mechanism available. Dir is added
	// to its Private directories.
	Sandbox sandbox.Options
	// Auth authenticates image pulls; nil means anonymous.
	Auth authn.Authenticator
	// OnReady is called each time an app's new process is healthy, with the URL to send its traffic
	// to, before the previous process is stopped; after a crash restart too (a restarted process
	// has a new port). It runs while the app is locked: it must not call Deploy or Undeploy for the
	// same app.
	OnReady func(app App, upstream string)
	// OnCrash is called when a running process exits without being asked to, before it is restarted.
	OnCrash func(app App, err error)
	Logger  *slog.Logger
	// HealthTimeout bounds the wait for a new process to be healthy.
	HealthTimeout time.Duration
	// StopGrace is how long a process has to exit after SIGTERM before it is killed.
	StopGrace time.Duration
	// DrainDelay is the wait between OnReady and stopping the previous process, for requests the
	// gateway routed to it just before the switch to reach it.
	DrainDelay time.Duration
	// LogLimit is how many bytes of each app's output are kept.
	LogLimit int64
	// RestartDelay is the wait before the first restart after a crash; it doubles with each crash
	// that follows quickly, up to MaxRestartDelay.
	RestartDelay    time.Duration
	MaxRestartDelay time.Duration
}

// Supervisor runs apps as local processes. It is safe for concurrent use; operations on one app
// are serialized, different apps proceed in parallel.
type Supervisor struct {
	dir           string
	runDir        string // the apps' jails, one per app
	box           *sandbox.Sandbox
	auth          authn.Authenticator
	onReady       func(App, string)
	onCrash       func(App, error)
	log           *slog.Logger
	healthTimeout time.Duration
	stopGrace     time.Duration
	drainDelay    time.Duration
	logLimit      int64
	restartDelay  time.Duration
	maxDelay      time.Duration
	client        *http.Client // health checks

	mu     sync.Mutex
	apps   map[Key]*app
	closed bool
	wg     sync.WaitGroup // crash watchers and restarters
}

// New makes a Supervisor keeping its files under opts.Dir.
func New(opts Options) (*Supervisor, error) {
	if opts.Dir == "" {
		return nil, errors.New("Dir is empty: it must be the directory for app binaries and logs")
	}
	if min(opts.HealthTimeout, opts.StopGrace, opts.DrainDelay, opts.RestartDelay, opts.MaxRestartDelay) < 0 || opts.LogLimit < 0 {
		return nil, errors.New("HealthTimeout, StopGrace, DrainDelay, LogLimit, RestartDelay and MaxRestartDelay must not be negative (0 means the default)")
	}
	// Absolute, because processes start in their own working directory and the binary path must
	// still resolve there.
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("Dir %q: %w", opts.Dir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	sbOpts := opts.Sandbox
	sbOpts.Private = append(slices.Clone(sbOpts.Private), dir)
	box, err := sandbox.New(sbOpts)
	if err != nil {
		return nil, fmt.Errorf("Sandbox: %w", err)
	}
	runDir, err := makeRunDir(opts.RunDir, sbOpts.Private)
	if err != nil {
		return nil, err
	}
	s := &Supervisor{
		dir: dir, runDir: runDir, box: box, auth: opts.Auth, onReady: opts.OnReady, onCrash: opts.OnCrash, log: opts.Logger,
		healthTimeout: orDefault(opts.HealthTimeout, DefaultHealthTimeout),
		stopGrace:     orDefault(opts.StopGrace, DefaultStopGrace),
		drainDelay:    orDefault(opts.DrainDelay, DefaultDrainDelay),
		logLimit:      orDefault(opts.LogLimit, DefaultLogLimit),
		restartDelay:  orDefault(opts.RestartDelay, DefaultRestartDelay),
		maxDelay:      orDefault(opts.MaxRestartDelay, DefaultMaxRestartDelay),
		apps:          map[Key]*app{},
	}
	s.maxDelay = max(s.maxDelay, s.restartDelay)
	if s.auth == nil {
		s.auth = authn.Anonymous
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s.log = s.log.With("component", "localrun")
	if err := box.Err(); err != nil {
		s.log.Error("apps cannot run: no confinement is available", "error", err)
	} else {
		s.log.Info("apps run confined", "sandbox", box.String(), "dir", runDir)
	}
	// No keep-alives: a health check must not hold connections to processes about to be replaced.
	s.client = &http.Client{
		Transport:     &http.Transport{DisableKeepAlives: true, Proxy: nil},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return s, nil
}

// makeRunDir makes a fresh directory for the apps' jails under parent (the temporary directory by
// default), outside goldenpath's private directories. Others may pass through it (0711) but not list it:
// an app running as its own user must reach its own jail.
func makeRunDir(parent string, private []string) (string, error) {
	if parent == "" {
		parent = os.TempDir()
	}
	parent, err := filepath.Abs(parent)
	if err != nil {
		return "", fmt.Errorf("RunDir %q: %w", parent, err)
	}
	real, err := filepath.EvalSymlinks(parent)
	if err != nil {
		return "", fmt.Errorf("RunDir: %w", err)
	}
	for _, p := range private {
		if p, err = filepath.Abs(p); err != nil {
			return "", fmt.Errorf("RunDir: %w", err)
		}
		if rp, err := filepath.EvalSymlinks(p); err == nil && within(real, rp) {
			return "", fmt.Errorf("RunDir %s is inside %s: the apps' directories must be outside goldenpath's data", parent, p)
		}
	}
	dir, err := os.MkdirTemp(real, "goldenpath-apps-")
	if err != nil {
		return "", fmt.Errorf("RunDir: %w", err)
	}
	if err := os.Chmod(dir, 0o711); err != nil {
		os.Remove(dir)
		return "", fmt.Errorf("RunDir: %w", err)
	}
	return dir, nil
}

// within says whether path is dir or beneath it.
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && (rel == "." || filepath.IsLocal(rel))
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Deploy makes spec run: it pulls the image, starts the new process, waits for it to be healthy,
// calls OnReady with its upstream and stops the previous process. If the new process fails, the
// previous one keeps running and the error (with the new process's last output) is returned and
// recorded in State.LastError. Deploying what already runs (same spec, same image digest) does
// nothing. The process outlives ctx, which only bounds the deploy itself.
func (s *Supervisor) Deploy(ctx context.Context, spec App) error {
	if err := spec.Validate(); err != nil {
		return err
	}
	spec = spec.clone()
	a, err := s.lockApp(spec.Key())
	if err != nil {
		return err
	}
	defer a.op.Unlock()
	if err := s.deployLocked(ctx, a, spec); err != nil {
		a.setError(err)
		s.log.Warn("deploy failed", "app", spec, "error", err)
		return err
	}
	return nil
}

func (s *Supervisor) deployLocked(ctx context.Context, a *app, spec App) error {
	if a.jail == nil {
		// First deploy since the app's record was made: refused here when apps cannot be confined.
		j, err := s.box.NewJail(filepath.Join(s.runDir, spec.Environment+"."+spec.Name))
		if err != nil {
			return fmt.Errorf("app %s: %w", spec.Key(), err)
		}
		a.jail = j
	}
	digest, err := s.resolve(ctx, spec.Image)
	if err != nil {
		return fmt.Errorf("app %s: %w", spec.Key(), err)
	}
	if a.runs(spec, digest.DigestStr()) {
		return nil
	}
	start := time.Now()
	bin, err := s.binaryFor(ctx, a, digest)
	if err != nil {
		return err
	}
	p, err := s.start(ctx, a, spec, bin)
	if err != nil {
		return err
	}
	s.swap(ctx, a, release{spec: spec, digest: digest.DigestStr(), binary: bin}, p)
	s.log.Info("deployed", "app", spec, "digest", digest.DigestStr(), "pid", p.pid(), "upstream", p.upstream,
		"duration", time.Since(start).Round(time.Millisecond))
	return nil
}

// swap makes p the app's process: record it, hand traffic to it, then stop the one it replaces.
func (s *Supervisor) swap(ctx context.Context, a *app, r release, p *process) {
	old := a.replace(r, p)
	if s.onReady != nil {
		s.onReady(r.spec, p.upstream)
	}
	s.watch(a, p)
	if old != nil {
		s.drain(ctx, old)
		s.stop(ctx, old)
	}
	s.pruneBinaries(a, r.binary)
}

// drain gives requests already on their way to the old process time to arrive before it stops
// accepting connections.
func (s *Supervisor) drain(ctx context.Context, old *process) {
	timer := time.NewTimer(s.drainDelay)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-old.done:
	case <-ctx.Done():
	}
}

// lockApp returns the app's record, locked for an operation, creating it on first use.
func (s *Supervisor) lockApp(k Key) (*app, error) {
	for {
		a, err := s.appFor(k)
		if err != nil {
			return nil, err
		}
		a.op.Lock()
		if !a.removed {
			return a, nil
		}
		a.op.Unlock() // undeployed while we waited: start over with a fresh record
	}
}

func (s *Supervisor) appFor(k Key) (*app, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if a, ok := s.apps[k]; ok {
		return a, nil
	}
	dir, err := s.appDir(k)
	if err != nil {
		return nil, err
	}
	a, err := newApp(k, dir, s.logLimit)
	if err != nil {
		return nil, err
	}
	s.apps[k] = a
	return a, nil
}

// appDir is where an app's files live: <Dir>/<environment>/<name>, for a key of plain names only (DNS
// labels), so no key reaches outside its own directory.
func (s *Supervisor) appDir(k Key) (string, error) {
	if !labelPattern.MatchString(k.Environment) || !labelPattern.MatchString(k.Name) {
		return "", fmt.Errorf("app %q in environment %q: both must be DNS labels (lowercase letters, digits and -, at most 63)", k.Name, k.Environment)
	}
	return filepath.Join(s.dir, k.Environment, k.Name), nil
}

// Undeploy stops the app's process (gracefully, unless ctx ends first), removes its binaries and working
// directory and forgets the app. Its log stays on disk and can still be read with Logs. Undeploying an
// unknown app does nothing.
func (s *Supervisor) Undeploy(ctx context.Context, k Key) error {
	s.mu.Lock()
	a, ok := s.apps[k]
	delete(s.apps, k)
	s.mu.Unlock()
	if !ok {
		return nil
	}
	s.shutdown(ctx, a)
	s.log.Info("undeployed", "app", k.String())
	return nil
}

// shutdown ends an app for good: no more restarts, process stopped, log closed, jail removed.
func (s *Supervisor) shutdown(ctx context.Context, a *app) {
	a.quitOnce.Do(func() { close(a.quit) })
	a.op.Lock()
	defer a.op.Unlock()
	a.removed = true
	if p := a.current(); p != nil {
		s.stop(ctx, p)
	}
	if err := a.log.Close(); err != nil {
		s.log.Warn("writing the app log", "app", a.key.String(), "error", err)
	}
	if a.jail != nil {
		if err := os.RemoveAll(a.jail.Dir); err != nil {
			s.log.Warn("removing the app's directory", "app", a.key.String(), "error", err)
		}
		a.jail.Release()
		a.jail = nil
	}
}

// Status is what runs for the app, if the supervisor knows it.
func (s *Supervisor) Status(k Key) (State, bool) {
	s.mu.Lock()
	a, ok := s.apps[k]
	s.mu.Unlock()
	if !ok {
		return State{}, false
	}
	return a.state(), true
}

// List is the state of every app the supervisor knows.
func (s *Supervisor) List() []State {
	s.mu.Lock()
	apps := make([]*app, 0, len(s.apps))
	for _, a := range s.apps {
		apps = append(apps, a)
	}
	s.mu.Unlock()
	out := make([]State, 0, len(apps))
	for _, a := range apps {
		out = append(out, a.state())
	}
	return out
}

// Logs is the app's recent output (at most LogLimit bytes, whole lines), with a line from the
// supervisor before each process start. It is kept after Undeploy.
func (s *Supervisor) Logs(k Key) ([]byte, error) {
	s.mu.Lock()
	a, ok := s.apps[k]
	s.mu.Unlock()
	if ok {
		return a.log.Tail()
	}
	dir, err := s.appDir(k)
	if err != nil {
		return nil, err
	}
	out, err := lastBytes(filepath.Join(dir, logName), s.logLimit)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("app %s: %w", k, ErrNotDeployed)
	}
	return out, err
}

// Close stops every app (in parallel, each with its grace period) and waits for the supervisor's
// goroutines. Deploy fails with ErrClosed afterwards.
func (s *Supervisor) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	apps := s.apps
	s.apps = map[Key]*app{}
	s.mu.Unlock()

	var wg sync.WaitGroup
	for _, a := range apps {
		wg.Go(func() { s.shutdown(context.Background(), a) })
	}
	wg.Wait()
	s.wg.Wait()
	return os.RemoveAll(s.runDir)
}
