package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/app"
	"github.com/goldenpathidp/goldenpath/internal/contract"
	"github.com/goldenpathidp/goldenpath/internal/forge"
	"github.com/goldenpathidp/goldenpath/internal/provision/local"
	"github.com/jackc/pgx/v5"
)

// crashHook stops the program at the k-th boundary of applying one request: it signals, then blocks until
// the program is shut down, so nothing after that boundary runs — as if the process were killed there.
type crashHook struct {
	mu      sync.Mutex
	target  contract.ID
	k       int
	seen    []string
	crashed chan struct{}
}

func (h *crashHook) hook(ctx context.Context, id contract.ID, action, step string) error {
	if id != h.target || action != "apply" {
		return nil
	}
	h.mu.Lock()
	h.seen = append(h.seen, step)
	n := len(h.seen)
	h.mu.Unlock()
	if n-1 != h.k {
		return nil
	}
	close(h.crashed)
	<-ctx.Done()
	return ctx.Err()
}

// boundaries runs one request without crashing and returns its boundaries.
func boundaries(t *testing.T, kind, spec string, cfg func(*app.Config)) []string {
	name := "p" + suffix() // unique: a shared PostgreSQL server keeps databases from earlier runs
	h := &crashHook{target: contract.MakeID(contract.Kind(kind), "dev", name), k: -1}
	e := start(t, startOptions{config: func(c *app.Config) { c.StepHook = h.hook; apply(cfg, c) }})
	tm := cast(e)
	e.approveAndMerge(e.file(tm.alice, contractDoc(kind, name, "alice", "payments", "dev", spec)), tm.bob)
	e.waitPhase(string(h.target), "Ready", 20*time.Second)
	e.app.Close()
	return h.seen
}

func apply(f func(*app.Config), c *app.Config) {
	if f != nil {
		f(c)
	}
}

// TestCrashAtEveryStep stops the program at each step boundary of a provisioning, starts it again on the
// same data directory, and checks that the request becomes Ready with exactly one of each resource.
func TestCrashAtEveryStep(t *testing.T) {
	kinds := []struct {
		kind, spec string
		needsPG    bool
		count      func(t *testing.T, a *app.App, id contract.ID) string // describes what exists for id
	}{
		{"S3Request", "  size: small\n", false, countS3},
		{"ECRRequest", "  size: small\n", false, countECR},
		{"SecretRequest", "  description: x\n", false, countSecret},
		{"RDSRequest", "  engine: postgres\n  size: small\n", true, countRDS},
	}
	for _, k := range kinds {
		t.Run(k.kind, func(t *testing.T) {
			var cfg func(*app.Config)
			if k.needsPG {
				pg := postgresURL(t)
				cfg = func(c *app.Config) {
					c.Getenv = func(key string) string {
						if key == "GOLDENPATH_POSTGRES_URL" {
							return pg
						}
						return ""
					}
				}
			}
			steps := boundaries(t, k.kind, k.spec, cfg)
			if len(steps) < 2 {
				t.Fatalf("only %d boundaries: %v", len(steps), steps)
			}
			for i, step := range steps {
				t.Run(fmt.Sprintf("%d %s", i, step), func(t *testing.T) {
					crashAt(t, k.kind, k.spec, i, cfg, k.count)
				})
			}
		})
	}
}

func crashAt(t *testing.T, kind, spec string, k int, cfg func(*app.Config), count func(*testing.T, *app.App, contract.ID) string) {
	name := "c" + suffix()
	id := contract.MakeID(contract.Kind(kind), "dev", name)
	h := &crashHook{target: id, k: k, crashed: make(chan struct{})}
	dir := t.TempDir()
	e := start(t, startOptions{dir: dir, config: func(c *app.Config) { c.StepHook = h.hook; apply(cfg, c) }})
	tm := cast(e)
	e.approveAndMerge(e.file(tm.alice, contractDoc(kind, name, "alice", "payments", "dev", spec)), tm.bob)
	select {
	case <-h.crashed:
	case <-time.After(20 * time.Second):
		t.Fatalf("never reached boundary %d", k)
	}
	e.app.Close() // the "kill": the hooked worker never gets past the boundary

	again := start(t, startOptions{dir: dir, config: func(c *app.Config) { apply(cfg, c) }})
	again.waitPhase(string(id), "Ready", 30*time.Second)
	if got := count(t, again.app, id); got != "1" {
		t.Errorf("after a crash at boundary %d: %s, want exactly one", k, got)
	}
}

func countS3(t *testing.T, a *app.App, id contract.ID) string {
	ctx := context.Background()
	buckets, err := a.Objects.Buckets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, b := range buckets {
		if b.Options.Tags[local.LabelRequestID] == string(id) {
			n++
		}
	}
	keys, _ := a.Vault.List(ctx, "accesskey/")
	if n != 1 || len(keys) != 1 {
		return fmt.Sprintf("%d buckets and %d access keys", n, len(keys))
	}
	return "1"
}

func countECR(t *testing.T, a *app.App, id contract.ID) string {
	repos, err := a.Registry.Repositories(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range repos {
		if r.Settings.Labels[local.LabelRequestID] == string(id) {
			names = append(names, r.Name)
		}
	}
	if len(names) != 1 {
		return fmt.Sprintf("%d repositories %v", len(names), names)
	}
	return "1"
}

func countSecret(t *testing.T, a *app.App, id contract.ID) string {
	rec, err := a.Store.GetRequest(context.Background(), string(id))
	if err != nil || rec.Outputs["secret"] != string(id) {
		return fmt.Sprintf("record %+v, %v", rec, err)
	}
	return "1"
}

func countRDS(t *testing.T, a *app.App, id contract.ID) string {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, postgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tag := local.LabelRequestID + "=" + string(id) + " "
	var dbs, roles int
	_ = conn.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE starts_with(shobj_description(oid, 'pg_database'), $1)`, tag).Scan(&dbs)
	_ = conn.QueryRow(ctx, `SELECT count(*) FROM pg_roles WHERE starts_with(shobj_description(oid, 'pg_authid'), $1)`, tag).Scan(&roles)
	db := strings.ReplaceAll(strings.TrimPrefix(string(id), "rds.dev."), "-", "_") + "_dev"
	var untagged int
	_ = conn.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname = $1`, db).Scan(&untagged)
	if dbs != 1 || roles != 1 || untagged != 1 {
		return fmt.Sprintf("%d tagged databases, %d tagged roles, %d databases named %s", dbs, roles, untagged, db)
	}
	return "1"
}

// TestMergeRecordedOnlyInGit covers a stop between the git merge and the store update: the next start
// marks the change request merged and the reconciler provisions the request.
func TestMergeRecordedOnlyInGit(t *testing.T) {
	dir := t.TempDir()
	e := start(t, startOptions{dir: dir})
	tm := cast(e)
	n := e.file(tm.alice, contractDoc("SecretRequest", "halfway", "alice", "payments", "dev", "  description: x\n"))
	e.must(200, "POST", fmt.Sprintf("/api/v1/changes/%d/approve", n), tm.bob, nil)
	ctx := context.Background()
	c, err := e.app.Changes.Get(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	e.app.Close()
	// What Merge does in git, without the store update that would follow. main is read once goldenpath has
	// stopped: until then its own commits (rendered files) may move it.
	f, err := forge.New(dir+"/repos", forge.Options{})
	if err != nil {
		t.Fatal(err)
	}
	repo, _ := f.Repo("platform")
	main, err := repo.ResolveRef(ctx, "main")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Merge(ctx, "main", main, c.HeadSHA, "merge", forge.Signature{Name: "bob", Email: "bob@example.com"}); err != nil {
		t.Fatal(err)
	}
	again := start(t, startOptions{dir: dir})
	again.waitPhase("secret.dev.halfway", "Ready", 10*time.Second)
	if got := again.must(200, "GET", fmt.Sprintf("/api/v1/changes/%d", n), again.admin, nil).field(t, "state"); got != "merged" {
		t.Errorf("change request state after restart = %v, want merged", got)
	}
}
