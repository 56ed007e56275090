package localrun

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/sandbox"
)

const logName = "output.log"

// release is what a process runs: the spec and the image it was pinned to.
type release struct {
	spec   App
	digest string
	binary string
}

// app is the supervisor's record of one app. op serializes the operations that start or stop its
// processes (deploy, restart, undeploy), which can take seconds; mu guards the fields below it and
// is held only briefly, so Status never waits for a deploy.
type app struct {
	key Key
	log *logFile

	quit     chan struct{} // closed when the app is undeployed or the supervisor closed: ends restarts
	quitOnce sync.Once

	op      sync.Mutex
	removed bool          // guarded by op
	jail    *sandbox.Jail // guarded by op; nil until the first deploy makes it

	mu       sync.Mutex
	rel      release
	proc     *process // nil when nothing runs
	since    time.Time
	restarts int
	lastErr  string
	backoff  time.Duration // the next restart delay
}

// newApp makes the record of an app whose log is in dir.
func newApp(k Key, dir string, logLimit int64) (*app, error) {
	a := &app{key: k, quit: make(chan struct{})}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("app %s: %w", k, err)
	}
	log, err := openLogFile(filepath.Join(dir, logName), logLimit)
	if err != nil {
		return nil, fmt.Errorf("app %s: %w", k, err)
	}
	a.log = log
	return a, nil
}

// runs says whether spec, pinned to digest, is what runs already (or is being restarted).
func (a *app) runs(spec App, digest string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.proc != nil && a.rel.digest == digest && a.rel.spec.sameRun(spec)
}

// replace records a newly deployed process and returns the one it replaces.
func (a *app) replace(r release, p *process) *process {
	a.mu.Lock()
	defer a.mu.Unlock()
	old := a.proc
	a.rel, a.proc, a.since = r, p, time.Now()
	a.restarts, a.lastErr, a.backoff = 0, "", 0
	return old
}

func (a *app) current() *process {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.proc
}

func (a *app) setError(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.lastErr = err.Error()
}

func (a *app) state() State {
	a.mu.Lock()
	defer a.mu.Unlock()
	st := State{Key: a.key, Image: a.rel.spec.Image, Digest: a.rel.digest, Since: a.since, Restarts: a.restarts, LastError: a.lastErr}
	if a.proc != nil {
		select {
		case <-a.proc.done:
		default:
			st.PID, st.Upstream = a.proc.pid(), a.proc.upstream
		}
	}
	return st
}
