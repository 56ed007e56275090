package localrun_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/localrun"
)

// fixture is a Supervisor wired the way goldenpath wires it: OnReady points a reverse proxy (the
// dev gateway's stand-in) at the new upstream.
type fixture struct {
	sup     *localrun.Supervisor
	dir     string
	gateway *httptest.Server
	logs    *syncBuffer

	upstream atomic.Pointer[url.URL]
	mu       sync.Mutex
	ready    []string // upstreams reported, in order
	crashes  []error
}

func newFixture(t *testing.T, opts localrun.Options) *fixture {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	f := &fixture{dir: opts.Dir, logs: &syncBuffer{}}
	opts.Logger = slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts.OnReady = func(app localrun.App, upstream string) {
		u, err := url.Parse(upstream)
		if err != nil {
			t.Errorf("OnReady(%s): upstream %q: %v", app.Name, upstream, err)
			return
		}
		f.upstream.Store(u)
		f.mu.Lock()
		f.ready = append(f.ready, upstream)
		f.mu.Unlock()
	}
	opts.OnCrash = func(app localrun.App, err error) {
		f.mu.Lock()
		f.crashes = append(f.crashes, err)
		f.mu.Unlock()
	}
	sup, err := localrun.New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f.sup = sup
	t.Cleanup(func() { sup.Close() })
	f.gateway = httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(f.upstream.Load())
	}})
	t.Cleanup(f.gateway.Close)
	return f
}

func (f *fixture) readyCalls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.ready...)
}

func (f *fixture) crashCalls() []error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]error(nil), f.crashes...)
}

func (f *fixture) deploy(t *testing.T, app localrun.App) localrun.State {
	t.Helper()
	if err := f.sup.Deploy(context.Background(), app); err != nil {
		t.Fatalf("Deploy(%s): %v", app.Image, err)
	}
	st, ok := f.sup.Status(app.Key())
	if !ok {
		t.Fatalf("Status(%s): not found after Deploy", app.Key())
	}
	return st
}

// orders is the reference app at a version.
func orders(image, version string) localrun.App {
	return localrun.App{
		Name: "orders", Environment: "dev", Image: image, Port: 8080, Health: "/healthz",
		Env: map[string]string{"VERSION": version, "API_TOKEN": "tok-" + version + "-s3cret"}, Secrets: []string{"API_TOKEN"},
	}
}

// version asks the app at base for its version.
func version(base string) (string, error) {
	resp, err := http.Get(base + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET /: %s", resp.Status)
	}
	var body struct{ Version string }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return "", err
	}
	return body.Version, nil
}

func alive(pid int) bool {
	return pid > 0 && syscall.Kill(pid, 0) == nil
}

// traffic sends requests through the gateway until stopped, like a user who must not notice a swap.
type traffic struct {
	ok, failed atomic.Int64
	last       atomic.Value // string: the last version answered
	firstErr   atomic.Value // string
	stop       chan struct{}
	done       chan struct{}
}

func startTraffic(base string) *traffic {
	tr := &traffic{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(tr.done)
		for {
			select {
			case <-tr.stop:
				return
			default:
			}
			v, err := version(base)
			if err != nil {
				tr.failed.Add(1)
				tr.firstErr.CompareAndSwap(nil, err.Error())
				continue
			}
			tr.ok.Add(1)
			tr.last.Store(v)
		}
	}()
	return tr
}

func (tr *traffic) finish() {
	close(tr.stop)
	<-tr.done
}

func TestDeploySwapsVersionsWithoutDowntime(t *testing.T) {
	f := newFixture(t, localrun.Options{})
	first := f.deploy(t, orders(images.v1, "v1"))
	if got := f.readyCalls(); len(got) != 1 || got[0] != first.Upstream {
		t.Fatalf("OnReady calls: got %v, want one with the upstream %s", got, first.Upstream)
	}
	if v, err := version(f.gateway.URL); err != nil || v != "v1" {
		t.Fatalf("version through the gateway: got %q (%v), want v1", v, err)
	}
	if first.PID == 0 || first.Image != images.v1 || !strings.HasPrefix(first.Digest, "sha256:") {
		t.Errorf("Status after deploy: got %+v, want a PID, image %s and its digest", first, images.v1)
	}

	tr := startTraffic(f.gateway.URL)
	waitFor(t, "traffic before the swap", 5*time.Second, func() bool { return tr.ok.Load() > 5 })
	start := time.Now()
	second := f.deploy(t, orders(images.v2, "v2"))
	t.Logf("swap to v2 took %s", time.Since(start))
	before := tr.ok.Load()
	waitFor(t, "traffic after the swap", 5*time.Second, func() bool { return tr.ok.Load() > before+5 })
	tr.finish()

	if n := tr.failed.Load(); n > 0 {
		t.Errorf("requests during the swap: %d failed (first: %v) of %d, want none", n, tr.firstErr.Load(), n+tr.ok.Load())
	}
	if got := tr.last.Load(); got != "v2" {
		t.Errorf("version after the swap: got %v, want v2", got)
	}
	if second.PID == first.PID || second.Upstream == first.Upstream || second.Image != images.v2 {
		t.Errorf("Status after the swap: got %+v, want a new process running %s", second, images.v2)
	}
	if alive(first.PID) {
		t.Errorf("v1 process %d: still running after the swap, want it stopped", first.PID)
	}

	t.Run("deploying what runs changes nothing", func(t *testing.T) {
		again := f.deploy(t, orders(images.v2, "v2"))
		if again.PID != second.PID || len(f.readyCalls()) != 2 {
			t.Errorf("redeploy: got PID %d and %d OnReady calls, want PID %d and 2 calls", again.PID, len(f.readyCalls()), second.PID)
		}
	})
	t.Run("a changed environment is a new process", func(t *testing.T) {
		changed := f.deploy(t, orders(images.v2, "v2.1"))
		if v, err := version(f.gateway.URL); err != nil || v != "v2.1" || changed.PID == second.PID {
			t.Errorf("after changing VERSION: got version %q (%v) from PID %d, want v2.1 from a new process", v, err, changed.PID)
		}
	})
	t.Run("secrets stay out of the supervisor's log", func(t *testing.T) {
		logs := f.logs.String()
		if strings.Contains(logs, "s3cret") {
			t.Errorf("supervisor log shows a secret value:\n%s", logs)
		}
		if !strings.Contains(logs, "API_TOKEN=[redacted]") || !strings.Contains(logs, "VERSION=v2") {
			t.Errorf("supervisor log: want the env with API_TOKEN redacted and VERSION shown, got:\n%s", logs)
		}
	})
}

func TestCrashedProcessIsRestarted(t *testing.T) {
	f := newFixture(t, localrun.Options{RestartDelay: 50 * time.Millisecond})
	app := orders(images.v1, "v1")
	first := f.deploy(t, app)
	if err := syscall.Kill(first.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var st localrun.State
	waitFor(t, "the restart", 10*time.Second, func() bool {
		st, _ = f.sup.Status(app.Key())
		return st.PID != 0 && st.PID != first.PID
	})
	if st.Restarts != 1 || !strings.Contains(st.LastError, "killed") {
		t.Errorf("Status after a crash: got restarts %d and last error %q, want 1 and the kill", st.Restarts, st.LastError)
	}
	if crashes := f.crashCalls(); len(crashes) != 1 || !strings.Contains(crashes[0].Error(), "killed") {
		t.Errorf("OnCrash calls: got %v, want one saying it was killed", crashes)
	}
	if ready := f.readyCalls(); len(ready) != 2 || ready[1] != st.Upstream {
		t.Errorf("OnReady calls: got %v, want a second one with the new upstream %s", ready, st.Upstream)
	}
	if v, err := version(f.gateway.URL); err != nil || v != "v1" {
		t.Errorf("version after the restart: got %q (%v), want v1", v, err)
	}
}

func TestFailedDeployKeepsThePreviousVersion(t *testing.T) {
	f := newFixture(t, localrun.Options{HealthTimeout: time.Second})
	first := f.deploy(t, orders(images.v1, "v1"))

	broken := orders(images.v2, "v2")
	broken.Health = "/not-there"
	err := f.sup.Deploy(context.Background(), broken)
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("Deploy with a failing health check: got %v, want an error quoting the 404", err)
	}
	st, _ := f.sup.Status(broken.Key())
	if st.PID != first.PID || st.Image != images.v1 || st.LastError != err.Error() {
		t.Errorf("Status after the failed deploy: got %+v, want v1 still running (PID %d) and the error recorded", st, first.PID)
	}
	if v, err := version(f.gateway.URL); err != nil || v != "v1" {
		t.Errorf("version after the failed deploy: got %q (%v), want v1", v, err)
	}
	if n := len(f.readyCalls()); n != 1 {
		t.Errorf("OnReady calls: got %d, want 1 (the failed version must get no traffic)", n)
	}
}

func TestDeployErrors(t *testing.T) {
	// The default health timeout: what ends each wait below is a condition, not the clock, so a loaded
	// machine that starts apps slowly gives the same errors.
	f := newFixture(t, localrun.Options{})
	missing := orders(images.v1, "v1")
	missing.Image = strings.TrimSuffix(images.v1, ":v1") + ":no-such-tag"
	tests := []struct {
		name string
		app  localrun.App
		// stopWhen, when set, ends the deploy (by its context) once it holds.
		stopWhen func(localrun.App) bool
		want     []string // all in the error
	}{
		{
			name: "health check never passes",
			app:  func() localrun.App { a := orders(images.v1, "v1"); a.Name = "slow"; a.Health = "/nope"; return a }(),
			// The app logs each request after answering it, and the supervisor sends the next check only
			// after the previous one: a second logged check means the first one's 404 reached it.
			stopWhen: func(a localrun.App) bool {
				logs, err := f.sup.Logs(a.Key())
				return err == nil && bytes.Count(logs, []byte(`"path":"/nope"`)) >= 2
			},
			want: []string{"waiting for health", "GET /nope answered 404", "last output", `"msg":"listening"`},
		},
		{
			name: "process exits at start",
			app:  func() localrun.App { a := orders(images.crash, "v1"); a.Name = "crash"; return a }(),
			want: []string{"exit status 3", "boom", "token=[redacted]"},
		},
		{name: "image not in the registry", app: missing, want: []string{"resolving", "no-such-tag"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.stopWhen != nil {
				go func() {
					for ctx.Err() == nil && !tt.stopWhen(tt.app) {
						time.Sleep(20 * time.Millisecond)
					}
					cancel()
				}()
			}
			err := f.sup.Deploy(ctx, tt.app)
			if err == nil {
				t.Fatal("Deploy: got no error")
			}
			t.Logf("error: %v", err)
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Deploy: got error %q, want it to contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("Deploy: error shows a secret value: %q", err)
			}
			if st, _ := f.sup.Status(tt.app.Key()); st.PID != 0 || st.LastError == "" {
				t.Errorf("Status: got %+v, want no process and the error recorded", st)
			}
		})
	}
}

// TestHealthTimeout: a health check that does not pass within HealthTimeout fails the deploy, naming the
// timeout and the check, whether the app had answered yet or not.
func TestHealthTimeout(t *testing.T) {
	f := newFixture(t, localrun.Options{HealthTimeout: 50 * time.Millisecond})
	app := orders(images.v1, "v1")
	app.Health = "/nope"
	err := f.sup.Deploy(context.Background(), app)
	if err == nil || !strings.Contains(err.Error(), "not healthy within 50ms") || !strings.Contains(err.Error(), "GET /nope") {
		t.Fatalf("Deploy: got %v, want an error naming the 50ms timeout and the GET /nope check", err)
	}
	if st, _ := f.sup.Status(app.Key()); st.PID != 0 || st.LastError != err.Error() {
		t.Errorf("Status: got %+v, want no process and the error recorded", st)
	}
}

func TestValidate(t *testing.T) {
	valid := orders("127.0.0.1:1/dev/orders:v1", "v1")
	tests := []struct {
		name   string
		modify func(*localrun.App)
		want   string
	}{
		{"name not a DNS label", func(a *localrun.App) { a.Name = "Orders_1" }, "app name"},
		{"no environment", func(a *localrun.App) { a.Environment = "" }, "environment"},
		{"no image", func(a *localrun.App) { a.Image = "" }, "image is empty"},
		{"bad image", func(a *localrun.App) { a.Image = "127.0.0.1:1/Dev/Orders:v1" }, "image"},
		{"port out of range", func(a *localrun.App) { a.Port = 70000 }, "port 70000"},
		{"relative health path", func(a *localrun.App) { a.Health = "healthz" }, "health path"},
		{"env key with =", func(a *localrun.App) { a.Env = map[string]string{"A=B": "c"} }, "env"},
	}
	if err := valid.Validate(); err != nil {
		t.Fatalf("Validate(valid): %v", err)
	}
	f := newFixture(t, localrun.Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := valid
			tt.modify(&app)
			err := f.sup.Deploy(context.Background(), app)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Deploy: got error %v, want one about %q", err, tt.want)
			}
		})
	}
}

func TestLogsKeepTheLastOutput(t *testing.T) {
	const limit = 2048
	f := newFixture(t, localrun.Options{LogLimit: limit})
	app := orders(images.v1, "v1")
	st := f.deploy(t, app)
	for i := range 60 {
		resp, err := http.Get(fmt.Sprintf("%s/request-%d", st.Upstream, i))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	// The app logs each request after answering it: wait for the last line.
	var logs []byte
	waitFor(t, "the last request in the log", 5*time.Second, func() bool {
		var err error
		logs, err = f.sup.Logs(app.Key())
		return err == nil && bytes.Contains(logs, []byte(`"/request-59"`))
	})
	if len(logs) > limit || bytes.Contains(logs, []byte(`"/request-0"`)) {
		t.Errorf("Logs: got %d bytes including the first request, want at most %d bytes of the latest output", len(logs), limit)
	}
	if !bytes.HasPrefix(logs, []byte("{")) {
		t.Errorf("Logs: want whole lines, got a start of %q", logs[:min(40, len(logs))])
	}
	fi, err := os.Stat(filepath.Join(f.dir, "dev", "orders", "output.log"))
	if err != nil || fi.Size() > 2*limit {
		t.Errorf("log file: got %v (%v), want at most %d bytes on disk", fi.Size(), err, 2*limit)
	}
}

func TestUndeployAndClose(t *testing.T) {
	f := newFixture(t, localrun.Options{})
	a, b := orders(images.v1, "v1"), orders(images.v1, "v1")
	b.Name = "billing"
	sa, sb := f.deploy(t, a), f.deploy(t, b)

	if err := f.sup.Undeploy(context.Background(), a.Key()); err != nil {
		t.Fatalf("Undeploy: %v", err)
	}
	if _, ok := f.sup.Status(a.Key()); ok || alive(sa.PID) {
		t.Errorf("after Undeploy: status found %v, process alive %v; want neither", ok, alive(sa.PID))
	}
	if logs, err := f.sup.Logs(a.Key()); err != nil || !bytes.Contains(logs, []byte("listening")) {
		t.Errorf("Logs after Undeploy: got %q (%v), want the output kept", logs, err)
	}
	if err := f.sup.Undeploy(context.Background(), a.Key()); err != nil {
		t.Errorf("Undeploy twice: %v, want nothing to do", err)
	}

	if err := f.sup.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if alive(sb.PID) {
		t.Errorf("after Close: process %d still running", sb.PID)
	}
	if _, err := http.Get(sb.Upstream + "/healthz"); err == nil {
		t.Errorf("after Close: %s still answers", sb.Upstream)
	}
	if err := f.sup.Deploy(context.Background(), a); !errors.Is(err, localrun.ErrClosed) {
		t.Errorf("Deploy after Close: got %v, want ErrClosed", err)
	}
	if _, err := f.sup.Logs(localrun.Key{Environment: "dev", Name: "never"}); !errors.Is(err, localrun.ErrNotDeployed) {
		t.Errorf("Logs of an unknown app: got %v, want ErrNotDeployed", err)
	}
}

// syncBuffer is a bytes.Buffer for a logger written from several goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestRelativeDir(t *testing.T) {
	t.Chdir(t.TempDir())
	sup, err := localrun.New(localrun.Options{Dir: "data"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer sup.Close()
	app := orders(images.v1, "v1")
	if err := sup.Deploy(context.Background(), app); err != nil {
		t.Fatalf("Deploy with a relative Dir: %v", err)
	}
	st, _ := sup.Status(app.Key())
	if v, err := version(st.Upstream); err != nil || v != "v1" {
		t.Errorf("version: got %q (%v), want v1", v, err)
	}
}
