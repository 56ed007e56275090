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
		{"changing and deleting users", changeAndDeleteUsers},
		{"user changes race", userChangesRace},
		{"change requests", changes},
		{"requests and events", requests},
		{"work queue", queue},
		{"work queue leases exclusively", queueExclusive},
		{"work queue lease renewal", leaseRenewal},
		{"secrets and meta", secretsAndMeta},
		{"tasks", tasks},
		{"deployments", deployments},
		{"commit pushers", commitPushers},
		{"app claims", appClaims},
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

func changeAndDeleteUsers(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, u := range []store.User{
		{Name: "alice", Roles: []string{store.RoleDeveloper}, Teams: []string{"payments"}, CreatedAt: time.Now()},
		{Name: "bob", Roles: []string{store.RoleAdmin}, CreatedAt: time.Now()},
	} {
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	exp := time.Now().Add(time.Hour).Round(0)
	for _, tok := range []store.Token{
		{ID: "a1", User: "alice", Hash: []byte("ha1"), Description: "laptop", CreatedAt: time.Now()},
		{ID: "a2", User: "alice", Hash: []byte("ha2"), CreatedAt: time.Now(), ExpiresAt: &exp},
		{ID: "b1", User: "bob", Hash: []byte("hb1"), CreatedAt: time.Now()},
	} {
		if err := s.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.GetToken(ctx, "a2")
	if err != nil || got.User != "alice" || got.ExpiresAt == nil || !got.ExpiresAt.Equal(exp) {
		t.Errorf("GetToken(a2) = %+v, %v; want alice's token expiring at %s", got, err, exp)
	}
	if _, err := s.GetToken(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetToken(unknown): got %v, want ErrNotFound", err)
	}

	// ChangeUser sees the other users and writes what fn leaves.
	u, err := s.ChangeUser(ctx, "alice", func(u *store.User, others []store.User) error {
		if len(others) != 1 || others[0].Name != "bob" {
			t.Errorf("others = %+v, want just bob", others)
		}
		u.Roles, u.Teams = []string{store.RoleApprover}, []string{"search", "payments"}
		u.Name = "mallory" // the name cannot change
		return nil
	})
	if err != nil || u.Name != "alice" {
		t.Fatalf("ChangeUser = %+v, %v", u, err)
	}
	got2, _ := s.GetUser(ctx, "alice")
	if len(got2.Roles) != 1 || got2.Roles[0] != store.RoleApprover || len(got2.Teams) != 2 || got2.Teams[0] != "search" {
		t.Errorf("after ChangeUser: %+v", got2)
	}
	if _, err := s.GetUser(ctx, "mallory"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ChangeUser renamed the user: GetUser(mallory) = %v", err)
	}
	boom := errors.New("refused")
	if _, err := s.ChangeUser(ctx, "alice", func(u *store.User, _ []store.User) error {
		u.Roles = []string{store.RoleAdmin}
		return boom
	}); !errors.Is(err, boom) {
		t.Errorf("ChangeUser with a failing fn: got %v, want its error", err)
	}
	if got3, _ := s.GetUser(ctx, "alice"); got3.Roles[0] != store.RoleApprover {
		t.Errorf("a refused change was written: %+v", got3)
	}
	if _, err := s.ChangeUser(ctx, "nobody", func(*store.User, []store.User) error { return nil }); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ChangeUser(unknown): got %v, want ErrNotFound", err)
	}

	// DeleteUser asks check first and takes every token of the user with it, and only theirs.
	if _, err := s.DeleteUser(ctx, "alice", func(store.User, []store.User) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("DeleteUser refused by check: got %v", err)
	}
	if _, err := s.GetUser(ctx, "alice"); err != nil {
		t.Errorf("a refused delete removed the user: %v", err)
	}
	n, err := s.DeleteUser(ctx, "alice", func(u store.User, others []store.User) error {
		if u.Name != "alice" || len(others) != 1 {
			t.Errorf("check got %+v and %+v", u, others)
		}
		return nil
	})
	if err != nil || n != 2 {
		t.Errorf("DeleteUser = %d, %v; want 2 tokens deleted", n, err)
	}
	if _, err := s.GetUser(ctx, "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted user: GetUser = %v", err)
	}
	for _, h := range []string{"ha1", "ha2"} {
		if _, err := s.TokenByHash(ctx, []byte(h)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a deleted user's token %s still authenticates: %v", h, err)
		}
	}
	if toks, err := s.ListTokens(ctx, "alice"); err != nil || len(toks) != 0 {
		t.Errorf("a deleted user's tokens: %+v, %v", toks, err)
	}
	if _, err := s.TokenByHash(ctx, []byte("hb1")); err != nil {
		t.Errorf("another user's token went too: %v", err)
	}
	if _, err := s.DeleteUser(ctx, "alice", nil); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting twice: got %v, want ErrNotFound", err)
	}
}

// userChangesRace demotes two admins at once, each change allowed only if another admin remains: one must
// lose, so an admin is left.
func userChangesRace(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, name := range []string{"ann", "ben"} {
		if err := s.CreateUser(ctx, store.User{Name: name, Roles: []string{store.RoleAdmin}, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	lastAdmin := errors.New("last admin")
	keepOne := func(others []store.User) error {
		for _, o := range others {
			if len(o.Roles) > 0 && o.Roles[0] == store.RoleAdmin {
				return nil
			}
		}
		return lastAdmin
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, name := range []string{"ann", "ben"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i == 0 {
				_, errs[i] = s.ChangeUser(ctx, name, func(u *store.User, others []store.User) error {
					u.Roles = []string{store.RoleDeveloper}
					return keepOne(others)
				})
			} else {
				_, errs[i] = s.DeleteUser(ctx, name, func(_ store.User, others []store.User) error { return keepOne(others) })
			}
		}()
	}
	wg.Wait()
	users, err := s.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	admins := 0
	for _, u := range users {
		if u.Roles[0] == store.RoleAdmin {
			admins++
		}
	}
	if admins != 1 {
		t.Errorf("after racing demote and delete: %d admins (%+v), errors %v; want exactly 1", admins, users, errs)
	}
	if (errs[0] == nil) == (errs[1] == nil) || (!errors.Is(errs[0], lastAdmin) && !errors.Is(errs[1], lastAdmin)) {
		t.Errorf("errors = %v; want exactly one 'last admin'", errs)
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

func leaseRenewal(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := time.Now()
	if err := s.Enqueue(ctx, "a", store.ActionApply, "h1", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.Lease(ctx, "w1", now, time.Minute); err != nil || !ok {
		t.Fatalf("Lease = %v, %v", ok, err)
	}
	// Renewed for an hour, the item stays w1's past the first minute.
	if err := s.RenewLease(ctx, "a", "w1", now.Add(time.Hour)); err != nil {
		t.Fatalf("RenewLease by the holder = %v", err)
	}
	if w, ok, _ := s.Lease(ctx, "w2", now.Add(30*time.Minute), time.Minute); ok {
		t.Fatalf("a renewed lease was taken before its new expiry: %+v", w)
	}
	// A renewal never shortens the lease.
	if err := s.RenewLease(ctx, "a", "w1", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if w, ok, _ := s.Lease(ctx, "w2", now.Add(30*time.Minute), time.Minute); ok {
		t.Fatalf("a renewal shortened the lease: %+v", w)
	}
	// Once it has expired another worker takes it, and the old holder's renewal fails.
	if w, ok, _ := s.Lease(ctx, "w2", now.Add(2*time.Hour), time.Minute); !ok || w.LeaseOwner != "w2" {
		t.Fatalf("expired lease not taken: %+v, %v", w, ok)
	}
	if err := s.RenewLease(ctx, "a", "w1", now.Add(3*time.Hour)); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("RenewLease of a lease w2 holds = %v, want ErrLeaseLost", err)
	}
	if w, ok, _ := s.Lease(ctx, "w3", now.Add(2*time.Hour+30*time.Second), time.Minute); ok {
		t.Errorf("the failed renewal released w2's lease: %+v", w)
	}
	// A completed item has no lease to renew.
	if err := s.Complete(ctx, "a", 1); err != nil {
		t.Fatal(err)
	}
	if err := s.RenewLease(ctx, "a", "w2", now.Add(3*time.Hour)); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("RenewLease of a completed item = %v, want ErrLeaseLost", err)
	}
	if err := s.RenewLease(ctx, "missing", "w2", now.Add(time.Hour)); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("RenewLease of an unknown item = %v, want ErrLeaseLost", err)
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

func appClaims(t *testing.T, s store.Store) {
	ctx := context.Background()
	t0 := time.Now().UTC().Truncate(time.Microsecond)
	claim := func(name, repo string, at time.Time) store.AppClaim {
		t.Helper()
		c, err := s.ClaimAppName(ctx, name, repo, at)
		if err != nil {
			t.Fatalf("ClaimAppName(%s, %s): %v", name, repo, err)
		}
		return c
	}
	if c := claim("orders", "payments/orders", t0); c.Repo != "payments/orders" || c.Name != "orders" || !c.ClaimedAt.Equal(t0) {
		t.Fatalf("the first claim: %+v", c)
	}
	// The holder keeps the name: a later claim by another repository gets the holder back.
	if c := claim("orders", "search/orders", t0.Add(time.Minute)); c.Repo != "payments/orders" || !c.ClaimedAt.Equal(t0) {
		t.Errorf("a second repository's claim: got %+v, want payments/orders' claim from %v", c, t0)
	}
	// Claiming again is idempotent and keeps the first time.
	if c := claim("orders", "payments/orders", t0.Add(time.Hour)); !c.ClaimedAt.Equal(t0) {
		t.Errorf("claiming again moved the claim's time to %v", c.ClaimedAt)
	}
	claim("billing", "payments/billing", t0)
	// Only the holder releases.
	if err := s.ReleaseAppName(ctx, "orders", "search/orders"); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListAppClaims(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "billing" || list[1].Repo != "payments/orders" {
		t.Fatalf("ListAppClaims = %+v, %v; want billing and orders, orders still payments'", list, err)
	}
	if err := s.ReleaseAppName(ctx, "orders", "payments/orders"); err != nil {
		t.Fatal(err)
	}
	if c := claim("orders", "search/orders", t0.Add(2*time.Hour)); c.Repo != "search/orders" {
		t.Errorf("after the release: %+v, want search/orders' claim", c)
	}
	if err := s.ReleaseAppName(ctx, "nothing", "nobody/x"); err != nil {
		t.Errorf("releasing nothing: %v", err)
	}
	// Racing claimants: exactly one wins and everyone sees the same holder.
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := s.ClaimAppName(ctx, "contested", fmt.Sprintf("team%d/app", i), t0)
			if err != nil {
				t.Errorf("racing claim: %v", err)
				return
			}
			mu.Lock()
			seen[c.Repo] = true
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(seen) != 1 {
		t.Errorf("racing claimants saw %d holders (%v), want one", len(seen), seen)
	}
}

func commitPushers(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := time.Now()
	if err := s.RecordPushers(ctx, "platform", "alice", []string{"a1", "a2"}, now); err != nil {
		t.Fatal(err)
	}
	// A later push of the same commits (to another branch, by someone else) does not change who pushed them first.
	if err := s.RecordPushers(ctx, "platform", "bob", []string{"a2", "b1"}, now); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordPushers(ctx, "payments/orders", "carol", []string{"a1"}, now); err != nil {
		t.Fatal(err)
	}
	many := make([]string, 1200) // more than one lookup batch
	for i := range many {
		many[i] = fmt.Sprintf("m%04d", i)
	}
	if err := s.RecordPushers(ctx, "platform", "dave", many, now); err != nil {
		t.Fatal(err)
	}
	got, err := s.Pushers(ctx, "platform", append([]string{"a1", "a2", "b1", "unknown"}, many...))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a1": "alice", "a2": "alice", "b1": "bob"}
	for _, m := range many {
		want[m] = "dave"
	}
	if len(got) != len(want) {
		t.Errorf("Pushers returned %d commits, want %d", len(got), len(want))
	}
	for sha, w := range want {
		if got[sha] != w {
			t.Errorf("pusher of %s = %q, want %q", sha, got[sha], w)
		}
	}
	other, err := s.Pushers(ctx, "payments/orders", []string{"a1", "a2"})
	if err != nil || len(other) != 1 || other["a1"] != "carol" {
		t.Errorf("Pushers(payments/orders) = %v, %v; want only a1 by carol (repositories are separate)", other, err)
	}
}
