package builtin

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/goldenpathidp/goldenpath/internal/contract"
	"github.com/goldenpathidp/goldenpath/internal/platform"
	"github.com/goldenpathidp/goldenpath/internal/scaffold"
	"github.com/goldenpathidp/goldenpath/internal/scaffold/actions"
	"github.com/goldenpathidp/goldenpath/internal/scaffold/expr"
	"github.com/goldenpathidp/goldenpath/internal/scaffold/skeleton"
)

// embeddedSource serves a template's files from FS, as the seeded platform repository will.
type embeddedSource struct{ name string }

func (s embeddedSource) Files(ctx context.Context, dir string) ([]skeleton.File, error) {
	root := path.Join("templates", s.name, path.Clean(dir))
	if !strings.HasPrefix(root, "templates/"+s.name+"/") {
		return nil, fmt.Errorf("%s leaves the template's directory", dir)
	}
	var files []skeleton.File
	err := fs.WalkDir(FS, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := fs.ReadFile(FS, p)
		files = append(files, skeleton.File{Path: strings.TrimPrefix(p, root+"/"), Content: raw})
		return err
	})
	return files, err
}

func (s embeddedSource) Describe() string { return "builtin:templates/" + s.name }

// platformRequests files nothing (the runs are dry runs) but checks each contract against the default
// platform.yaml, as goldenpath's request flow does before it opens a change request.
type platformRequests struct {
	cfg *platform.Config
	mu  sync.Mutex
	got []string
}

func (p *platformRequests) File(ctx context.Context, u scaffold.User, r *contract.Request, dryRun bool) (actions.Filed, error) {
	if !dryRun {
		return actions.Filed{}, fmt.Errorf("test runs are dry runs")
	}
	if errs := r.Validate(p.cfg); len(errs) > 0 {
		return actions.Filed{}, errs
	}
	p.mu.Lock()
	p.got = append(p.got, fmt.Sprintf("%s owner=%s team=%s", r.ID(), r.Metadata.Owner, r.Metadata.Team))
	p.mu.Unlock()
	return actions.Filed{RequestID: string(r.ID()), ContractPath: r.Path()}, nil
}

type discardEvents struct{}

func (discardEvents) Log(context.Context, string, string)        {}
func (discardEvents) StepStatus(context.Context, string, string) {}

// TestDryRun runs every built-in template through goldenpath's own runner and actions as a dry run: the
// parameters pass the engine's validation, every step completes (or is skipped by its if), fetch:template
// writes the rendered skeleton, and the request steps produce contracts the default platform accepts.
func TestDryRun(t *testing.T) {
	cfg, err := platform.Parse("platform.yaml", platform.DefaultYAML("goldenpathidp.io"))
	if err != nil {
		t.Fatal(err)
	}
	app := answers{"name": "orders", "owner": "group:default/payments", "repoUrl": "goldenpath?owner=payments&repo=orders"}
	tests := []struct {
		template  string
		name      string
		answers   answers
		skipped   []string
		wantFiled []string
	}{
		{template: "app-template", answers: app, wantFiled: []string{"ecr.dev.orders owner=alice team=payments"}},
		{template: "app-template", name: "no registry", answers: merge(app, answers{"registry": false}), skipped: []string{"registry"}},
		{template: "stateful-app-template", answers: app, wantFiled: []string{"rds.dev.orders owner=alice team=search"}},
		{template: "ecr-request", answers: answers{"name": "orders", "owner": "group:default/payments"},
			wantFiled: []string{"ecr.dev.orders owner=alice team=payments"}},
		// Optional fields left empty must be left out of the contract, not sent as null.
		{template: "rds-request", answers: answers{"name": "orders"}, wantFiled: []string{"rds.dev.orders owner=alice team=search"}},
		{template: "rds-request", name: "database named", answers: answers{"name": "orders", "databaseName": "orders_main"},
			wantFiled: []string{"rds.dev.orders owner=alice team=search"}},
		{template: "s3-request", answers: answers{"name": "orders", "environment": "prod"},
			wantFiled: []string{"s3.prod.orders owner=alice team=search"}},
		{template: "secret-request", answers: answers{"name": "orders"}, wantFiled: []string{"secret.dev.orders owner=alice team=search"}},
		{template: "secret-request", name: "described", answers: answers{"name": "orders", "description": "Stripe key"},
			wantFiled: []string{"secret.dev.orders owner=alice team=search"}},
		{template: "eks-request", answers: answers{"name": "orders"}, wantFiled: []string{"eks.dev.orders owner=alice team=search"}},
		{template: "eks-request", name: "version pinned", answers: answers{"name": "orders", "kubernetesVersion": "1.34"},
			wantFiled: []string{"eks.dev.orders owner=alice team=search"}},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.template+"/"+tt.name, "/"), func(t *testing.T) {
			reqs := &platformRequests{cfg: cfg}
			res, workspace := dryRun(t, tt.template, tt.answers, reqs)
			for _, s := range res.Steps {
				want := scaffold.StatusCompleted
				if slices.Contains(tt.skipped, s.ID) {
					want = scaffold.StatusSkipped
				}
				if s.Status != want {
					t.Errorf("step %s: got %s (%s), want %s", s.ID, s.Status, s.Error, want)
				}
			}
			if fmt.Sprint(reqs.got) != fmt.Sprint(tt.wantFiled) {
				t.Errorf("filed: got %v, want %v", reqs.got, tt.wantFiled)
			}
			if _, ok := fetchStep(loadTemplate(t, tt.template)); ok {
				for _, f := range []string{"main.go", "go.mod", "catalog-info.yaml", ".github/workflows/build-deploy.yml"} {
					if _, err := os.Stat(filepath.Join(workspace, f)); err != nil {
						t.Errorf("workspace: %s was not written: %v", f, err)
					}
				}
				wf, _ := os.ReadFile(filepath.Join(workspace, ".github/workflows/build-deploy.yml"))
				if !strings.Contains(string(wf), "${{ github.sha }}") {
					t.Error("workspace: build-deploy.yml lost GitHub's ${{ github.sha }}")
				}
			}
		})
	}
}

func dryRun(t *testing.T, name string, a answers, reqs actions.Requests) (scaffold.Result, string) {
	t.Helper()
	raw, err := fs.ReadFile(FS, "templates/"+name+"/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tm, err := scaffold.Parse(name+"/template.yaml", raw)
	if err != nil {
		t.Fatalf("goldenpath's parser refuses the template: %v", err)
	}
	e := expr.New(expr.Options{})
	registry, err := scaffold.NewRegistry(actions.All(actions.Deps{Engine: e, Requests: reqs,
		Publisher: &actions.Publisher{BaseURL: "http://127.0.0.1:7070"}})...)
	if err != nil {
		t.Fatal(err)
	}
	runner := &scaffold.Runner{Actions: registry, Engine: e}
	pages, err := tm.Pages()
	if err != nil {
		t.Fatal(err)
	}
	values := scaffold.ApplyDefaults(pages, formData(t, a))
	if err := runner.Preflight(tm, values); err != nil {
		t.Fatalf("preflight: %v", err)
	}
	workspace := t.TempDir()
	res, err := runner.Execute(context.Background(), scaffold.Run{TaskID: "test", Template: tm, Source: embeddedSource{name},
		Values: values, User: scaffold.User{Ref: "user:default/alice", Name: "alice", Teams: []string{"search", "payments"}},
		Workspace: workspace, DryRun: true, Events: discardEvents{}})
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	return res, workspace
}
