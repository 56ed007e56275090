package sqlite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goldenpathidp/goldenpath/internal/store"
	"github.com/goldenpathidp/goldenpath/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := Open(context.Background(), filepath.Join(t.TempDir(), "goldenpath.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "goldenpath.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetMeta(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(ctx, path) // migrations must not run twice
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.GetMeta(ctx, "k"); v != "v" {
		t.Errorf("after reopen: %q, %v", v, err)
	}
}

func TestDeploymentsKeepTheNewest(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "goldenpath.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// A full history, written in one statement rather than ten thousand calls.
	if _, err := s.db.ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < ?)
		INSERT INTO deployments(app, environment, image, pushed_at, status) SELECT 'orders', 'dev', 'r/orders:' || i, i, 'deployed' FROM n`, store.MaxDeployments); err != nil {
		t.Fatal(err)
	}
	d := store.Deployment{App: "orders", Environment: "dev", Image: "r/orders:new", Status: "deployed"}
	if err := s.AddDeployment(ctx, &d); err != nil {
		t.Fatal(err)
	}
	all, err := s.ListDeployments(ctx, store.DeploymentFilter{})
	if err != nil || len(all) != store.MaxDeployments {
		t.Fatalf("got %d deployments (%v), want the newest %d", len(all), err, store.MaxDeployments)
	}
	if all[0].Image != "r/orders:new" || all[len(all)-1].Image != "r/orders:2" {
		t.Errorf("kept %s … %s, want r/orders:new … r/orders:2 (the oldest dropped)", all[0].Image, all[len(all)-1].Image)
	}
}

// TestDataFilesArePrivate: the database and the -wal and -shm files SQLite creates next to it are readable
// only by goldenpath's user, from the first open, after writes, and after a reopen of files left 0644.
func TestDataFilesArePrivate(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "goldenpath.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	wantPrivate(t, "after open", path, path+"-wal", path+"-shm")
	for i := range 50 {
		if err := s.SetMeta(ctx, fmt.Sprintf("k%d", i), strings.Repeat("v", 4096)); err != nil {
			t.Fatal(err)
		}
	}
	wantPrivate(t, "after writes", path, path+"-wal", path+"-shm")
	s.Close()

	// A data directory from before: the files were 0644.
	if err := os.WriteFile(path+"-wal", nil, 0o644); err != nil { // an empty WAL: no frames to replay
		t.Fatal(err)
	}
	for _, name := range []string{path, path + "-wal"} {
		if err := os.Chmod(name, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.GetMeta(ctx, "k7"); err != nil || len(v) != 4096 {
		t.Fatalf("after reopening: k7 = %d bytes, %v; want the 4096 written", len(v), err)
	}
	wantPrivate(t, "after reopening 0644 files", path, path+"-wal", path+"-shm")
}

func wantPrivate(t *testing.T, when string, names ...string) {
	t.Helper()
	for _, name := range names {
		info, err := os.Stat(name)
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if got := info.Mode().Perm(); got != 0o600 {
			t.Errorf("%s: %s has mode %o, want 600", when, filepath.Base(name), got)
		}
	}
}
