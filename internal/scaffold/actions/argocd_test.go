package actions

import (
	"context"
	"strings"
	"testing"

	"github.com/goldenpathidp/goldenpath/internal/forge"
	"github.com/goldenpathidp/goldenpath/internal/scaffold"
)

func TestArgoCDCreateResources(t *testing.T) {
	ctx := context.Background()
	f := newTestForge(t)
	var published []string
	p := &Publisher{Forge: f, BaseURL: "http://gp", Published: func(_ context.Context, repo string) { published = append(published, repo) }}
	score := "apiVersion: score.dev/v1b1\n# the app\nmetadata:\n  name: orders\ncontainers:\n  main:\n    image: .\n"
	if _, _, err := f.CreateRepoWithCommit(ctx, "payments/orders", "main", forge.CommitOptions{Message: "init",
		Author: forge.Signature{Name: "a", Email: "a@x"}, Changes: []forge.Change{{Path: "score.yaml", Content: []byte(score)}}}); err != nil {
		t.Fatal(err)
	}
	acts := []scaffold.Action{p.ArgoCD(func(context.Context) ([]string, error) { return []string{"dev", "staging", "prod"}, nil })}
	alice := scaffold.User{Name: "alice", Teams: []string{"payments"}}
	step := func(app, env, repo string) string {
		return `    - {id: argo, action: "argocd:create-resources", input: {appName: ` + app + `, argoInstance: ` + env +
			`, namespace: orders, repoUrl: "` + repo + `", path: kubernetes/, labelValue: orders}}` + "\n"
	}
	if _, log, err := runAs(t, alice, acts, step("orders", "staging", "http://gp/git/payments/orders.git"), nil); err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	repo, _ := f.Repo("payments/orders")
	got, _ := repo.ReadFile(ctx, "main", "score.yaml")
	want := "apiVersion: score.dev/v1b1\n# the app\nmetadata:\n  name: orders\n  annotations:\n    goldenpath.io/environments: dev,staging\ncontainers:\n  main:\n    image: .\n"
	if string(got) != want {
		t.Errorf("score.yaml:\n%s\nwant\n%s", got, want)
	}
	if len(published) != 1 || published[0] != "payments/orders" {
		t.Errorf("delivery was told of %v", published)
	}
	// Again: nothing changes, no commit.
	log1, _ := repo.Log(ctx, "main", 10)
	if _, _, err := runAs(t, alice, acts, step("orders", "staging", "gitlab.com?owner=payments&repo=orders"), nil); err != nil {
		t.Fatal(err)
	}
	if log2, _ := repo.Log(ctx, "main", 10); len(log2) != len(log1) {
		t.Errorf("a second run committed again")
	}

	bob := scaffold.User{Name: "bob", Teams: []string{"search"}}
	for _, tt := range []struct {
		user      scaffold.User
		step, err string
	}{
		{alice, step("payments-api", "dev", "http://gp/git/payments/orders.git"), `the workload is named "orders"`},
		{alice, step("orders", "moon", "http://gp/git/payments/orders.git"), "not an environment of platform.yaml (dev, staging, prod)"},
		{alice, step("orders", "dev", "http://gp/git/payments/nothing.git"), "does not exist"},
		{bob, step("orders", "prod", "http://gp/git/payments/orders.git"), "may publish under"},
	} {
		if _, _, err := runAs(t, tt.user, acts, tt.step, nil); err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%s: got %v, want an error containing %q", tt.step, err, tt.err)
		}
	}
	if got, _ := repo.ReadFile(ctx, "main", "score.yaml"); strings.Contains(string(got), "prod") {
		t.Errorf("bob delivered payments' app to prod")
	}
}
