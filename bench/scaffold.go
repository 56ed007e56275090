package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/catalog"
	"github.com/goldenpathidp/goldenpath/internal/scaffolder"
	"github.com/goldenpathidp/goldenpath/internal/store"
)

// scaffolding times the stateless app-template end to end (render, publish to the embedded forge,
// register in the catalog; no registry request) and as a dry run.
func scaffolding(ctx context.Context, n int) error {
	a, dir, err := startApp(ctx, func(string) string { return "" })
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	defer a.Close()
	if _, _, err := people(ctx, a); err != nil {
		return err
	}
	user, err := scaffoldUser(ctx, a)
	if err != nil {
		return err
	}
	var runs, dry []time.Duration
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("svc%d", i)
		values := map[string]any{"name": name, "owner": "group:default/payments", "registry": false,
			"repoUrl": "goldenpath?owner=payments&repo=" + name}
		t0 := time.Now()
		if _, err := a.Scaffolder.DryRun(ctx, scaffolder.DryRunInput{TemplateRef: "app-template", Values: values, User: user}); err != nil {
			return err
		}
		dry = append(dry, time.Since(t0))

		t0 = time.Now()
		id, err := a.Scaffolder.Create(ctx, scaffolder.CreateInput{TemplateRef: "app-template", Values: values, User: user})
		if err != nil {
			return err
		}
		if err := waitTask(ctx, a.Store, id); err != nil {
			return err
		}
		runs = append(runs, time.Since(t0))
		if _, err := a.Catalog.Get(ctx, catalog.Ref{Kind: "component", Namespace: "default", Name: name}); err != nil {
			return fmt.Errorf("component %s not in the catalog when its task completed: %w", name, err)
		}
	}
	fmt.Printf("scaffolder, app-template (%d runs each; registry request off)\n", n)
	fmt.Printf("  dry run:                                  p50 %-8s p95 %s\n", pct(dry, 50), pct(dry, 95))
	fmt.Printf("  task: render + publish + register (API → completed, component in the catalog): p50 %-8s p95 %s\n\n", pct(runs, 50), pct(runs, 95))
	return nil
}

func waitTask(ctx context.Context, s store.Store, id string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		t, err := s.GetTask(ctx, id)
		if err != nil {
			return err
		}
		switch t.Status {
		case store.TaskCompleted:
			return nil
		case store.TaskFailed, store.TaskCancelled:
			return fmt.Errorf("task %s %s: %s", id, t.Status, t.State)
		}
		time.Sleep(200 * time.Microsecond)
	}
	return fmt.Errorf("task %s did not finish", id)
}
