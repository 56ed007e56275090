package reconcile

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/contract"
	"github.com/goldenpathidp/goldenpath/internal/forge"
	"github.com/goldenpathidp/goldenpath/internal/plan"
	"github.com/goldenpathidp/goldenpath/internal/platform"
	"github.com/goldenpathidp/goldenpath/internal/store"
	"github.com/goldenpathidp/goldenpath/internal/store/sqlite"
)

// blocking is a provisioner whose Apply blocks until the test releases it (or its context ends).
type blocking struct {
	started  chan contract.ID // one send per Apply call
	release  chan struct{}
	canceled chan error // what Apply saw when its context ended
	applies  atomic.Int32
}

func newBlocking() *blocking {
	return &blocking{started: make(chan contract.ID, 8), release: make(chan struct{}), canceled: make(chan error, 8)}
}

func (p *blocking) Describe(r *contract.Request, _ *platform.Config) []plan.Resource { return nil }
func (p *blocking) ConfigKey(*contract.Request, *platform.Config) string             { return "" }
func (p *blocking) Delete(context.Context, *contract.Request, *platform.Config, Recorder) error {
	return nil
}

func (p *blocking) Apply(ctx context.Context, r *contract.Request, _ *platform.Config, rec Recorder) (Outputs, error) {
	p.applies.Add(1)
	p.started <- r.ID()
	select {
	case <-p.release:
		return Outputs{"done": "yes"}, nil
	case <-ctx.Done():
		p.canceled <- context.Cause(ctx)
		return nil, ctx.Err()
	}
}

// leaseWatch wraps a store and remembers the latest time at which a Lease call found nothing to take.
type leaseWatch struct {
	store.Store
	mu        sync.Mutex
	lastEmpty time.Time
}

func (s *leaseWatch) Lease(ctx context.Context, owner string, now time.Time, leaseFor time.Duration) (store.WorkItem, bool, error) {
	w, ok, err := s.Store.Lease(ctx, owner, now, leaseFor)
	if err == nil && !ok {
		s.mu.Lock()
		if now.After(s.lastEmpty) {
			s.lastEmpty = now
		}
		s.mu.Unlock()
	}
	return w, ok, err
}

func (s *leaseWatch) emptyAfter(t time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastEmpty.After(t)
}

// leaseFixture runs two reconcilers (two replicas, one worker each) on one store and one repository.
type leaseFixture struct {
	*fixture
	st   *leaseWatch
	prov *blocking
	r2   *Reconciler
}

func newLeaseFixture(t *testing.T, leaseFor time.Duration) *leaseFixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	f, err := forge.New(filepath.Join(dir, "repos"), forge.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.CreateRepo(ctx, "platform", "main"); err != nil {
		t.Fatal(err)
	}
	repo, _ := f.Repo("platform")
	db, err := sqlite.Open(ctx, filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st := &leaseWatch{Store: db}
	prov := newBlocking()
	fx := &leaseFixture{fixture: &fixture{t: t, repo: repo, st: db}, st: st, prov: prov}
	fx.commit(forge.Change{Path: platform.Path, Content: platform.DefaultYAML("example.com")})
	backends := Backends{platform.BackendLocal: {contract.S3: prov}}
	fx.r = New(Options{Repo: repo, Store: st, Workers: 1, Resync: time.Hour, LeaseFor: leaseFor, Backends: backends})
	fx.r2 = New(Options{Repo: repo, Store: st, Workers: 1, Resync: time.Hour, LeaseFor: leaseFor, Backends: backends})
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, r := range []*Reconciler{fx.r, fx.r2} {
		wg.Add(1)
		go func() { defer wg.Done(); r.Run(runCtx) }()
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
	// Both have released stale leases and read platform.yaml before any work exists.
	if !until(10*time.Second, func() bool { return fx.r.Syncs() > 0 && fx.r2.Syncs() > 0 }) {
		t.Fatal("the reconcilers did not sync")
	}
	return fx
}

// A provisioner that works longer than the lease keeps it: the other replica does not start the same
// request a second time.
func TestLeaseIsRenewedWhileTheProvisionerWorks(t *testing.T) {
	const leaseFor = 600 * time.Millisecond
	fx := newLeaseFixture(t, leaseFor)
	fx.commit(s3("slow", "small")) // notifies fx.r, which queues the request
	var startedAt time.Time
	select {
	case <-fx.prov.started:
		startedAt = time.Now()
	case <-time.After(10 * time.Second):
		t.Fatal("Apply was not called")
	}
	fx.r2.wakeWorkers() // the item is queued now: the other replica looks and then waits for the lease's expiry
	// Wait until the idle replica has looked for work well after the first lease would have expired.
	past := startedAt.Add(2 * leaseFor)
	var again contract.ID
	looked := until(20*time.Second, func() bool {
		select {
		case again = <-fx.prov.started:
			return true
		default:
			return fx.st.emptyAfter(past)
		}
	})
	if again != "" {
		t.Fatalf("Apply of %s was called a second time while the first call still worked (the lease was not renewed)", again)
	}
	if !looked {
		t.Fatal("the idle replica did not look for work after the first lease's expiry")
	}
	close(fx.prov.release)
	r := fx.wait("s3.dev.slow", store.PhaseReady)
	if r.Outputs["done"] != "yes" {
		t.Errorf("outputs = %v", r.Outputs)
	}
	if n := fx.prov.applies.Load(); n != 1 {
		t.Errorf("Apply was called %d times, want 1", n)
	}
}

// A worker that finds its lease taken (it was stalled past the expiry) stops its provisioner and records
// nothing: the new holder's attempt is the one that counts.
func TestLostLeaseStopsTheProvisionerAndRecordsNothing(t *testing.T) {
	const leaseFor = 600 * time.Millisecond
	fx := newLeaseFixture(t, leaseFor)
	fx.commit(s3("stolen", "small"))
	select {
	case <-fx.prov.started:
	case <-time.After(10 * time.Second):
		t.Fatal("Apply was not called")
	}
	// Another worker takes the item as if the lease had expired.
	ctx := context.Background()
	thief, ok, err := fx.fixture.st.Lease(ctx, "thief", time.Now().Add(time.Hour), time.Hour)
	if err != nil || !ok {
		t.Fatalf("taking the item: %v, %v", ok, err)
	}
	var canceledAt time.Time
	select {
	case cause := <-fx.prov.canceled:
		canceledAt = time.Now()
		if !errors.Is(cause, errLeaseLost) {
			t.Errorf("the provisioner's context ended with %v, want errLeaseLost", cause)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the provisioner was not stopped after its lease was lost")
	}
	// The worker is done with the item once it looks for work again.
	fx.r.wakeWorkers()
	if !until(10*time.Second, func() bool { return fx.st.emptyAfter(canceledAt) }) {
		t.Fatal("the worker did not return to the queue")
	}
	r, err := fx.fixture.st.GetRequest(ctx, "s3.dev.stolen")
	if err != nil || r.Phase != store.PhaseProvisioning {
		t.Errorf("phase = %q (%v), want Provisioning: the stopped attempt recorded an outcome", r.Phase, err)
	}
	evs, _ := fx.fixture.st.Events(ctx, "s3.dev.stolen", 0)
	for _, e := range evs {
		if e.Type == store.EventWarning || e.Reason == "Ready" {
			t.Errorf("the stopped attempt recorded %+v", e)
		}
	}
	// The thief's lease is intact: the stopped worker neither released nor renewed it.
	if err := fx.fixture.st.RenewLease(ctx, "s3.dev.stolen", "thief", time.Now().Add(2*time.Hour)); err != nil {
		t.Errorf("the thief lost its lease: %v", err)
	}
	if err := fx.fixture.st.Complete(ctx, "s3.dev.stolen", thief.Generation); err != nil {
		t.Fatal(err)
	}
}
