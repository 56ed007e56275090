package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/app"
	"github.com/goldenpathidp/goldenpath/internal/auth"
	"github.com/goldenpathidp/goldenpath/internal/contract"
	"github.com/goldenpathidp/goldenpath/internal/scaffold"
	"github.com/goldenpathidp/goldenpath/internal/store"
)

func startApp(ctx context.Context, getenv func(string) string) (*app.App, string, error) {
	dir, err := os.MkdirTemp("", "goldenpath-bench-")
	if err != nil {
		return nil, "", err
	}
	a, err := app.Start(ctx, app.Config{DataDir: dir, Addr: "127.0.0.1:0", S3Addr: "127.0.0.1:0",
		Logger: slog.New(slog.DiscardHandler), Getenv: getenv})
	return a, dir, err
}

// people creates a developer and an approver.
func people(ctx context.Context, a *app.App) (auth.Principal, auth.Principal, error) {
	dev := store.User{Name: "alice", Roles: []string{store.RoleDeveloper}, Teams: []string{"payments"}}
	appr := store.User{Name: "bob", Roles: []string{store.RoleApprover}, Teams: []string{"platform"}}
	for _, u := range []store.User{dev, appr} {
		if _, err := a.Auth.AddUser(ctx, u); err != nil {
			return auth.Principal{}, auth.Principal{}, err
		}
	}
	return auth.Principal{Name: dev.Name, Roles: dev.Roles, Teams: dev.Teams}, auth.Principal{Name: appr.Name, Roles: appr.Roles, Teams: appr.Teams}, nil
}

func doc(kind contract.Kind, name string) string {
	spec := "  size: small\n"
	switch kind {
	case contract.Secret:
		spec = "  description: bench\n"
	case contract.RDS:
		spec = "  engine: postgres\n  size: small\n"
	}
	return fmt.Sprintf("apiVersion: goldenpath.io/v1\nkind: %s\nmetadata: {name: %s, owner: alice, team: payments, environment: dev}\nspec:\n%s", kind, name, spec)
}

// waitPhase polls the store every millisecond.
func waitPhase(ctx context.Context, s store.Store, id, phase string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		r, err := s.GetRequest(ctx, id)
		if err == nil && r.Phase == phase {
			return nil
		}
		if err == nil && r.Phase == store.PhaseFailed {
			return fmt.Errorf("%s failed: %+v", id, r.Conditions)
		}
		time.Sleep(time.Millisecond)
	}
	return fmt.Errorf("%s did not reach %s within %s", id, phase, timeout)
}

func latency(ctx context.Context, n int, pg string) error {
	getenv := func(k string) string {
		if k == "GOLDENPATH_POSTGRES_URL" {
			return pg
		}
		return ""
	}
	a, dir, err := startApp(ctx, getenv)
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	defer a.Close()
	dev, appr, err := people(ctx, a)
	if err != nil {
		return err
	}
	kinds := []contract.Kind{contract.ECR, contract.S3, contract.Secret}
	if pg != "" {
		kinds = append(kinds, contract.RDS)
	}
	fmt.Printf("merge → Ready latency (in-process, %d samples per kind; from the merge call to the Ready status)\n", n)
	for _, k := range kinds {
		var samples, mergeCalls []time.Duration
		for i := 0; i < n; i++ {
			name := fmt.Sprintf("b%d-%d", i, time.Now().UnixNano()%100000)
			r, err := contract.ParseOne("bench", []byte(doc(k, name)))
			if err != nil {
				return err
			}
			filed, err := a.Requests.Create(ctx, dev, r)
			if err != nil {
				return err
			}
			if _, err := a.Changes.Approve(ctx, appr, filed.Change.Number, ""); err != nil {
				return err
			}
			t0 := time.Now()
			if _, err := a.Changes.Merge(ctx, appr, filed.Change.Number); err != nil {
				return err
			}
			mergeCalls = append(mergeCalls, time.Since(t0))
			if err := waitPhase(ctx, a.Store, string(r.ID()), store.PhaseReady, 30*time.Second); err != nil {
				return err
			}
			samples = append(samples, time.Since(t0))
		}
		fmt.Printf("  %-14s p50 %-8s p95 %-8s (merge call alone: p50 %s)\n", k, pct(samples, 50), pct(samples, 95), pct(mergeCalls, 50))
	}
	fmt.Println()
	return nil
}

func pct(d []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (len(s)*p + 99) / 100
	return s[max(i-1, 0)].Round(100 * time.Microsecond)
}

func scaffoldUser(ctx context.Context, a *app.App) (scaffold.User, error) {
	u, err := a.Store.GetUser(ctx, "alice")
	if err != nil {
		return scaffold.User{}, err
	}
	return scaffold.User{Ref: "user:default/alice", Name: u.Name, Teams: u.Teams, Roles: u.Roles,
		Entity: map[string]any{"metadata": map[string]any{"name": u.Name}}}, nil
}
