package images

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/registry"
)

// update is one OnUpdate call.
type update struct {
	sub Subscription
	c   Candidate
	at  time.Time
}

// recorder is an OnUpdate that records calls, and checks that calls for one
// subscription never overlap.
type recorder struct {
	ch    chan update
	delay time.Duration // how long each call takes
	fails atomic.Int32  // the next calls that fail
	block chan struct{} // when set, calls wait for it to close

	mu          sync.Mutex
	inflight    map[string]int
	maxInflight int
}

func newRecorder() *recorder {
	return &recorder{ch: make(chan update, 1000), inflight: map[string]int{}}
}

func (r *recorder) onUpdate(ctx context.Context, sub Subscription, c Candidate) error {
	r.mu.Lock()
	r.inflight[sub.Key]++
	r.maxInflight = max(r.maxInflight, r.inflight[sub.Key])
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.inflight[sub.Key]--
		r.mu.Unlock()
	}()
	if r.block != nil {
		<-r.block
	}
	time.Sleep(r.delay)
	if r.fails.Add(-1) >= 0 {
		return errors.New("write-back failed")
	}
	r.ch <- update{sub: sub, c: c, at: time.Now()}
	return nil
}

// next waits for the next update.
func (r *recorder) next(t *testing.T) update {
	t.Helper()
	select {
	case u := <-r.ch:
		return u
	case <-time.After(10 * time.Second):
		t.Fatal("no OnUpdate call within 10s")
		return update{}
	}
}

// expect waits for the next update and checks its key and tag.
func (r *recorder) expect(t *testing.T, key, tag string) update {
	t.Helper()
	u := r.next(t)
	if u.sub.Key != key || u.c.Tag != tag {
		t.Fatalf("OnUpdate(%s, %s), want OnUpdate(%s, %s)", u.sub.Key, u.c.Tag, key, tag)
	}
	return u
}

// none checks that no update comes within d.
func (r *recorder) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case u := <-r.ch:
		t.Fatalf("OnUpdate(%s, %s %s), want no call", u.sub.Key, u.c.Tag, u.c.Digest)
	case <-time.After(d):
	}
}

// run starts a watcher and stops it when the test ends.
func run(t *testing.T, opts Options) *Watcher {
	t.Helper()
	w, err := NewWatcher(opts)
	if err != nil {
		t.Fatalf("NewWatcher: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return w
}

func watch(t *testing.T, w *Watcher, sub Subscription) {
	t.Helper()
	if err := w.Watch(sub); err != nil {
		t.Fatalf("Watch(%s): %v", sub.Key, err)
	}
}

// eventsFrom wires goldenpath's registry to a watcher as the lead does:
// OnPush → Notify, with the registry's host. It records when the push
// reached OnPush.
type eventsFrom struct {
	w      atomic.Pointer[Watcher]
	host   atomic.Value // string
	pushed atomic.Int64 // unix nanos of the last OnPush
}

func (e *eventsFrom) onPush(ctx context.Context, ev registry.PushEvent) {
	e.pushed.Store(time.Now().UnixNano())
	if w := e.w.Load(); w != nil {
		w.Notify(ctx, Event{Registry: e.host.Load().(string), Repository: ev.Repository, Tag: ev.Tag, Digest: ev.Digest})
	}
}

func TestWatcherFollowsPushesToTheEmbeddedRegistry(t *testing.T) {
	events := &eventsFrom{}
	b := embedded(t, embeddedOptions{onPush: events.onPush})
	events.host.Store(b.host)
	b.create(t, "dev/orders")
	b.pushImage(t, "dev/orders", "1.2.0", date(2024, 1, 1), "linux/amd64")

	rec := newRecorder()
	w := run(t, Options{Source: lister(t, RegistryOptions{}, b.host), OnUpdate: rec.onUpdate})
	events.w.Store(w)
	watch(t, w, Subscription{Key: "orders/dev", Repository: b.repo("dev/orders"), Policy: Policy{Constraint: "~1.2"}, Current: "1.2.0"})
	watch(t, w, Subscription{Key: "orders/staging", Repository: b.repo("dev/orders"), Policy: Policy{Constraint: "~1.3"}})
	rec.none(t, 200*time.Millisecond) // 1.2.0 is already deployed; nothing matches ~1.3 yet

	d121 := b.pushImage(t, "dev/orders", "1.2.1", date(2024, 1, 2), "linux/amd64")
	u := rec.expect(t, "orders/dev", "1.2.1")
	if u.c.Digest != d121 {
		t.Errorf("selected digest %s, want %s", u.c.Digest, d121)
	}
	latency := u.at.Sub(time.Unix(0, events.pushed.Load()))
	t.Logf("push event → OnUpdate: %v", latency)
	if latency > 2*time.Second {
		t.Errorf("push event → OnUpdate took %v, want well under 2s", latency)
	}

	b.pushImage(t, "dev/orders", "1.3.0", date(2024, 1, 3), "linux/amd64")
	rec.expect(t, "orders/staging", "1.3.0") // dev's ~1.2 still selects 1.2.1: no call for it
	b.pushImage(t, "dev/orders", "1.1.9", date(2024, 1, 4), "linux/amd64")
	for range 5 { // the same event again, as a retrying sender would
		w.Notify(context.Background(), Event{Registry: b.host, Repository: "dev/orders", Tag: "1.2.1", Digest: d121})
	}
	rec.none(t, 300*time.Millisecond)
}

func TestWatcherDigestFollowsAMutableTag(t *testing.T) {
	events := &eventsFrom{}
	b := embedded(t, embeddedOptions{onPush: events.onPush})
	events.host.Store(b.host)
	b.create(t, "dev/orders")
	rec := newRecorder()
	w := run(t, Options{Source: lister(t, RegistryOptions{}, b.host), OnUpdate: rec.onUpdate})
	events.w.Store(w)
	watch(t, w, Subscription{Key: "orders/dev", Repository: b.repo("dev/orders"),
		Policy: Policy{Strategy: StrategyDigest, Tag: "latest"}})
	rec.none(t, 100*time.Millisecond) // no latest yet

	first := image(t, date(2024, 1, 1), "linux/amd64")
	d1 := b.push(t, "dev/orders", "latest", first)
	if u := rec.expect(t, "orders/dev", "latest"); u.c.Digest != d1 {
		t.Fatalf("digest %s, want %s", u.c.Digest, d1)
	}
	d2 := b.pushImage(t, "dev/orders", "latest", date(2024, 1, 2), "linux/amd64")
	if u := rec.expect(t, "orders/dev", "latest"); u.c.Digest != d2 {
		t.Fatalf("digest %s, want %s after latest moved", u.c.Digest, d2)
	}
	b.pushImage(t, "dev/orders", "other", date(2024, 1, 3), "linux/amd64")
	rec.none(t, 300*time.Millisecond) // latest did not move
}

// TestWatcherPollingFindsPushesWithoutEvents: go-containerregistry's registry
// sends no events; polling alone must find new tags and moved tags.
func TestWatcherPollingFindsPushesWithoutEvents(t *testing.T) {
	b := external(t)
	b.pushImage(t, "dev/orders", "a1", date(2024, 1, 1), "linux/amd64")
	b.pushImage(t, "dev/orders", "latest", date(2024, 1, 1), "linux/amd64")
	rec := newRecorder()
	w := run(t, Options{Source: lister(t, RegistryOptions{}, b.host), OnUpdate: rec.onUpdate})
	watch(t, w, Subscription{Key: "newest", Repository: b.repo("dev/orders"),
		Policy: Policy{Strategy: StrategyNewestBuild, IgnoreTags: []string{"latest"}}})
	rec.expect(t, "newest", "a1")
	watch(t, w, Subscription{Key: "follow", Repository: b.repo("dev/orders"),
		Policy: Policy{Strategy: StrategyDigest, Tag: "latest"}})
	rec.expect(t, "follow", "latest")

	ctx, cancel := context.WithCancel(context.Background())
	polled := make(chan error, 1)
	go func() { polled <- w.Poll(ctx, 50*time.Millisecond) }()
	defer func() {
		cancel()
		if err := <-polled; err != nil {
			t.Errorf("Poll: %v", err)
		}
	}()

	b.pushImage(t, "dev/orders", "b2", date(2024, 1, 2), "linux/amd64")
	rec.expect(t, "newest", "b2")
	moved := b.pushImage(t, "dev/orders", "latest", date(2024, 1, 3), "linux/amd64")
	if u := rec.expect(t, "follow", "latest"); u.c.Digest != moved {
		t.Fatalf("digest %s, want %s after latest moved without an event", u.c.Digest, moved)
	}
	rec.none(t, 300*time.Millisecond) // polls keep finding the same selections
}

// TestWatcherSerialisesAndDeduplicates fires many concurrent events for one
// subscription while tags arrive: OnUpdate never overlaps for a subscription,
// never repeats a selection, and ends on the newest version.
func TestWatcherSerialisesAndDeduplicates(t *testing.T) {
	b := external(t)
	rec := newRecorder()
	rec.delay = 15 * time.Millisecond
	w := run(t, Options{Source: lister(t, RegistryOptions{}, b.host), OnUpdate: rec.onUpdate, Workers: 4})
	watch(t, w, Subscription{Key: "orders/dev", Repository: b.repo("dev/orders"), Policy: Policy{Constraint: "1.x"}})
	const versions = 8
	var wg sync.WaitGroup
	for i := range versions {
		tag := fmt.Sprintf("1.0.%d", i)
		d := b.pushImage(t, "dev/orders", tag, date(2024, 1, 1+i), "linux/amd64")
		for range 5 {
			wg.Go(func() {
				w.Notify(context.Background(), Event{Registry: b.host, Repository: "dev/orders", Tag: tag, Digest: d})
			})
		}
	}
	wg.Wait()
	var seen []string
	for last := ""; last != fmt.Sprintf("1.0.%d", versions-1); {
		last = rec.next(t).c.Tag
		seen = append(seen, last)
	}
	rec.none(t, 200*time.Millisecond)
	for i := 1; i < len(seen); i++ {
		if seen[i] <= seen[i-1] {
			t.Fatalf("selections %v: %s after %s, want each new selection newer than the last", seen, seen[i], seen[i-1])
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.maxInflight != 1 {
		t.Fatalf("%d OnUpdate calls overlapped for one subscription, want 1 at a time", rec.maxInflight)
	}
}

// TestWatcherNotifyNeverBlocks: the registry calls Notify on its push path; a
// slow OnUpdate must not hold it up.
func TestWatcherNotifyNeverBlocks(t *testing.T) {
	b := external(t)
	b.pushImage(t, "dev/orders", "1.0.0", date(2024, 1, 1), "linux/amd64")
	rec := newRecorder()
	rec.block = make(chan struct{})
	w := run(t, Options{Source: lister(t, RegistryOptions{}, b.host), OnUpdate: rec.onUpdate, Workers: 1})
	watch(t, w, Subscription{Key: "orders/dev", Repository: b.repo("dev/orders")})
	time.Sleep(50 * time.Millisecond) // the only worker is now stuck in OnUpdate
	start := time.Now()
	for i := range 1000 {
		w.Notify(context.Background(), Event{Registry: b.host, Repository: "dev/orders", Tag: fmt.Sprintf("1.0.%d", i)})
	}
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Errorf("1000 Notify calls took %v while OnUpdate was stuck, want them not to wait", took)
	}
	close(rec.block)
	rec.expect(t, "orders/dev", "1.0.0")
}

func TestWatcherRetriesAFailedUpdate(t *testing.T) {
	b := external(t)
	d := b.pushImage(t, "dev/orders", "1.0.0", date(2024, 1, 1), "linux/amd64")
	rec := newRecorder()
	rec.fails.Store(1)
	w := run(t, Options{Source: lister(t, RegistryOptions{}, b.host), OnUpdate: rec.onUpdate})
	watch(t, w, Subscription{Key: "orders/dev", Repository: b.repo("dev/orders")})
	rec.none(t, 200*time.Millisecond) // the first call failed
	ev := Event{Registry: b.host, Repository: "dev/orders", Tag: "1.0.0", Digest: d}
	w.Notify(context.Background(), ev)
	rec.expect(t, "orders/dev", "1.0.0") // reported again, and recorded this time
	w.Notify(context.Background(), ev)
	rec.none(t, 200*time.Millisecond)
}

func TestWatcherWatchReplaceAndUnwatch(t *testing.T) {
	b := external(t)
	b.pushImage(t, "dev/orders", "1.0.0", date(2024, 1, 1), "linux/amd64")
	b.pushImage(t, "dev/orders", "2.0.0", date(2024, 1, 2), "linux/amd64")
	rec := newRecorder()
	w := run(t, Options{Source: lister(t, RegistryOptions{}, b.host), OnUpdate: rec.onUpdate})
	sub := Subscription{Key: "orders/dev", Repository: b.repo("dev/orders"), Policy: Policy{Constraint: "1.x"}}
	watch(t, w, sub)
	rec.expect(t, "orders/dev", "1.0.0")
	watch(t, w, sub) // the same subscription again: nothing new
	rec.none(t, 200*time.Millisecond)

	sub.Policy.Constraint = "2.x"
	watch(t, w, sub)
	rec.expect(t, "orders/dev", "2.0.0")
	if got := w.Subscriptions(); len(got) != 1 || got[0].Policy.Constraint != "2.x" {
		t.Fatalf("Subscriptions() = %+v, want the replaced one only", got)
	}

	w.Unwatch("orders/dev")
	d := b.pushImage(t, "dev/orders", "2.1.0", date(2024, 1, 3), "linux/amd64")
	w.Notify(context.Background(), Event{Registry: b.host, Repository: "dev/orders", Tag: "2.1.0", Digest: d})
	rec.none(t, 200*time.Millisecond)
	if got := w.Subscriptions(); len(got) != 0 {
		t.Fatalf("Subscriptions() after Unwatch = %+v, want none", got)
	}
}

func TestWatcherValidation(t *testing.T) {
	noop := func(context.Context, Subscription, Candidate) error { return nil }
	src := lister(t, RegistryOptions{})
	if _, err := NewWatcher(Options{OnUpdate: noop}); err == nil || !strings.Contains(err.Error(), "source is required") {
		t.Errorf("NewWatcher without a source = %v, want an error naming source", err)
	}
	if _, err := NewWatcher(Options{Source: src}); err == nil || !strings.Contains(err.Error(), "onUpdate is required") {
		t.Errorf("NewWatcher without OnUpdate = %v, want an error naming onUpdate", err)
	}
	w, err := NewWatcher(Options{Source: src, OnUpdate: noop})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		sub     Subscription
		wantErr string
	}{
		{"no key", Subscription{Repository: "ghcr.io/org/app"}, "subscription key is empty"},
		{"no repository", Subscription{Key: "a/dev"}, "repository is empty"},
		{"bad repository", Subscription{Key: "a/dev", Repository: "ghcr.io/Org/App"}, `repository "ghcr.io/Org/App"`},
		{"bad policy", Subscription{Key: "a/dev", Repository: "ghcr.io/org/app", Policy: Policy{Strategy: "newest"}}, `subscription "a/dev": policy: strategy "newest"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := w.Watch(tt.sub); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Watch() = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
	if err := w.Poll(context.Background(), 0); err == nil || !strings.Contains(err.Error(), "poll interval") {
		t.Errorf("Poll(0) = %v, want an error naming the interval", err)
	}
}

func TestWatcherRunsOnce(t *testing.T) {
	rec := newRecorder()
	w := run(t, Options{Source: lister(t, RegistryOptions{}), OnUpdate: rec.onUpdate})
	time.Sleep(20 * time.Millisecond)
	if err := w.Run(context.Background()); err == nil {
		t.Fatal("a second Run succeeded, want an error: the watcher is already running")
	}
}

// BenchmarkPushEventToUpdate measures a push event until OnUpdate, with the
// tag listing and one HEAD request against a loopback registry.
func BenchmarkPushEventToUpdate(b *testing.B) {
	reg := external(b)
	rec := newRecorder()
	w, err := NewWatcher(Options{Source: lister(b, RegistryOptions{}, reg.host), OnUpdate: rec.onUpdate})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = w.Run(ctx) }()
	if err := w.Watch(Subscription{Key: "bench", Repository: reg.repo("dev/orders")}); err != nil {
		b.Fatal(err)
	}
	img := image(b, date(2024, 1, 1), "linux/amd64")
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		tag := fmt.Sprintf("1.0.%d", i)
		d := reg.push(b, "dev/orders", tag, img)
		b.StartTimer()
		w.Notify(ctx, Event{Registry: reg.host, Repository: "dev/orders", Tag: tag, Digest: d})
		<-rec.ch
	}
}

// TestPollCost: a poll asks the registry again only about tags the digest
// strategy follows; the others are taken as immutable, so a poll of a
// newest-build subscription costs its listing alone.
func TestPollCost(t *testing.T) {
	b := external(t)
	for i := range 5 {
		b.pushImage(t, "dev/orders", fmt.Sprintf("build-%d", i), date(2024, 1, 1+i), "linux/amd64")
	}
	b.pushImage(t, "dev/orders", "latest", date(2024, 2, 1), "linux/amd64")
	count := &counting{base: http.DefaultTransport}
	r := lister(t, RegistryOptions{Transport: count}, b.host)
	ctx := context.Background()
	tags, err := r.Tags(ctx, b.repo("dev/orders"))
	if err != nil {
		t.Fatal(err)
	}
	ps := &pass{src: r, repo: b.repo("dev/orders"), book: newTagBook(), log: r.log}
	newest, _ := Policy{Strategy: StrategyNewestBuild, IgnoreTags: []string{"latest"}}.compile()
	follow, _ := Policy{Strategy: StrategyDigest, Tag: "latest"}.compile()
	ps.book.begin(true) // the first evaluation learns every digest
	for _, m := range []*matcher{newest, follow} {
		if _, _, err := ps.choose(ctx, m, tags); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name string
		m    *matcher
		want int64
	}{
		{"newest-build", newest, 0},
		{"digest", follow, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps.book.begin(false) // a poll
			count.n.Store(0)
			if _, ok, err := ps.choose(ctx, tt.m, tags); err != nil || !ok {
				t.Fatalf("choose: %v, %v", ok, err)
			}
			if got := count.n.Load(); got != tt.want {
				t.Errorf("a poll sent %d requests besides the listing, want %d", got, tt.want)
			}
		})
	}
}
