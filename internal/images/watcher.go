package images

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

// DefaultWorkers is how many repositories a Watcher evaluates at once, as
// Image Updater's 10 applications at a time.
const DefaultWorkers = 10

// Subscription asks the Watcher to follow one repository for one application
// environment.
type Subscription struct {
	// Key names the subscriber, e.g. "orders/dev"; one subscription per key.
	Key string `json:"key"`
	// Repository is "host/path" ("127.0.0.1:5000/dev/orders", "ghcr.io/org/app").
	Repository string `json:"repository"`
	Policy     Policy `json:"policy"`
	// Current is what is deployed now: the tag, or the digest with the digest
	// strategy. A selection equal to it is not reported; "" reports the first
	// selection.
	Current string `json:"current,omitempty"`
}

// Event says a registry stored a manifest under a tag.
type Event struct {
	// Registry is the host as in image names ("127.0.0.1:5000").
	Registry   string
	Repository string // path in the registry ("dev/orders")
	Tag        string // "" for a push by digest, which moves no tag and is ignored
	Digest     string // "" when the sender does not say
}

// Options configures a Watcher.
type Options struct {
	// Source lists and describes tags; usually a *Registry. Required.
	Source Source
	// OnUpdate is told the new selection of a subscription. It runs on a
	// worker, never on the caller of Notify, one call at a time per
	// subscription. An error leaves the selection unrecorded, so the next
	// event or poll reports it again. Required.
	OnUpdate func(ctx context.Context, sub Subscription, c Candidate) error
	// Workers is how many repositories are evaluated at once; 0 means
	// DefaultWorkers.
	Workers int
	// WebhookSecret, when set, must accompany every webhook request: as the
	// X-Webhook-Secret header, as "Authorization: Bearer <secret>", or as
	// X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body keyed with it>.
	WebhookSecret Secret
	// AnonymousWebhooks accepts webhook requests without a secret when
	// WebhookSecret is empty; otherwise they are refused. Set it only for a
	// listener that nothing beyond this machine reaches. Events are confirmed
	// with the registry either way.
	AnonymousWebhooks bool
	// ECRHost maps an EventBridge event's account and region to the registry
	// host of subscriptions; nil means <account>.dkr.ecr.<region>.amazonaws.com.
	ECRHost func(account, region string) string
	Logger  *slog.Logger
}

// Validate reports the first option that cannot be used.
func (o Options) Validate() error {
	if o.Source == nil {
		return errors.New("source is required: the registry to list tags from")
	}
	if o.OnUpdate == nil {
		return errors.New("onUpdate is required: the watcher has nobody to tell")
	}
	if o.Workers < 0 {
		return fmt.Errorf("workers is %d: it must be 0 (default %d) or positive", o.Workers, DefaultWorkers)
	}
	return nil
}

// Watcher keeps subscriptions and re-evaluates their repositories when told
// of a push (Notify, webhooks) or when polling, reporting each new selection
// through OnUpdate.
type Watcher struct {
	src      Source
	onUpdate func(ctx context.Context, sub Subscription, c Candidate) error
	workers  int
	secret   Secret
	open     bool // AnonymousWebhooks
	ecrHost  func(account, region string) string
	log      *slog.Logger
	q        *queue

	mu      sync.Mutex
	running bool
	subs    map[string]*subState  // by key
	repos   map[string]*repoState // by canonical repository name
}

// subState is a subscription with its compiled policy and last report.
type subState struct {
	sub  Subscription
	m    *matcher
	repo string
	// last is the identity of the selection last reported (or Current). Only
	// the worker evaluating the repository touches it.
	last string
}

// repoState is what the watcher remembers of a watched repository; only the
// worker evaluating it touches book.
type repoState struct {
	book *tagBook
	subs int
}

// NewWatcher returns a Watcher; call Run to start its workers.
func NewWatcher(opts Options) (*Watcher, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("watcher options: %w", err)
	}
	w := &Watcher{
		src:      opts.Source,
		onUpdate: opts.OnUpdate,
		workers:  opts.Workers,
		secret:   opts.WebhookSecret,
		open:     opts.AnonymousWebhooks,
		ecrHost:  opts.ECRHost,
		log:      opts.Logger,
		q:        newQueue(),
		subs:     map[string]*subState{},
		repos:    map[string]*repoState{},
	}
	if w.workers == 0 {
		w.workers = DefaultWorkers
	}
	if w.ecrHost == nil {
		w.ecrHost = ecrHost
	}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	w.log = w.log.With("component", "images")
	return w, nil
}

// canonical returns the repository's full name ("index.docker.io/library/x"
// for "x"), the key events and subscriptions meet on.
func canonical(repo string) (string, error) {
	r, err := name.NewRepository(repo)
	if err != nil {
		return "", err
	}
	return r.Name(), nil
}

// Watch adds or replaces the subscription with sub.Key and schedules an
// evaluation of its repository. Watching the same subscription again changes
// nothing.
func (w *Watcher) Watch(sub Subscription) error {
	st, err := newSubState(sub)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if old, ok := w.subs[sub.Key]; ok {
		if sameSubscription(old.sub, sub) {
			return nil
		}
		w.drop(old)
	}
	w.subs[sub.Key] = st
	rs, ok := w.repos[st.repo]
	if !ok {
		rs = &repoState{book: newTagBook()}
		w.repos[st.repo] = rs
	}
	rs.subs++
	w.q.push(st.repo, job{since: time.Now()})
	return nil
}

func newSubState(sub Subscription) (*subState, error) {
	if sub.Key == "" {
		return nil, errors.New("subscription key is empty: name the subscriber, e.g. \"orders/dev\"")
	}
	if sub.Repository == "" {
		return nil, fmt.Errorf("subscription %q: repository is empty: it must be host/path", sub.Key)
	}
	repo, err := canonical(sub.Repository)
	if err != nil {
		return nil, fmt.Errorf("subscription %q: repository %q: %w", sub.Key, sub.Repository, err)
	}
	m, err := sub.Policy.compile()
	if err != nil {
		return nil, fmt.Errorf("subscription %q: policy: %w", sub.Key, err)
	}
	return &subState{sub: sub, m: m, repo: repo, last: sub.Current}, nil
}

func sameSubscription(a, b Subscription) bool {
	pa, pb := a.Policy, b.Policy
	return a.Key == b.Key && a.Repository == b.Repository && a.Current == b.Current &&
		pa.Strategy == pb.Strategy && pa.Constraint == pb.Constraint && pa.AllowTags == pb.AllowTags &&
		pa.Tag == pb.Tag && slices.Equal(pa.IgnoreTags, pb.IgnoreTags) && slices.Equal(pa.Platforms, pb.Platforms)
}

// Unwatch removes the subscription with key; unknown keys are ignored.
func (w *Watcher) Unwatch(key string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if st, ok := w.subs[key]; ok {
		w.drop(st)
	}
}

// drop removes st, and its repository's memory when nobody else watches it.
// w.mu must be held.
func (w *Watcher) drop(st *subState) {
	delete(w.subs, st.sub.Key)
	rs := w.repos[st.repo]
	if rs == nil {
		return
	}
	if rs.subs--; rs.subs <= 0 {
		delete(w.repos, st.repo)
	}
}

// Subscriptions returns the current subscriptions, in no particular order.
func (w *Watcher) Subscriptions() []Subscription {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]Subscription, 0, len(w.subs))
	for _, st := range w.subs {
		out = append(out, st.sub)
	}
	return out
}

// Notify schedules an evaluation of the event's repository and returns at
// once: it is safe to call from a registry's push path. Events for
// repositories nobody watches, and pushes by digest, are ignored.
func (w *Watcher) Notify(ctx context.Context, ev Event) {
	if ev.Tag == "" {
		return
	}
	if ev.Registry == "" || ev.Repository == "" {
		w.log.WarnContext(ctx, "push event ignored: registry and repository are required",
			"registry", ev.Registry, "repository", ev.Repository, "tag", ev.Tag)
		return
	}
	repo, err := canonical(ev.Registry + "/" + ev.Repository)
	if err != nil {
		w.log.WarnContext(ctx, "push event ignored: bad repository", "registry", ev.Registry,
			"repository", ev.Repository, "error", err)
		return
	}
	if !w.watched(repo) {
		return
	}
	w.q.push(repo, job{hints: map[string]string{ev.Tag: ev.Digest}, since: time.Now()})
}

func (w *Watcher) watched(repo string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, ok := w.repos[repo]
	return ok
}

// Poll re-evaluates every watched repository at each interval: it lists the
// tags again, which finds pushes no event reported, and asks again where the
// tags followed by the digest strategy point (other tags are taken as
// immutable, as Image Updater does). It is the fallback for registries
// without events. Requests stay within each registry's rate limit. It returns
// when ctx ends; Run must be running for the evaluations to happen.
func (w *Watcher) Poll(ctx context.Context, every time.Duration) error {
	if every <= 0 {
		return fmt.Errorf("poll interval is %v: it must be positive (Image Updater polls every 2m)", every)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			w.pollOnce()
		}
	}
}

// pollOnce schedules a full evaluation of every watched repository.
func (w *Watcher) pollOnce() {
	w.mu.Lock()
	repos := make([]string, 0, len(w.repos))
	for r := range w.repos {
		repos = append(repos, r)
	}
	w.mu.Unlock()
	now := time.Now()
	for _, r := range repos {
		w.q.push(r, job{full: true, since: now})
	}
}

// Run evaluates scheduled repositories on Options.Workers workers until ctx
// ends, then waits for them to stop.
func (w *Watcher) Run(ctx context.Context) error {
	w.mu.Lock()
	if w.running {
		w.mu.Unlock()
		return errors.New("watcher is already running")
	}
	w.running = true
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.running = false
		w.mu.Unlock()
	}()
	var wg sync.WaitGroup
	for range w.workers {
		wg.Go(func() { w.work(ctx) })
	}
	wg.Wait()
	return nil
}

func (w *Watcher) work(ctx context.Context) {
	for ctx.Err() == nil {
		repo, j, ok := w.q.take()
		if !ok {
			select {
			case <-ctx.Done():
			case <-w.q.wake:
			}
			continue
		}
		w.evaluate(ctx, repo, j)
		w.q.done(repo)
	}
}
