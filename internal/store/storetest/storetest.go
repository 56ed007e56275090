// Package storetest is the conformance suite every store.Store implementation must pass.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/store"
)

// Run runs the suite; open returns a fresh, empty store.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"users and tokens", usersAndTokens},
		{"change requests", changes},
		{"requests and events", requests},
		{"work queue", queue},
		{"work queue leases exclusively", queueExclusive},
		{"secrets and meta", secretsAndMeta},
		{"tasks", tasks},
		{"deployments", deployments},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

func usersAndTokens(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := store.User{Name: "alice", Roles: []string{store.RoleDeveloper}, Teams: []string{"payments"}, CreatedAt: time.Now()}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, u); !errors.Is(err, store.ErrExists) {
		t.Errorf("duplicate user: got %v, want ErrExists", err)
	}
	got, err := s.GetUser(ctx, "alice")
	if err != nil || got.Teams[0] != "payments" || got.Roles[0] != store.RoleDeveloper {
		t.Errorf("GetUser = %+v, %v", got, err)
	}
	if _, err := s.GetUser(ctx, "bob"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing user: got %v, want ErrNotFound", err)
	}
	tok := store.Token{ID: "t1", User: "alice", Hash: []byte("hash-1"), CreatedAt: time.Now()}
	if err := s.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	found, err := s.TokenByHash(ctx, []byte("hash-1"))
	if err != nil || found.User != "alice" {
		t.Errorf("TokenByHash = %+v, %v", found, err)
	}
	if _, err := s.TokenByHash(ctx, []byte("nope")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown token: got %v", err)
	}
}

func changes(t *testing.T, s store.Store) {
	ctx := context.Background()
	c := &store.Change{Repo: "platform", Title: "t", Branch: "b", Base: "main", HeadSHA: "h1", Author: "alice",
		State: store.ChangeOpen, RequestIDs: []string{"rds.dev.orders"}, CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if err := s.CreateChange(ctx, c); err != nil || c.Number == 0 {
		t.Fatalf("CreateChange: number %d, %v", c.Number, err)
	}
	byReq, err := s.ListChanges(ctx, store.ChangeFilter{RequestID: "rds.dev.orders"})
	if err != nil || len(byReq) != 1 || byReq[0].Number != c.Number {
		t.Errorf("ListChanges by request = %v, %v", byReq, err)
	}
	r := store.Review{Change: c.Number, Reviewer: "bob", Verdict: store.VerdictApproved, HeadSHA: "h1", CreatedAt: time.Now()}
	if err := s.AddReview(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := s.AddReview(ctx, r); !errors.Is(err, store.ErrExists) {
		t.Errorf("second review by bob: got %v, want ErrExists", err)
	}
	// Two merges race: exactly one wins.
	var wg sync.WaitGroup
	results := make([]error, 2)
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			m := *c
			m.State, m.MergedSHA, m.ClosedBy = store.ChangeMerged, fmt.Sprintf("m%d", i), "bob"
			results[i] = s.UpdateChange(ctx, m, store.ChangeOpen, "h1")
		}(i)
	}
	wg.Wait()
	wins := 0
	for _, err := range results {
		if err == nil {
			wins++
		} else if !errors.Is(err, store.ErrConflict) {
			t.Errorf("losing merge: got %v, want ErrConflict", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d merges won, want exactly 1", wins)
	}
}

func requests(t *testing.T, s store.Store) {
	ctx := context.Background()
	_, err := s.UpdateRequest(ctx, "rds.dev.orders", func(r *store.Request) ([]store.Event, error) {
		r.Kind, r.Phase = "RDSRequest", store.PhasePending
		return []store.Event{{Reason: "Requested", Message: "opened"}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A failing update writes nothing, events included.
	_, err = s.UpdateRequest(ctx, "rds.dev.orders", func(r *store.Request) ([]store.Event, error) {
		r.Phase = store.PhaseReady
		return []store.Event{{Reason: "Ready"}}, errors.New("boom")
	})
	if err == nil {
		t.Fatal("want the fn error back")
	}
	got, _ := s.GetRequest(ctx, "rds.dev.orders")
	if got.Phase != store.PhasePending {
		t.Errorf("phase = %s after a failed update, want Pending", got.Phase)
	}
	evs, _ := s.Events(ctx, "rds.dev.orders", 0)
	if len(evs) != 1 || evs[0].Reason != "Requested" {
		t.Errorf("events = %+v, want just Requested", evs)
	}
}

func queue(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := time.Now()
	if err := s.Enqueue(ctx, "a", store.ActionApply, "h1", time.Time{}); err != nil {
		t.Fatal(err)
	}
	w, ok, err := s.Lease(ctx, "w1", now, time.Minute)
	if err != nil || !ok || w.RequestID != "a" || w.Attempts != 1 {
		t.Fatalf("Lease = %+v, %v, %v", w, ok, err)
	}
	if _, ok, _ := s.Lease(ctx, "w2", now, time.Minute); ok {
		t.Error("a leased item was leased again")
	}
	// New work arrives while w1 runs: completing the old generation must not drop it.
	if err := s.Enqueue(ctx, "a", store.ActionApply, "h2", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Complete(ctx, "a", w.Generation); err != nil {
		t.Fatal(err)
	}
	w2, ok, _ := s.Lease(ctx, "w2", now, time.Minute)
	if !ok || w2.SpecHash != "h2" || w2.Attempts != 1 {
		t.Fatalf("newer generation lost or attempts not reset: %+v %v", w2, ok)
	}
	// Retry in the future: not leasable until then.
	if err := s.Retry(ctx, "a", w2.Generation, now.Add(time.Hour), "transient"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Lease(ctx, "w3", now, time.Minute); ok {
		t.Error("item leased before its retry time")
	}
	w3, ok, _ := s.Lease(ctx, "w3", now.Add(2*time.Hour), time.Minute)
	if !ok || w3.Attempts != 2 || w3.LastError != "transient" {
		t.Errorf("after retry: %+v %v", w3, ok)
	}
	// An expired lease (a crashed worker) makes the item leasable again.
	if _, ok, _ := s.Lease(ctx, "w4", now.Add(3*time.Hour), time.Minute); !ok {
		t.Error("item with an expired lease was not leasable")
	}
	if n, _ := s.QueueLength(ctx); n != 1 {
		t.Errorf("queue length = %d, want 1", n)
	}
}

func queueExclusive(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i := 0; i < 50; i++ {
		if err := s.Enqueue(ctx, fmt.Sprintf("r%02d", i), store.ActionApply, "h", time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for {
				item, ok, err := s.Lease(ctx, fmt.Sprint("w", w), time.Now(), time.Hour)
				if err != nil {
					t.Error(err)
					return
				}
				if !ok {
					return
				}
				mu.Lock()
				seen[item.RequestID]++
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	if len(seen) != 50 {
		t.Errorf("leased %d distinct items, want 50", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s leased %d times", id, n)
		}
	}
}

func secretsAndMeta(t *testing.T, s store.Store) {
	ctx := context.Background()
	if err := s.PutSecret(ctx, store.Secret{Name: "request/a/password", Ciphertext: []byte{1}}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSecret(ctx, store.Secret{Name: "request/a/password", Ciphertext: []byte{2}}); err != nil {
		t.Fatal(err)
	}
	sec, err := s.GetSecret(ctx, "request/a/password")
	if err != nil || sec.Version != 2 || sec.Ciphertext[0] != 2 {
		t.Errorf("GetSecret = %+v, %v; want version 2", sec, err)
	}
	names, _ := s.ListSecrets(ctx, "request/a/")
	if len(names) != 1 {
		t.Errorf("ListSecrets = %v", names)
	}
	if _, err := s.GetMeta(ctx, "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetMeta missing: %v", err)
	}
	_ = s.SetMeta(ctx, "x", "1")
	_ = s.SetMeta(ctx, "x", "2")
	if v, _ := s.GetMeta(ctx, "x"); v != "2" {
		t.Errorf("meta = %q, want 2", v)
	}
}

func tasks(t *testing.T, s store.Store) {
	ctx := context.Background()
	base := time.Now()
	for i := 0; i < 5; i++ {
		if err := s.CreateTask(ctx, store.Task{ID: fmt.Sprintf("t%d", i), TemplateRef: "template:default/x", Spec: "{}",
			Status: store.TaskOpen, CreatedBy: "user:default/alice", CreatedAt: base.Add(time.Duration(i) * time.Millisecond)}); err != nil {
			t.Fatal(err)
		}
	}
	// Claims are exclusive and oldest first.
	claimed := race(t, 8, func() (string, bool) {
		task, ok, err := s.ClaimTask(ctx, time.Now())
		if err != nil {
			t.Error(err)
		}
		return task.ID, ok
	})
	if len(claimed) != 5 {
		t.Errorf("claimed %v, want each of the 5 tasks once", claimed)
	}
	list, total, err := s.ListTasks(ctx, store.TaskFilter{Status: store.TaskProcessing, Limit: 2, Ascending: true})
	if err != nil || total != 5 || len(list) != 2 || list[0].ID != "t0" {
		t.Errorf("ListTasks = %v (total %d), %v", list, total, err)
	}
	for i := 0; i < 3; i++ {
		if err := s.AddTaskEvent(ctx, &store.TaskEvent{TaskID: "t0", Type: "log", Body: fmt.Sprintf(`{"n":%d}`, i)}); err != nil {
			t.Fatal(err)
		}
	}
	evs, _ := s.TaskEvents(ctx, "t0", 0)
	if len(evs) != 3 {
		t.Fatalf("events = %v", evs)
	}
	after, _ := s.TaskEvents(ctx, "t0", evs[0].ID)
	if len(after) != 2 || after[0].ID != evs[1].ID {
		t.Errorf("events after %d = %v", evs[0].ID, after)
	}
	got, err := s.UpdateTask(ctx, "t0", func(task *store.Task) error { task.Status = store.TaskCompleted; return nil })
	if err != nil || got.Status != store.TaskCompleted {
		t.Errorf("UpdateTask = %+v, %v", got, err)
	}
	readableTasks(t, s)
}

// readableTasks: a task keeps the teams it was created for, and ReadableBy lists the tasks of a user
// and of their teams only.
func readableTasks(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i, tk := range []store.Task{
		{ID: "r-pay", CreatedBy: "user:default/pat", Teams: []string{"payments", "web"}},
		{ID: "r-search", CreatedBy: "user:default/sam", Teams: []string{"search"}},
		{ID: "r-none", CreatedBy: "user:default/nat"},
	} {
		tk.TemplateRef, tk.Spec, tk.Status, tk.CreatedAt = "template:default/x", "{}", store.TaskCompleted, time.Now().Add(time.Duration(i)*time.Millisecond)
		if err := s.CreateTask(ctx, tk); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.GetTask(ctx, "r-pay"); err != nil || !reflect.DeepEqual(got.Teams, []string{"payments", "web"}) {
		t.Errorf("GetTask teams = %v, %v", got.Teams, err)
	}
	if got, err := s.UpdateTask(ctx, "r-pay", func(tk *store.Task) error { tk.State = `{"x":1}`; return nil }); err != nil || len(got.Teams) != 2 {
		t.Errorf("UpdateTask lost the teams: %v, %v", got.Teams, err)
	}
	ids := func(r *store.TaskReader) []string {
		list, total, err := s.ListTasks(ctx, store.TaskFilter{ReadableBy: r, Ascending: true, Status: store.TaskCompleted})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, tk := range list {
			if strings.HasPrefix(tk.ID, "r-") {
				out = append(out, tk.ID)
			}
		}
		if total != len(list) {
			t.Errorf("total %d, want %d (the filtered count)", total, len(list))
		}
		return out
	}
	for _, tt := range []struct {
		r    *store.TaskReader
		want []string
	}{
		{&store.TaskReader{Ref: "user:default/sam", Teams: []string{"search"}}, []string{"r-search"}},
		{&store.TaskReader{Ref: "user:default/wes", Teams: []string{"web", "ops"}}, []string{"r-pay"}},
		{&store.TaskReader{Ref: "user:default/nat"}, []string{"r-none"}},
		{&store.TaskReader{Ref: "user:default/eve", Teams: []string{"fraud"}}, nil},
		{nil, []string{"r-pay", "r-search", "r-none"}},
	} {
		if got := ids(tt.r); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ReadableBy %+v = %v, want %v", tt.r, got, tt.want)
		}
	}
}

// race runs fn from n goroutines until each returns false, and returns every value claimed, checking that
// none was claimed twice.
func race(t *testing.T, n int, fn func() (string, bool)) []string {
	var mu sync.Mutex
	seen := map[string]bool{}
	var out []string
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				v, ok := fn()
				if !ok {
					return
				}
				mu.Lock()
				if seen[v] {
					t.Errorf("%s claimed twice", v)
				}
				seen[v] = true
				out = append(out, v)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return out
}

func deployments(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	add := func(d store.Deployment) store.Deployment {
		t.Helper()
		d.Pushed = now
		if err := s.AddDeployment(ctx, &d); err != nil || d.ID == 0 {
			t.Fatalf("AddDeployment = %d, %v", d.ID, err)
		}
		return d
	}
	first := add(store.Deployment{App: "orders", Environment: "dev", Image: "r/orders:v1", Status: "deployed"})
	second := add(store.Deployment{App: "orders", Environment: "prod", Image: "r/orders:v1", Change: 7, Status: "proposed"})
	add(store.Deployment{App: "billing", Environment: "dev", Image: "r/billing:v3", Status: "deployed"})

	all, err := s.ListDeployments(ctx, store.DeploymentFilter{})
	if err != nil || len(all) != 3 || all[0].App != "billing" || all[2].ID != first.ID {
		t.Fatalf("ListDeployments = %+v, %v; want 3, newest first", all, err)
	}
	for _, tt := range []struct {
		name string
		f    store.DeploymentFilter
		want []int64
	}{
		{"by app", store.DeploymentFilter{App: "orders"}, []int64{second.ID, first.ID}},
		{"by app and environment", store.DeploymentFilter{App: "orders", Environment: "dev"}, []int64{first.ID}},
		{"by change", store.DeploymentFilter{Change: 7}, []int64{second.ID}},
		{"by status", store.DeploymentFilter{Status: "proposed"}, []int64{second.ID}},
		{"limited", store.DeploymentFilter{Limit: 1}, []int64{all[0].ID}},
	} {
		got, err := s.ListDeployments(ctx, tt.f)
		var ids []int64
		for _, d := range got {
			ids = append(ids, d.ID)
		}
		if err != nil || fmt.Sprint(ids) != fmt.Sprint(tt.want) {
			t.Errorf("%s: got %v (%v), want %v", tt.name, ids, err, tt.want)
		}
	}

	merged, err := s.UpdateDeployment(ctx, second.ID, func(d *store.Deployment) error {
		d.Status, d.Commit, d.Committed = "merged", "abc123", now
		return nil
	})
	if err != nil || merged.Status != "merged" {
		t.Fatalf("UpdateDeployment = %+v, %v", merged, err)
	}
	got, _ := s.ListDeployments(ctx, store.DeploymentFilter{Change: 7})
	if len(got) != 1 || got[0].Status != "merged" || got[0].Commit != "abc123" || !got[0].Committed.Equal(now) || !got[0].Pushed.Equal(now) {
		t.Errorf("after the update: %+v", got)
	}
	boom := errors.New("boom")
	if _, err := s.UpdateDeployment(ctx, second.ID, func(d *store.Deployment) error { d.Status = "lost"; return boom }); !errors.Is(err, boom) {
		t.Errorf("a failing update: got %v, want its error", err)
	}
	if got, _ := s.ListDeployments(ctx, store.DeploymentFilter{Change: 7}); got[0].Status != "merged" {
		t.Errorf("a failing update wrote %q", got[0].Status)
	}
	if _, err := s.UpdateDeployment(ctx, 999_999, func(*store.Deployment) error { return nil }); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an unknown deployment: got %v, want ErrNotFound", err)
	}
}
