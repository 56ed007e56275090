package builtin

import (
	"bytes"
	"fmt"
	"go/format"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/goldenpathidp/goldenpath/internal/scaffold/expr"
)

type skeletonCase struct {
	template string
	name     string
	answers  answers
}

func skeletonCases() []skeletonCase {
	app := answers{"name": "orders", "owner": "group:default/payments", "repoUrl": "goldenpath?owner=payments&repo=orders"}
	full := answers{"name": "orders-api", "owner": "group:default/payments", "repoUrl": "goldenpath?owner=shop&repo=orders-api",
		"description": `Takes "orders": fast`, "system": "system:default/shop", "port": 9090, "domain": "example.com"}
	named := answers{"name": "ledger", "owner": "group:default/finance", "repoUrl": "goldenpath?owner=finance&repo=ledger",
		"db_name": "ledger_main", "db_size": "medium", "port": 8443}
	return []skeletonCase{
		{"app-template", "defaults", app},
		{"app-template", "everything set", full},
		{"stateful-app-template", "defaults", app},
		{"stateful-app-template", "everything set", named},
	}
}

// renderCase renders a skeleton with the values its fetch step computes from the answers.
func renderCase(t *testing.T, tc skeletonCase) (map[string][]byte, answers) {
	t.Helper()
	tm := loadTemplate(t, tc.template)
	a := withDefaults(tm, tc.answers)
	fetch, ok := fetchStep(tm)
	if !ok {
		t.Fatalf("%s has no fetch:template step", tc.template)
	}
	e := expr.New(expr.Options{})
	values := evaluate(t, e, fetch.Input["values"], map[string]any{"parameters": formData(t, a)})
	files := renderSkeleton(t, e, tc.template, values.(map[string]any))
	return files, a
}

func TestSkeletonRenders(t *testing.T) {
	want := []string{".dockerignore", ".github/workflows/build-deploy.yml", ".gitignore", "Dockerfile", "README.md",
		"catalog-info.yaml", "docs/index.md", "go.mod", "main.go", "main_test.go", "mkdocs.yml", "score.yaml"}
	for _, tc := range skeletonCases() {
		t.Run(tc.template+"/"+tc.name, func(t *testing.T) {
			files, a := renderCase(t, tc)
			var got []string
			for p := range files {
				got = append(got, p)
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("files: got %v, want %v", got, want)
			}
			if gomod := string(files["go.mod"]); gomod != fmt.Sprintf("module %s\n\ngo 1.22\n", a["name"]) {
				t.Errorf("go.mod: got %q, want module %s and go 1.22", gomod, a["name"])
			}
			for _, f := range []string{"main.go", "main_test.go"} {
				if formatted, err := format.Source(files[f]); err != nil || !bytes.Equal(formatted, files[f]) {
					t.Errorf("%s: not gofmt-formatted after rendering (err %v)", f, err)
				}
			}
			checkCatalogInfo(t, files["catalog-info.yaml"], a)
			checkScore(t, files["score.yaml"], a, tc.template == "stateful-app-template")
			checkDocs(t, files, a)
		})
	}
}

func decodeYAML(t *testing.T, file string, raw []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: not YAML: %v\n%s", file, err, raw)
	}
	return m
}

// dig returns the value at a dotted path of nested maps (nil when absent).
func dig(v any, path string) any {
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func checkCatalogInfo(t *testing.T, raw []byte, a answers) {
	t.Helper()
	e := decodeYAML(t, "catalog-info.yaml", raw)
	q, _ := url.ParseQuery(strings.SplitN(a["repoUrl"].(string), "?", 2)[1])
	slug := q.Get("owner") + "/" + q.Get("repo")
	checks := map[string]any{
		"apiVersion":           "backstage.io/v1alpha1",
		"kind":                 "Component",
		"metadata.name":        a["name"],
		"metadata.description": a["description"], // absent when not given
		"spec.type":            "service",
		"spec.lifecycle":       "experimental",
		"spec.owner":           a["owner"],
		"spec.system":          a["system"], // absent when not given
	}
	for p, want := range checks {
		if got := dig(e, p); got != want {
			t.Errorf("catalog-info.yaml %s: got %v, want %v", p, got, want)
		}
	}
	// An optional field left empty must be left out: the catalog refuses a null spec.system.
	for _, p := range []string{"metadata.description", "spec.system"} {
		parent, key, _ := strings.Cut(p, ".")
		m, _ := e[parent].(map[string]any)
		if _, present := m[key]; present && checks[p] == nil {
			t.Errorf("catalog-info.yaml %s: present though not given; want it left out", p)
		}
	}
	ann, _ := dig(e, "metadata.annotations").(map[string]any)
	if ann["backstage.io/techdocs-ref"] != "dir:." || ann["goldenpath.io/repository"] != slug {
		t.Errorf("catalog-info.yaml annotations: got %v, want techdocs-ref dir:. and goldenpath.io/repository %s", ann, slug)
	}
}

func checkScore(t *testing.T, raw []byte, a answers, stateful bool) {
	t.Helper()
	w := decodeYAML(t, "score.yaml", raw)
	port := fmt.Sprint(a["port"])
	host := fmt.Sprintf("%s.dev.%s", a["name"], a["domain"])
	checks := map[string]any{
		"apiVersion":                                  "score.dev/v1b1",
		"metadata.name":                               a["name"],
		"containers.main.image":                       ".",
		"containers.main.variables.PORT":              port,
		"service.ports.http.port":                     80,
		"service.ports.http.targetPort":               a["port"],
		"resources.route.type":                        "route",
		"resources.route.params.host":                 host,
		"resources.route.params.port":                 80,
		"containers.main.readinessProbe.httpGet.path": "/healthz",
	}
	if stateful {
		checks["resources.db.type"] = "postgres"
	}
	for p, want := range checks {
		if got := dig(w, p); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("score.yaml %s: got %v, want %v", p, got, want)
		}
	}
	if dbURL, _ := dig(w, "containers.main.variables.DATABASE_URL").(string); stateful != strings.HasPrefix(dbURL, "postgres://${resources.db.username}") {
		t.Errorf("score.yaml DATABASE_URL: got %q, want it (from the db resource) only in the stateful service", dbURL)
	}
}

func checkDocs(t *testing.T, files map[string][]byte, a answers) {
	t.Helper()
	mk := decodeYAML(t, "mkdocs.yml", files["mkdocs.yml"])
	if mk["site_name"] != a["name"] || mk["site_description"] != a["description"] {
		t.Errorf("mkdocs.yml: got site_name %v site_description %v, want %v and %v", mk["site_name"], mk["site_description"], a["name"], a["description"])
	}
	wf := files[".github/workflows/build-deploy.yml"]
	decodeYAML(t, "build-deploy.yml", wf)
	if !bytes.Contains(wf, []byte("${{ github.sha }}")) {
		t.Error("build-deploy.yml: lost GitHub's ${{ github.sha }}; it must be copied verbatim")
	}
	for _, f := range []string{"README.md", "docs/index.md"} {
		doc := string(files[f])
		if d, ok := a["description"].(string); ok && !strings.Contains(doc, d) {
			t.Errorf("%s: does not contain the description %q", f, d)
		}
		if strings.Contains(doc, "\n\n\n") {
			t.Errorf("%s: has a run of blank lines (an empty value left a gap):\n%s", f, doc)
		}
	}
	readme := string(files["README.md"])
	if !strings.HasPrefix(readme, fmt.Sprintf("# %s\n", a["name"])) || !strings.Contains(readme, fmt.Sprint(a["port"])) {
		t.Errorf("README.md: got %.80q..., want a title naming %s and the port %v", readme, a["name"], a["port"])
	}
}

// TestSkeletonsBuild writes each rendered service to a directory and runs go vet and go test there, as a
// developer would right after scaffolding. The skeletons use the standard library only, so nothing is
// downloaded.
func TestSkeletonsBuild(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build the skeletons: %v", err)
	}
	for _, tc := range skeletonCases() {
		if tc.name != "everything set" {
			continue // one build per skeleton keeps the package fast; the others differ only in values
		}
		t.Run(tc.template+"/"+tc.name, func(t *testing.T) {
			t.Parallel()
			files, _ := renderCase(t, tc)
			dir := t.TempDir()
			for p, content := range files {
				full := filepath.Join(dir, filepath.FromSlash(p))
				if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(full, content, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			for _, args := range [][]string{{"vet", "./..."}, {"test", "-count=1", "./..."}} {
				cmd := exec.Command(gobin, args...)
				cmd.Dir = dir
				cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local", "GOWORK=off", "GOPROXY=off")
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
				}
			}
		})
	}
}
