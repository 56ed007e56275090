package localrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/sandbox"
)

// process is one running copy of an app.
type process struct {
	cmd      *exec.Cmd
	port     int
	upstream string
	started  time.Time
	output   *outputTail
	done     chan struct{} // closed when the process has exited and its output is drained
	waitErr  error         // how it exited; read only after done
	stopping atomic.Bool   // set before we stop it, so its exit is not taken for a crash
}

func (p *process) pid() int { return p.cmd.Process.Pid }

// exited describes how the process ended, with its last output; call after done.
func (p *process) exited(spec App) error {
	how := "exited"
	if p.waitErr != nil {
		how = "exited with " + p.waitErr.Error()
	}
	return fmt.Errorf("%s after %s%s", how, time.Since(p.started).Round(time.Millisecond), lastOutput(p, spec))
}

func lastOutput(p *process, spec App) string {
	out := p.output.summary(tailLines)
	if out == "" {
		return " (no output)"
	}
	return "; last output:\n" + spec.redact(out)
}

// tailLines is how much of a failed process's output an error quotes.
const tailLines = 20

// start runs the app's binary on a free loopback port and waits until it is healthy. On failure
// the process is killed and the error quotes its last output.
func (s *Supervisor) start(ctx context.Context, a *app, spec App, binary string) (*process, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	p := &process{port: port, upstream: "http://127.0.0.1:" + strconv.Itoa(port), output: &outputTail{}, done: make(chan struct{})}
	cmd, err := a.jail.Command(binary, processEnv(spec, a.jail, port))
	if err != nil {
		return nil, fmt.Errorf("app %s: %w", spec.Key(), err)
	}
	out := io.MultiWriter(a.log, p.output)
	cmd.Stdout, cmd.Stderr = out, out
	// Output copying must not outlive the process for long, even if it left children holding the pipe.
	cmd.WaitDelay = time.Second
	configureProcess(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", binary, err)
	}
	p.cmd, p.started = cmd, time.Now()
	fmt.Fprintf(a.log, "--- goldenpath: started %s (pid %d, port %d, %s) at %s\n", spec.Image, p.pid(), port, a.jail, p.started.UTC().Format(time.RFC3339))
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	if err := s.waitHealthy(ctx, p, spec); err != nil {
		s.kill(p)
		return nil, err
	}
	return p, nil
}

// processEnv is a small, fixed environment: what a container would get, not goldenpath's own
// (which may hold credentials). Home and temporary files are in the app's own working directory. Env is
// sorted so the same App always starts the same way.
func processEnv(spec App, j *sandbox.Jail, port int) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + j.WorkDir, "TMPDIR=" + j.TmpDir}
	for _, k := range slices.Sorted(maps.Keys(spec.Env)) {
		if k != "PORT" && k != "HOST" {
			env = append(env, k+"="+spec.Env[k])
		}
	}
	// PORT is the port to listen on; HOST asks programs that read it (the app-template's do) to listen on
	// loopback only, since the dev gateway is their only client.
	return append(env, "HOST=127.0.0.1", "PORT="+strconv.Itoa(port))
}

// freePort asks the kernel for an unused loopback port. Another program could take it before the
// app listens; the health check then fails and the caller sees why.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitHealthy polls the app until it answers, it exits, ctx ends or the health timeout passes. The
// error quotes the last conclusive check (not one cut short by the end of the wait) and the app's last
// output. Polling starts fast: the reference app is ready within milliseconds and a swap should be quick.
func (s *Supervisor) waitHealthy(ctx context.Context, p *process, spec App) error {
	ctx, cancel := context.WithTimeout(ctx, s.healthTimeout)
	defer cancel()
	delay := 5 * time.Millisecond
	var last error
	for {
		err := s.probe(ctx, p, spec.Health)
		if err == nil {
			return nil
		}
		if last == nil || ctx.Err() == nil {
			last = err
		}
		select {
		case <-p.done:
			return fmt.Errorf("app %s %s", spec.Key(), p.exited(spec))
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("app %s not healthy within %s: %v%s", spec.Key(), s.healthTimeout, last, lastOutput(p, spec))
			}
			return fmt.Errorf("app %s: waiting for health: %w (last check: %v)%s", spec.Key(), ctx.Err(), last, lastOutput(p, spec))
		case <-time.After(delay):
		}
		delay = min(2*delay, 100*time.Millisecond)
	}
}

// probe is one health check: a TCP connection when there is no health path, else a GET.
func (s *Supervisor) probe(ctx context.Context, p *process, path string) error {
	if path == "" {
		conn, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", fmt.Sprintf("127.0.0.1:%d", p.port))
		if err != nil {
			return fmt.Errorf("port %d does not accept connections", p.port)
		}
		return conn.Close()
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.upstream+path, nil)
	if err != nil {
		return err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: no answer", path)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		return fmt.Errorf("GET %s answered %s", path, resp.Status)
	}
	return nil
}

// stop ends a process gracefully: SIGTERM to its process group, SIGKILL after the grace period (or
// at once when ctx ends).
func (s *Supervisor) stop(ctx context.Context, p *process) {
	p.stopping.Store(true)
	if err := terminate(p.cmd.Process); err != nil {
		s.kill(p)
		return
	}
	timer := time.NewTimer(s.stopGrace)
	defer timer.Stop()
	select {
	case <-p.done:
		return
	case <-timer.C:
	case <-ctx.Done():
	}
	s.kill(p)
}

// kill ends a process (and its group) at once and waits for it.
func (s *Supervisor) kill(p *process) {
	p.stopping.Store(true)
	if err := killGroup(p.cmd.Process); err != nil {
		s.log.Warn("killing an app process", "pid", p.pid(), "error", err)
	}
	<-p.done
}
