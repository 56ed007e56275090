package e2e

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/catalog"
	"github.com/goldenpathidp/goldenpath/internal/forge"
	"go.yaml.in/yaml/v3"
)

// compatDir holds real Backstage templates (Apache-2.0) that goldenpath must run unmodified. They are read
// from ../shared, never copied into this repository.
const compatDir = "../../../shared/compat/backstage-software-templates/scaffolder-templates"

func compatTemplates(t *testing.T) string {
	t.Helper()
	dir, _ := filepath.Abs(compatDir)
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the compatibility corpus is missing at %s", dir)
		}
		t.Skipf("the compatibility corpus (%s) is not on this machine; CI runs this test", dir)
	}
	return dir
}

// compatValues are realistic answers to each template's form.
var compatValues = map[string]map[string]any{
	"clean-architecture-app":   {"name": "ledger", "package": "com.example.ledger", "projectType": "imperative", "coverage": "jacoco", "lombok": true, "metrics": false, "owner": "group:default/payments"},
	"create-react-app":         {"component_id": "storefront", "description": "The shop's web front end", "owner": "group:default/payments"},
	"docs-template":            {"name": "handbook", "description": "The payments handbook", "owner": "group:default/payments"},
	"pull-request":             {"name": "sessions", "description": "Community sessions", "targetPath": "community-sessions"},
	"react-ssr-template":       {"component_id": "checkout-ui", "description": "Server-rendered checkout", "owner": "group:default/payments"},
	"springboot-grpc-template": {"component_id": "greeter", "java_package_name": "greeter", "description": "Greets over gRPC", "owner": "group:default/payments"},
}

// readDir reads a template directory as dry-run directoryContents.
func readDir(t *testing.T, dir string) (map[string]any, []map[string]any) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var tmpl map[string]any
	if err := yaml.Unmarshal(raw, &tmpl); err != nil {
		t.Fatal(err)
	}
	var files []map[string]any
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(dir, p)
			files = append(files, map[string]any{"path": filepath.ToSlash(rel), "base64Content": base64.StdEncoding.EncodeToString(b)})
		}
		return nil
	})
	return tmpl, files
}

// seedCommunity stands in for github.com/backstage/community, which the pull-request template fetches: in
// goldenpath, github.com URLs are read from the embedded forge.
func seedCommunity(t *testing.T, e *env) {
	ctx := context.Background()
	if _, err := e.app.Forge.CreateRepo(ctx, "backstage/community", "main"); err != nil {
		t.Fatal(err)
	}
	repo, _ := e.app.Forge.Repo("backstage/community")
	if _, err := repo.Commit(ctx, forge.CommitOptions{Branch: "main", Message: "seed", Author: forge.Signature{Name: "t", Email: "t@example.com"},
		Changes: []forge.Change{{Path: "backstage-community-sessions/README.md", Content: []byte("# Community sessions\n")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.Forge.CreateRepo(ctx, "payments/monorepo", "main"); err != nil {
		t.Fatal(err)
	}
	mono, _ := e.app.Forge.Repo("payments/monorepo")
	if _, err := mono.Commit(ctx, forge.CommitOptions{Branch: "main", Message: "seed", Author: forge.Signature{Name: "t", Email: "t@example.com"},
		Changes: []forge.Change{{Path: "README.md", Content: []byte("monorepo\n")}}}); err != nil {
		t.Fatal(err)
	}
}

// TestBackstageTemplatesUnmodified dry-runs every template of the corpus, checks the rendered tree, then
// runs it for real: it publishes to the embedded forge and registers its component.
func TestBackstageTemplatesUnmodified(t *testing.T) {
	root := compatTemplates(t)
	e := start(t, startOptions{})
	tm := cast(e)
	seedCommunity(t, e)
	entries, _ := os.ReadDir(root)
	for _, ent := range entries {
		name := ent.Name()
		values, ok := compatValues[name]
		if !ok {
			t.Errorf("no values for compat template %s: add them", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			e.t = t
			v := map[string]any{}
			for k, x := range values {
				v[k] = x
			}
			repo := strings.ReplaceAll(name, "-template", "") + "-" + suffix()
			v["repoUrl"] = "github.com?owner=payments&repo=" + repo
			if name == "pull-request" {
				v["repoUrl"] = "github.com?owner=payments&repo=monorepo"
			}
			tmpl, files := readDir(t, filepath.Join(root, name))
			res := e.must(200, "POST", "/api/scaffolder/v2/dry-run", tm.alice, map[string]any{"template": tmpl, "values": v, "directoryContents": files})
			var out struct {
				Error             string `json:"error"`
				DirectoryContents []struct {
					Path          string `json:"path"`
					Base64Content string `json:"base64Content"`
				} `json:"directoryContents"`
			}
			res.json(t, &out)
			if out.Error != "" {
				t.Fatalf("dry run failed: %s", out.Error)
			}
			checkRendered(t, name, out.DirectoryContents)
			runForReal(t, e, tm, name, tmpl, files, v, repo)
		})
	}
}

func checkRendered(t *testing.T, name string, files []struct {
	Path          string `json:"path"`
	Base64Content string `json:"base64Content"`
}) {
	if len(files) == 0 {
		t.Fatal("the dry run produced no files")
	}
	sawCatalog := false
	for _, f := range files {
		content, _ := base64.StdEncoding.DecodeString(f.Base64Content)
		if strings.Contains(f.Path, "${{") {
			t.Errorf("unrendered path %s", f.Path)
		}
		// Workflows are copied without rendering on purpose (they hold GitHub's own ${{ }}).
		if strings.Contains(string(content), "${{") && !strings.HasPrefix(f.Path, ".github/workflows/") {
			t.Errorf("unrendered expression left in %s", f.Path)
		}
		if strings.HasSuffix(f.Path, "catalog-info.yaml") {
			sawCatalog = true
			entities, errs := catalog.ParseEntities(f.Path, content)
			if len(errs) > 0 || len(entities) == 0 {
				t.Errorf("%s is not a valid entity: %v", f.Path, errs)
			}
		}
	}
	if !sawCatalog {
		t.Errorf("%s rendered no catalog-info.yaml", name)
	}
}

// runForReal commits the template into the platform repository (as a platform team would) and runs it.
func runForReal(t *testing.T, e *env, tm team, name string, tmpl map[string]any, files []map[string]any, values map[string]any, repo string) {
	ctx := context.Background()
	tmplName := tmpl["metadata"].(map[string]any)["name"].(string)
	var changes []forge.Change
	for _, f := range files {
		b, _ := base64.StdEncoding.DecodeString(f["base64Content"].(string))
		changes = append(changes, forge.Change{Path: "templates/compat-" + name + "/" + f["path"].(string), Content: b})
	}
	e.commitMain(ctx, "add "+name, changes...)
	id := e.task(tm.alice, tmplName, values, nil)
	status, evs := e.waitTask(tm.alice, id, 30*time.Second)
	if status != "completed" {
		t.Fatalf("task %s:\n%s", status, messages(evs))
	}
	if name == "pull-request" {
		if !strings.Contains(messages(evs), "Opened change request") {
			t.Errorf("no change request opened:\n%s", messages(evs))
		}
		return
	}
	if _, err := e.app.Forge.Repo("payments/" + repo); err != nil {
		t.Errorf("not published to the forge: %v", err)
	}
	ref := values["component_id"]
	if ref == nil {
		ref = values["name"]
	}
	if _, err := e.app.Catalog.Get(ctx, catalog.Ref{Kind: "component", Namespace: "default", Name: ref.(string)}); err != nil {
		t.Errorf("component %v not registered when the task completed: %v", ref, err)
	}
}
