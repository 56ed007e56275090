package reconcile

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/contract"
	"github.com/goldenpathidp/goldenpath/internal/forge"
	"github.com/goldenpathidp/goldenpath/internal/plan"
	"github.com/goldenpathidp/goldenpath/internal/platform"
	"github.com/goldenpathidp/goldenpath/internal/request"
	"github.com/goldenpathidp/goldenpath/internal/store"
	"github.com/goldenpathidp/goldenpath/internal/store/sqlite"
)

// recording is a provisioner that keeps its resources in a map and fails on demand.
type recording struct {
	mu        sync.Mutex
	resources map[contract.ID]string // id → spec size
	applies   int
	failWith  map[contract.ID][]error // errors returned by successive applies
}

func (p *recording) Describe(r *contract.Request, _ *platform.Config) []plan.Resource {
	return []plan.Resource{{Type: "thing", Name: string(r.ID())}}
}
func (p *recording) ConfigKey(*contract.Request, *platform.Config) string { return "" }

func (p *recording) Apply(ctx context.Context, r *contract.Request, _ *platform.Config, rec Recorder) (Outputs, error) {
	if err := rec.Step(ctx, "create"); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.applies++
	if errs := p.failWith[r.ID()]; len(errs) > 0 {
		p.failWith[r.ID()] = errs[1:]
		return nil, errs[0]
	}
	p.resources[r.ID()] = r.Spec.Size
	return Outputs{"size": r.Spec.Size}, nil
}

func (p *recording) Delete(ctx context.Context, r *contract.Request, _ *platform.Config, rec Recorder) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.resources, r.ID())
	return nil
}

func (p *recording) has(id contract.ID) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.resources[id]
	return s, ok
}

type fixture struct {
	t    *testing.T
	repo *forge.Repo
	st   store.Store
	prov *recording
	r    *Reconciler
}

func newFixture(t *testing.T) *fixture {
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
	st, err := sqlite.Open(ctx, filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	prov := &recording{resources: map[contract.ID]string{}, failWith: map[contract.ID][]error{}}
	fx := &fixture{t: t, repo: repo, st: st, prov: prov}
	fx.commit(forge.Change{Path: platform.Path, Content: platform.DefaultYAML("example.com")})
	fx.r = New(Options{Repo: repo, Store: st, Workers: 2, Resync: time.Hour,
		Backends: Backends{platform.BackendLocal: {contract.S3: prov}}})
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { fx.r.Run(runCtx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return fx
}

func (fx *fixture) commit(changes ...forge.Change) {
	fx.t.Helper()
	ctx := context.Background()
	parent, err := fx.repo.ResolveRef(ctx, "main")
	if errors.Is(err, forge.ErrNotFound) {
		parent = ""
	}
	if _, err := fx.repo.Commit(ctx, forge.CommitOptions{Branch: "main", Parent: parent, Message: "test",
		Author: forge.Signature{Name: "t", Email: "t@example.com"}, Changes: changes}); err != nil {
		fx.t.Fatal(err)
	}
	if fx.r != nil {
		fx.r.Notify()
	}
}

func s3(name, size string) forge.Change {
	return forge.Change{Path: contract.PathFor(contract.S3, name), Content: []byte(fmt.Sprintf(
		"apiVersion: goldenpath.io/v1\nkind: S3Request\nmetadata: {name: %s, owner: alice, team: payments, environment: dev}\nspec: {size: %s}\n", name, size))}
}

func (fx *fixture) wait(id, phase string) store.Request {
	fx.t.Helper()
	return fx.waitFor(id, phase, func(store.Request) bool { return true })
}

func (fx *fixture) waitFor(id, phase string, ok func(store.Request) bool) store.Request {
	fx.t.Helper()
	var r store.Request
	held := until(10*time.Second, func() bool {
		var err error
		r, err = fx.st.GetRequest(context.Background(), id)
		return err == nil && r.Phase == phase && ok(r)
	})
	if !held {
		fx.t.Fatalf("%s: phase %q (%+v), want %s", id, r.Phase, r.Conditions, phase)
	}
	return r
}

// until polls cond until it holds or timeout has passed, and reports whether it held.
func until(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

func condition(r store.Request, typ string) (store.Condition, bool) {
	for _, c := range r.Conditions {
		if c.Type == typ {
			return c, true
		}
	}
	return store.Condition{}, false
}

func TestApplyUpdateDelete(t *testing.T) {
	fx := newFixture(t)
	fx.commit(s3("a", "small"))
	r := fx.wait("s3.dev.a", store.PhaseReady)
	if r.Outputs["size"] != "small" || r.ObservedHash != r.SpecHash {
		t.Errorf("ready record: %+v", r)
	}
	fx.commit(s3("a", "large"))
	fx.waitFor("s3.dev.a", store.PhaseReady, func(r store.Request) bool { return r.Outputs["size"] == "large" })
	if size, _ := fx.prov.has("s3.dev.a"); size != "large" {
		t.Errorf("after update the resource has size %q, want large", size)
	}
	fx.commit(forge.Change{Path: contract.PathFor(contract.S3, "a"), Delete: true})
	fx.wait("s3.dev.a", store.PhaseDeleted)
	if _, ok := fx.prov.has("s3.dev.a"); ok {
		t.Error("resource still exists after its contract was removed")
	}
}

func TestRetriesTransientErrors(t *testing.T) {
	fx := newFixture(t)
	fx.prov.failWith["s3.dev.flaky"] = []error{errors.New("connection reset"), Transient("Busy", nil, "backend busy")}
	fx.commit(s3("flaky", "small"))
	// Between attempts the request says that another one is scheduled, so that clients (request wait) do not
	// take it for a final failure.
	fx.waitFor("s3.dev.flaky", store.PhaseProvisioning, func(r store.Request) bool {
		c, ok := condition(r, request.ConditionRetrying)
		return ok && c.Status == "True" && strings.Contains(c.Message, "attempt 1 failed; the next one is at")
	})
	r := fx.wait("s3.dev.flaky", store.PhaseReady) // after 1 s + 2 s of backoff
	if c, ok := condition(r, request.ConditionRetrying); ok {
		t.Errorf("a ready request still has %+v", c)
	}
	evs, _ := fx.st.Events(context.Background(), "s3.dev.flaky", 0)
	var warnings []string
	for _, e := range evs {
		if e.Type == store.EventWarning {
			warnings = append(warnings, e.Reason)
		}
	}
	if strings.Join(warnings, ",") != "ProvisioningError,Busy" {
		t.Errorf("warnings on the timeline = %v, want ProvisioningError,Busy", warnings)
	}
}

func TestPermanentErrorStopsUntilTheContractChanges(t *testing.T) {
	fx := newFixture(t)
	fx.prov.failWith["s3.dev.bad"] = []error{Permanent("NameTaken", "bucket taken")}
	fx.commit(s3("bad", "small"))
	r := fx.wait("s3.dev.bad", store.PhaseFailed)
	if r.Conditions[0].Reason != "NameTaken" {
		t.Errorf("condition = %+v", r.Conditions)
	}
	if c, ok := condition(r, request.ConditionRetrying); ok {
		t.Errorf("a permanent failure says it is retried: %+v", c)
	}
	// A resync does not retry a permanent failure...
	applies := fx.prov.applies
	if err := fx.r.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if fx.prov.applies != applies {
		t.Errorf("a permanent failure was retried without a change")
	}
	// ...a new version of the contract does.
	fx.commit(s3("bad", "medium"))
	fx.wait("s3.dev.bad", store.PhaseReady)
}

func TestBrokenFileIsNotADeletion(t *testing.T) {
	fx := newFixture(t)
	fx.commit(s3("keep", "small"))
	fx.wait("s3.dev.keep", store.PhaseReady)
	broken := s3("keep", "small")
	broken.Content = []byte(strings.Replace(string(broken.Content), "{size: small}", "{size: small, colour: red}", 1))
	fx.commit(broken)
	if err := fx.r.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if _, ok := fx.prov.has("s3.dev.keep"); !ok {
		t.Fatal("a resource was deleted because its file on main became invalid")
	}
	st, _ := fx.r.LastStatus(context.Background())
	if len(st.Problems) != 1 || !strings.Contains(st.Problems[0], "colour") {
		t.Errorf("status problems = %v, want the broken file reported", st.Problems)
	}
}

func TestInvalidPlatformYAMLStopsReconciling(t *testing.T) {
	fx := newFixture(t)
	fx.commit(s3("x", "small"))
	fx.wait("s3.dev.x", store.PhaseReady)
	fx.commit(forge.Change{Path: platform.Path, Content: []byte("apiVersion: goldenpath.io/v1\nkind: Platform\n")},
		forge.Change{Path: contract.PathFor(contract.S3, "x"), Delete: true})
	err := fx.r.Sync(context.Background())
	if err == nil || !strings.Contains(err.Error(), "platform.yaml on main is invalid") {
		t.Fatalf("Sync = %v", err)
	}
	if _, ok := fx.prov.has("s3.dev.x"); !ok {
		t.Error("deleted a resource while platform.yaml was invalid")
	}
}
