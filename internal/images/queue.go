package images

import (
	"sync"
	"time"
)

// job is the work waiting for one repository. Requests that arrive while a
// job waits are merged into it, so a burst of pushes costs one pass.
type job struct {
	full  bool              // ask the registry about every tag needed (polling)
	hints map[string]string // tag → digest from push events ("" = unknown)
	since time.Time         // when the oldest merged request arrived
}

func (j *job) merge(o job) {
	j.full = j.full || o.full
	for t, d := range o.hints {
		if j.hints == nil {
			j.hints = map[string]string{}
		}
		j.hints[t] = d
	}
	if !o.since.IsZero() && (j.since.IsZero() || o.since.Before(j.since)) {
		j.since = o.since
	}
}

// queue hands repositories to workers in arrival order, never the same
// repository to two workers at once: that is what serialises the passes, and
// so the OnUpdate calls, of each subscription. push never blocks.
type queue struct {
	mu      sync.Mutex
	order   []string        // repositories waiting and not running
	waiting map[string]*job // merged work per repository
	running map[string]bool
	wake    chan struct{}
}

func newQueue() *queue {
	return &queue{waiting: map[string]*job{}, running: map[string]bool{}, wake: make(chan struct{}, 1)}
}

func (q *queue) push(repo string, j job) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if w, ok := q.waiting[repo]; ok {
		w.merge(j)
		return
	}
	q.waiting[repo] = &j
	if !q.running[repo] {
		q.order = append(q.order, repo)
		q.signal()
	}
}

// take returns the next repository to work on and marks it running.
func (q *queue) take() (string, job, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.order) == 0 {
		return "", job{}, false
	}
	repo := q.order[0]
	q.order = q.order[1:]
	j := q.waiting[repo]
	delete(q.waiting, repo)
	q.running[repo] = true
	if len(q.order) > 0 {
		q.signal() // another worker may take the next one
	}
	return repo, *j, true
}

// done ends a repository's turn; work that arrived meanwhile is queued.
func (q *queue) done(repo string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.running, repo)
	if _, ok := q.waiting[repo]; ok {
		q.order = append(q.order, repo)
		q.signal()
	}
}

func (q *queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}
