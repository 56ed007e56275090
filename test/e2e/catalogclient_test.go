package e2e

// Backstage's own catalog client against the running program: test/catalogclient/drive.js calls every
// method of @backstage/catalog-client's CatalogClient (the version pinned in test/catalogclient's
// package-lock.json) and checks what it returns. The npm packages are installed once per lockfile under
// $GOLDENPATH_CACHE (default $HOME/.cache/goldenpath) and reused.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/forge"
)

// catalogClientDir holds the script, its package.json and its lockfile.
const catalogClientDir = "../catalogclient"

func TestBackstageCatalogClient(t *testing.T) {
	node, npm := catalogClientTools(t)
	modules := catalogClientModules(t, npm)

	e := start(t, startOptions{})
	tm := twoTeams(e)
	fixture := catalogClientFixture(t, e, tm)

	script, err := filepath.Abs(filepath.Join(catalogClientDir, "drive.js"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
	raw, _ := json.Marshal(fixture)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules, "GOLDENPATH_URL="+e.app.URL(), "GOLDENPATH_TOKEN="+tm.alice,
		"GOLDENPATH_OTHER_TOKEN="+tm.seadev, "GOLDENPATH_FIXTURE="+string(raw), "NODE_NO_WARNINGS=1")
	out, err := cmd.CombinedOutput()
	t.Logf("node %s:\n%s", filepath.Base(script), out)
	if err != nil {
		t.Fatalf("the catalog client's calls failed (%v); see the output above", err)
	}
	if m := regexp.MustCompile(`(?m)^catalog-client: (\d+) passed, 0 failed`).FindSubmatch(out); m == nil || string(m[1]) == "0" {
		t.Fatalf("the script ended without a closing line counting passed calls and no failures")
	}
	if strings.Contains(e.log(), "catalog API request failed") {
		t.Errorf("the server logged an internal error while serving the client")
	}
}

// catalogClientTools finds node and npm: a skip without them, a failure under CI (which has them).
func catalogClientTools(t *testing.T) (node, npm string) {
	t.Helper()
	node, errNode := exec.LookPath("node")
	npm, errNpm := exec.LookPath("npm")
	if err := errors.Join(errNode, errNpm); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("node and npm are needed to run Backstage's catalog client: %v", err)
		}
		t.Skipf("skipping Backstage's catalog client: node and npm are needed (%v)", err)
	}
	return node, npm
}

// catalogClientModules returns the node_modules of test/catalogclient's lockfile, installing it with
// `npm ci` into the cache the first time.
func catalogClientModules(t *testing.T, npm string) string {
	t.Helper()
	lock, err := os.ReadFile(filepath.Join(catalogClientDir, "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	raw, err := os.ReadFile(filepath.Join(catalogClientDir, "package.json"))
	if err == nil {
		err = json.Unmarshal(raw, &pkg)
	}
	if err != nil {
		t.Fatalf("reading test/catalogclient/package.json: %v", err)
	}
	cache := os.Getenv("GOLDENPATH_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Fatalf("no cache directory: set GOLDENPATH_CACHE or HOME: %v", err)
		}
		cache = filepath.Join(home, ".cache", "goldenpath")
	}
	sum := sha256.Sum256(lock)
	dir := filepath.Join(cache, fmt.Sprintf("catalog-client-%s-%s", pkg.Dependencies["@backstage/catalog-client"], hex.EncodeToString(sum[:6])))
	modules := filepath.Join(dir, "node_modules")
	installed := func() bool {
		_, err := os.Stat(filepath.Join(modules, "@backstage", "catalog-client", "package.json"))
		return err == nil
	}
	if installed() {
		return modules
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp(cache, ".catalog-client-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	for name, data := range map[string][]byte{"package.json": raw, "package-lock.json": lock} {
		if err := os.WriteFile(filepath.Join(tmp, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	began := time.Now()
	cmd := exec.CommandContext(ctx, npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci for test/catalogclient: %v\n%s", err, out)
	}
	// Another run may have installed it meanwhile (either copy is complete); a broken copy is replaced.
	if !installed() {
		os.RemoveAll(dir)
		if err := os.Rename(tmp, dir); err != nil && !installed() {
			t.Fatalf("caching the catalog client's packages in %s: %v", dir, err)
		}
	}
	t.Logf("installed test/catalogclient's packages into %s in %s", dir, time.Since(began).Round(time.Millisecond))
	return modules
}

// catalogClientFixture registers the catalog files the script expects, each by its own team, and returns
// the targets of those and of the files it registers itself.
func catalogClientFixture(t *testing.T, e *env, tm teams) map[string]string {
	t.Helper()
	blob := func(repo, file string) string { return e.app.URL() + "/git/" + repo + "/blob/main/" + file }
	createRepo(t, e, "payments/orders", map[string]string{
		"catalog-info.yaml": `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: orders
  description: Takes orders
  tags: [java, payments]
spec:
  type: service
  lifecycle: production
  owner: group:default/payments
  system: shop
  providesApis: [orders-api]
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: orders-api
spec:
  type: openapi
  lifecycle: production
  owner: group:default/payments
  system: shop
  definition: "openapi: 3.0.0"
---
apiVersion: backstage.io/v1alpha1
kind: System
metadata:
  name: shop
spec:
  owner: group:default/payments
---
apiVersion: backstage.io/v1alpha1
kind: Location
metadata:
  name: orders-more
spec:
  targets: [./more.yaml]
`,
		"more.yaml": catalogClientComponent("billing", "website", "production", "payments", "  system: shop\n", "[java]"),
	})
	createRepo(t, e, "search/indexer", map[string]string{
		"catalog-info.yaml": catalogClientComponent("indexer", "service", "experimental", "search", "", "[go]") + "---\n" +
			catalogClientComponent("crawler", "service", "production", "search", "  dependsOn: [resource:search-db]\n", "[]") + `---
apiVersion: backstage.io/v1alpha1
kind: Resource
metadata:
  name: search-db
spec:
  type: database
  owner: group:default/search
`,
	})
	createRepo(t, e, "payments/refresh", map[string]string{
		"catalog-info.yaml": catalogClientComponent("refreshme", "service", "experimental", "payments", "", "[]"),
	})
	createRepo(t, e, "payments/ledger", map[string]string{
		"catalog-info.yaml": catalogClientComponent("ledger", "service", "production", "payments", "", "[]"),
		"next.yaml":         catalogClientComponent("ledger-next", "service", "production", "payments", "", "[]"),
		// Every entity of clash.yaml is one another location already keeps.
		"clash.yaml": catalogClientComponent("orders", "service", "deprecated", "payments", "", "[]"),
	})
	createRepo(t, e, "payments/empty", map[string]string{"README.md": "nothing to catalog\n"})

	fixture := map[string]string{
		"orders":      blob("payments/orders", "catalog-info.yaml"),
		"indexer":     blob("search/indexer", "catalog-info.yaml"),
		"refresh":     blob("payments/refresh", "catalog-info.yaml"),
		"ledger":      blob("payments/ledger", "catalog-info.yaml"),
		"ledgerNext":  blob("payments/ledger", "next.yaml"),
		"clash":       blob("payments/ledger", "clash.yaml"),
		"searchOther": blob("search/indexer", "other.yaml"),
		"empty":       e.app.URL() + "/git/payments/empty",
	}
	for _, reg := range []struct{ target, token string }{
		{fixture["orders"], tm.alice}, {fixture["indexer"], tm.seadev}, {fixture["refresh"], tm.pete},
	} {
		r := e.must(201, "POST", "/api/catalog/locations", reg.token, map[string]string{"type": "url", "target": reg.target})
		if strings.Contains(string(r.body), "problems") {
			t.Fatalf("registering %s: %s", reg.target, r.body)
		}
	}
	// An edit the catalog has not read yet (a commit straight into the forge, not a push): the script's
	// refreshEntity reads it.
	repo, err := e.app.Forge.Repo("payments/refresh")
	if err != nil {
		t.Fatal(err)
	}
	head, err := repo.ResolveRef(context.Background(), "main")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Commit(context.Background(), forge.CommitOptions{Branch: "main", Parent: head, Message: "to production",
		Author: forge.Signature{Name: "pete", Email: "pete@example.com"}, Changes: []forge.Change{{Path: "catalog-info.yaml",
			Content: []byte(catalogClientComponent("refreshme", "service", "production", "payments", "", "[]"))}}}); err != nil {
		t.Fatal(err)
	}
	// goldenpath's own entities: every user of the cast and their teams.
	for _, ref := range []string{"user/default/alice", "user/default/seadev", "user/default/bob", "group/default/payments", "group/default/search"} {
		waitFor(t, 20*time.Second, ref+" in the catalog", func() bool {
			return e.call("GET", "/api/catalog/entities/by-name/"+ref, tm.alice, nil).status == 200
		})
	}
	return fixture
}

func catalogClientComponent(name, typ, lifecycle, team, extraSpec, tags string) string {
	return fmt.Sprintf(`apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: %s
  tags: %s
spec:
  type: %s
  lifecycle: %s
  owner: group:default/%s
%s`, name, tags, typ, lifecycle, team, extraSpec)
}
