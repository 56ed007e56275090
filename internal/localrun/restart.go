package localrun

import (
	"context"
	"fmt"
	"time"
)

// stableAfter is how long a process must have run for its crash to count as a new problem rather
// than the same crash loop: the restart delay then starts again from RestartDelay.
const stableAfter = 30 * time.Second

// watch waits for p to exit and restarts it unless it was asked to stop.
func (s *Supervisor) watch(a *app, p *process) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		<-p.done
		if !p.stopping.Load() {
			s.crashed(a, p)
		}
	}()
}

// crashed reports p's crash and restarts the app with backoff until a restart is healthy, the app
// is deployed again or removed.
func (s *Supervisor) crashed(a *app, p *process) {
	spec, delay, ok := a.recordCrash(p, s.restartDelay, s.maxDelay)
	if !ok {
		return // already replaced
	}
	err := fmt.Errorf("app %s %s", spec.Key(), p.exited(spec))
	a.setError(err)
	s.log.Warn("app crashed", "app", a.key.String(), "pid", p.pid(), "error", err, "restart_in", delay)
	if s.onCrash != nil {
		s.onCrash(spec, err)
	}
	for {
		select {
		case <-a.quit:
			return
		case <-time.After(delay):
		}
		done, err := s.restart(a, p)
		if done {
			return
		}
		delay = a.nextDelay(s.maxDelay)
		s.log.Warn("restart failed", "app", a.key.String(), "error", err, "restart_in", delay)
	}
}

// restart starts the app's release again in place of crashed. done is true when there is nothing
// more to do: it runs again, or crashed was replaced or removed meanwhile.
func (s *Supervisor) restart(a *app, crashed *process) (done bool, err error) {
	a.op.Lock()
	defer a.op.Unlock()
	if a.removed || a.current() != crashed {
		return true, nil
	}
	rel := a.countRestart()
	ctx, cancel := quitContext(a.quit)
	defer cancel()
	p, err := s.start(ctx, a, rel.spec, rel.binary)
	if err != nil {
		a.setError(err)
		return false, err
	}
	a.restarted(p)
	s.log.Info("app restarted", "app", a.key.String(), "pid", p.pid(), "upstream", p.upstream)
	if s.onReady != nil {
		s.onReady(rel.spec, p.upstream)
	}
	s.watch(a, p)
	return true, nil
}

// quitContext ends when quit is closed: restarts run on the supervisor's own time, not a caller's.
func quitContext(quit <-chan struct{}) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-quit:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// recordCrash checks that p is still the app's process and returns the delay before restarting:
// RestartDelay after a process that ran stably, double the previous delay in a crash loop.
func (a *app) recordCrash(p *process, first, limit time.Duration) (App, time.Duration, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.proc != p {
		return App{}, 0, false
	}
	if a.backoff == 0 || time.Since(p.started) > stableAfter {
		a.backoff = first
	} else {
		a.backoff = min(2*a.backoff, limit)
	}
	return a.rel.spec, a.backoff, true
}

func (a *app) nextDelay(limit time.Duration) time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.backoff = min(2*a.backoff, limit)
	return a.backoff
}

func (a *app) countRestart() release {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.restarts++
	return a.rel
}

func (a *app) restarted(p *process) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.proc, a.since = p, time.Now()
}
