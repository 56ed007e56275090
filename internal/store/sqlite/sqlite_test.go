package sqlite

import (
	"context"
	"path/filepath"
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
