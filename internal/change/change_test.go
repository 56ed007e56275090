package change

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goldenpathidp/goldenpath/internal/auth"
	"github.com/goldenpathidp/goldenpath/internal/contract"
	"github.com/goldenpathidp/goldenpath/internal/forge"
	"github.com/goldenpathidp/goldenpath/internal/platform"
	"github.com/goldenpathidp/goldenpath/internal/problem"
	"github.com/goldenpathidp/goldenpath/internal/store"
	"github.com/goldenpathidp/goldenpath/internal/store/sqlite"
)

var (
	alice = auth.Principal{Name: "alice", Roles: []string{store.RoleDeveloper}, Teams: []string{"payments"}}
	bob   = auth.Principal{Name: "bob", Roles: []string{store.RoleApprover}}
	carol = auth.Principal{Name: "carol", Roles: []string{store.RoleApprover}}
)

func newService(t *testing.T) (*Service, *forge.Repo) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	f, err := forge.New(filepath.Join(dir, "repos"), forge.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.CreateRepo(ctx, "platform", "main")
	repo, _ := f.Repo("platform")
	if _, err := repo.Commit(ctx, forge.CommitOptions{Branch: "main", Message: "seed", Author: forge.Signature{Name: "t", Email: "t@x"},
		Changes: []forge.Change{{Path: platform.Path, Content: platform.DefaultYAML("example.com")}}}); err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return New(Options{Repo: repo, Store: st}), repo
}

func rds(env, size, extra string) forge.Change {
	return forge.Change{Path: contract.PathFor(contract.RDS, "orders"), Content: []byte(
		"apiVersion: goldenpath.io/v1\nkind: RDSRequest\nmetadata: {name: orders, owner: alice, team: payments, environment: " + env +
			"}\nspec:\n  engine: postgres\n  size: " + size + "\n" + extra)}
}

func open(t *testing.T, s *Service, ch ...forge.Change) store.Change {
	t.Helper()
	c, err := s.Open(context.Background(), alice, OpenInput{Title: "test", Changes: ch})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func code(err error) problem.Code {
	var p *problem.Error
	if errors.As(err, &p) {
		return p.Code
	}
	return ""
}

func TestApprovalsFollowTheStrictestEnvironment(t *testing.T) {
	ctx := context.Background()
	s, _ := newService(t)
	c := open(t, s, rds("prod", "small", ""))
	ev, err := s.Evaluate(ctx, c)
	if err != nil || ev.Required != 2 {
		t.Fatalf("prod change requires %d approvals (%v), want 2", ev.Required, err)
	}
	if got := ev.Plan; len(got) != 1 || got[0].Action != "create" || got[0].RequestID != "rds.prod.orders" {
		t.Errorf("plan = %+v", got)
	}
	s.Approve(ctx, bob, c.Number, "")
	if _, err := s.Merge(ctx, bob, c.Number); code(err) != problem.Precondition {
		t.Fatalf("merge with 1 of 2 approvals: %v", err)
	}
	s.Approve(ctx, carol, c.Number, "")
	if _, err := s.Merge(ctx, carol, c.Number); err != nil {
		t.Fatalf("merge with 2 approvals: %v", err)
	}
	cfg := open(t, s, forge.Change{Path: platform.Path, Content: append(platform.DefaultYAML("example.com"), []byte("# tweak\n")...)})
	if ev, _ := s.Evaluate(ctx, cfg); ev.Required != 2 {
		t.Errorf("a platform.yaml change requires %d approvals, want the strictest environment's 2", ev.Required)
	}
	// An environment's rendered tree (an image pin, its Terraform) needs that environment's approvals.
	for path, want := range map[string]int{
		"gitops/kustomize/overlays/prod/apps/orders/kustomization.yaml": 2,
		"envs/prod/route53.tf": 2,
		"gitops/kustomize/overlays/dev/apps/orders/kustomization.yaml": 1,
		"docs/notes.md": 1,
	} {
		c := open(t, s, forge.Change{Path: path, Content: []byte("x: 1\n")})
		if ev, _ := s.Evaluate(ctx, c); ev.Required != want {
			t.Errorf("a change of %s requires %d approvals, want %d", path, ev.Required, want)
		}
	}
}

func TestPushingToTheBranchResetsApprovals(t *testing.T) {
	ctx := context.Background()
	s, repo := newService(t)
	c := open(t, s, rds("dev", "small", ""))
	if _, err := s.Approve(ctx, bob, c.Number, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Commit(ctx, forge.CommitOptions{Branch: c.Branch, Parent: c.HeadSHA, Message: "sneak", Author: forge.Signature{Name: "a", Email: "a@x"},
		Changes: []forge.Change{rds("dev", "xlarge", "")}}); err != nil {
		t.Fatal(err)
	}
	ev, err := s.Evaluate(ctx, c)
	if err != nil || len(ev.Approvers) != 0 || ev.Mergeable {
		t.Fatalf("after a new push: approvers %v, mergeable %v (%v); want the old approval not to count", ev.Approvers, ev.Mergeable, err)
	}
	if _, err := s.Approve(ctx, bob, c.Number, ""); err != nil {
		t.Errorf("approving the new head: %v", err)
	}
}

func TestChecks(t *testing.T) {
	ctx := context.Background()
	s, _ := newService(t)
	first := open(t, s, rds("dev", "small", ""))
	s.Approve(ctx, bob, first.Number, "")
	if _, err := s.Merge(ctx, bob, first.Number); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		change forge.Change
		want   string
	}{
		{"immutable field", rds("dev", "small", "  databaseName: renamed\n"), "spec.databaseName: is immutable"},
		{"unknown size", rds("dev", "gigantic", ""), `size class "gigantic" is not defined`},
		{"environment removed from platform.yaml", forge.Change{Path: platform.Path,
			Content: []byte(strings.Replace(string(platform.DefaultYAML("example.com")), "  - name: dev\n    backend: local\n    approvals: 1\n", "", 1))},
			`environment "dev" is not defined`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := open(t, s, tt.change)
			ev, err := s.Evaluate(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			var msgs []string
			for _, ch := range ev.Checks {
				for _, e := range ch.Errors {
					msgs = append(msgs, e.Error())
				}
			}
			if !strings.Contains(strings.Join(msgs, "\n"), tt.want) || ev.Mergeable {
				t.Errorf("check errors %v (mergeable %v), want %q", msgs, ev.Mergeable, tt.want)
			}
			s.Close(ctx, alice, c.Number, "done")
		})
	}
}

func TestConflictingChangeRequests(t *testing.T) {
	ctx := context.Background()
	s, _ := newService(t)
	a := open(t, s, rds("dev", "small", ""))
	b := open(t, s, rds("dev", "medium", ""))
	for _, c := range []store.Change{a, b} {
		s.Approve(ctx, bob, c.Number, "")
	}
	if _, err := s.Merge(ctx, bob, a.Number); err != nil {
		t.Fatal(err)
	}
	_, err := s.Merge(ctx, bob, b.Number)
	if code(err) != problem.Precondition || !strings.Contains(err.Error(), "conflicts with main in: docs/20-contracts/rds-requests/orders/RDS-REQUEST.yaml") {
		t.Errorf("merging a conflicting change: %v", err)
	}
	if _, err := s.Merge(ctx, bob, a.Number); code(err) != problem.Conflict {
		t.Errorf("merging twice: %v, want conflict", err)
	}
}

func TestViewMergedChange(t *testing.T) {
	ctx := context.Background()
	s, _ := newService(t)
	c := open(t, s, rds("dev", "small", ""))
	s.Approve(ctx, bob, c.Number, "")
	if _, err := s.Merge(ctx, bob, c.Number); err != nil {
		t.Fatal(err)
	}
	v, err := s.View(ctx, c.Number, true)
	if err != nil {
		t.Fatalf("viewing a merged change request with its diff: %v", err)
	}
	if len(v.Diff) != 1 || !strings.Contains(v.Diff[0].Patch, "+kind: RDSRequest") {
		t.Errorf("diff of the merged change = %+v", v.Diff)
	}
	if len(v.Evaluation.Plan) != 1 || v.Evaluation.Plan[0].Action != "create" {
		t.Errorf("plan of the merged change = %+v", v.Evaluation.Plan)
	}
}
