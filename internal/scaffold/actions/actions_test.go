package actions

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/goldenpathidp/goldenpath/internal/scaffold"
	"github.com/goldenpathidp/goldenpath/internal/scaffold/expr"
	"github.com/goldenpathidp/goldenpath/internal/scaffold/skeleton"
)

// memSource serves a template's files from memory.
type memSource map[string][]skeleton.File

func (m memSource) Files(_ context.Context, dir string) ([]skeleton.File, error) {
	return m[strings.TrimPrefix(dir, "./")], nil
}
func (m memSource) Describe() string { return "memory" }

type recorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *recorder) Log(_ context.Context, _, msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, msg)
}
func (r *recorder) StepStatus(context.Context, string, string) {}
func (r *recorder) text() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.lines, "\n")
}

// stepsTemplate parses a template of the given steps (YAML list items indented by four spaces), with a
// password parameter for the tests of secrets.
func stepsTemplate(t *testing.T, steps string) *scaffold.Template {
	t.Helper()
	tmpl, err := scaffold.Parse("t.yaml", []byte(`apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: t}
spec:
  type: service
  parameters:
    - properties:
        password: {type: string, ui:widget: password}
  steps:
`+steps))
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

// run runs a template of the given steps with the built-in workspace actions, in a new workspace.
func run(t *testing.T, steps string, src memSource, values map[string]any, dryRun bool) (string, scaffold.Result, *recorder, error) {
	t.Helper()
	engine := expr.New(expr.Options{})
	reg, err := scaffold.NewRegistry(FetchTemplate(engine, nil), FetchPlain(nil), FetchPlainFile(nil), FsDelete(), FsRename(),
		FsReaddir(), DebugLog(), CatalogWrite())
	if err != nil {
		t.Fatal(err)
	}
	tmpl := stepsTemplate(t, steps)
	ws := filepath.Join(t.TempDir(), "workspace")
	if err := os.Mkdir(ws, 0o755); err != nil {
		t.Fatal(err)
	}
	ev := &recorder{}
	res, err := (&scaffold.Runner{Actions: reg, Engine: engine}).Execute(context.Background(), scaffold.Run{
		TaskID: "t", Template: tmpl, Source: src, Values: values, Workspace: ws, Events: ev, DryRun: dryRun})
	return ws, res, ev, err
}

var (
	deep = strings.TrimSuffix(strings.Repeat("p/", 30), "/")
	up   = strings.Repeat("../", 30)
)

// malicious is a skeleton of symlink chains that each look inside but lead out: to outside/victim.txt, to
// outside/new.txt, to /proc/self/environ, and (once moved to the top) to outside/victim.txt.
func malicious(outside string) memSource {
	abs := strings.TrimPrefix(outside, "/")
	return memSource{
		"skeleton": {
			{Path: deep + "/l", Symlink: up},
			{Path: deep + "/victim", Symlink: "l/" + up + abs + "/victim.txt"},
			{Path: deep + "/new", Symlink: "l/" + up + abs + "/new.txt"},
			{Path: deep + "/environ", Symlink: "l/" + up + "proc/self/environ"},
			{Path: deep + "/later", Symlink: up + abs + "/victim.txt"},
			{Path: "keep.txt", Content: []byte("mine")},
		},
		"payload.txt": {{Path: "payload.txt", Content: []byte("pwned")}},
	}
}

func outsideDir(t *testing.T) string {
	t.Helper()
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "victim.txt"), []byte("outside-content"), 0o644); err != nil {
		t.Fatal(err)
	}
	return outside
}

// TestActionsStayInTheWorkspace: no built-in action writes, reads, lists or moves anything outside the
// workspace through a skeleton's symlink chains.
func TestActionsStayInTheWorkspace(t *testing.T) {
	tests := []struct {
		name, steps string
	}{
		{"fetch:plain:file onto a link", `    - {id: f, action: fetch:plain:file, input: {url: ./payload.txt, targetPath: ` + deep + `/new}}
    - {id: g, action: fetch:plain:file, input: {url: ./payload.txt, targetPath: ` + deep + `/victim}}`},
		{"fetch:plain:file below a link", `    - {id: f, action: fetch:plain:file, input: {url: ./payload.txt, targetPath: ` + deep + `/l/x.txt}}`},
		{"catalog:write onto a link", `    - {id: c, action: catalog:write, input: {filePath: ` + deep + `/new, entity: {kind: Component}}}`},
		{"fs:rename of a link, then listed", `    - {id: r, action: fs:rename, input: {files: [{from: ` + deep + `/later, to: later}]}}`},
		{"fs:rename into a link", `    - {id: r, action: fs:rename, input: {files: [{from: keep.txt, to: ` + deep + `/l/keep.txt}]}}`},
		{"fs:delete through a link", `    - {id: d, action: fs:delete, input: {files: ["` + deep + `/l/*"]}}`},
		{"fs:readdir through a link", `    - {id: d, action: fs:readdir, input: {paths: [` + deep + `/l], recursive: true}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			outside := outsideDir(t)
			ws, res, ev, err := run(t, "    - {id: fetch, action: fetch:plain, input: {url: ./skeleton}}\n"+tt.steps+
				"\n    - {id: list, action: debug:log, input: {listWorkspace: with-contents}}\n", malicious(outside), nil, false)
			if got, _ := os.ReadFile(filepath.Join(outside, "victim.txt")); string(got) != "outside-content" {
				t.Errorf("the file outside was changed to %q", got)
			}
			if _, err := os.Lstat(filepath.Join(outside, "new.txt")); err == nil {
				t.Errorf("a file was created outside")
			}
			if _, err := os.Stat(filepath.Join(ws, "keep.txt")); err != nil && !strings.Contains(tt.name, "rename into") {
				t.Errorf("keep.txt is gone: %v", err)
			}
			log := ev.text()
			if strings.Contains(log, "outside-content") || strings.Contains(log, "PATH=") {
				t.Errorf("something outside reached the log:\n%.2000s", log)
			}
			for _, s := range res.Steps {
				if s.ID == "d" && s.Status == scaffold.StatusCompleted {
					for _, f := range s.Output["files"].([]any) {
						if m, _ := expr.AsMap(f); strings.Contains(m["path"].(string), "victim.txt") {
							t.Errorf("fs:readdir listed through a link: %v", f)
						}
					}
				}
			}
			if err != nil && !strings.Contains(err.Error(), "symlink") {
				t.Errorf("refused without naming the symlink: %v", err)
			}
		})
	}
}

// TestDebugLogListing: links are shown as links, files with their content (cut when long), and a
// secret that a rendered file holds is redacted.
func TestDebugLogListing(t *testing.T) {
	src := memSource{"skeleton": {
		{Path: "README.md", Content: []byte("hello")},
		{Path: "docs/link.md", Symlink: "../README.md"},
		{Path: "big.txt", Content: []byte(strings.Repeat("b", scaffold.MaxMessageBytes+10))},
		{Path: "config.txt", Content: []byte("pw=${{ values.pw | upper }}")},
	}}
	_, _, ev, err := run(t, `    - {id: fetch, action: fetch:template, input: {url: ./skeleton, values: {pw: '${{ parameters.password }}'}}}
    - {id: list, action: debug:log, input: {listWorkspace: with-contents}}
`, src, map[string]any{"password": "hunter2-x"}, false)
	if err != nil {
		t.Fatal(err)
	}
	log := ev.text()
	for _, want := range []string{"docs/link.md -> ../README.md (a symlink, not followed)", "README.md:\nhello",
		"big.txt (the first 262144 bytes)", "config.txt:\npw=***"} {
		if !strings.Contains(log, want) {
			t.Errorf("the listing lacks %q:\n%.3000s", want, log)
		}
	}
	if strings.Contains(strings.ToLower(log), "hunter2") {
		t.Errorf("the secret reached the log")
	}
}

// TestCatalogWriteSecretEntity: an entity holding a secret is written, and the file is hidden where shown.
func TestCatalogWriteSecretEntity(t *testing.T) {
	ws, _, ev, err := run(t, `    - {id: c, action: catalog:write, input: {entity: {kind: Component, metadata: {description: "a\nlong ${{ parameters.password | reverse }} b"}}}}
    - {id: list, action: debug:log, input: {listWorkspace: with-contents}}
`, nil, map[string]any{"password": "hunter2-x"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if raw, _ := os.ReadFile(filepath.Join(ws, "catalog-info.yaml")); !strings.Contains(string(raw), "x-2retnuh") {
		t.Errorf("the file does not hold the value: %s", raw)
	}
	if log := ev.text(); strings.Contains(log, "x-2retnuh") || !strings.Contains(log, "catalog-info.yaml:\n***") {
		t.Errorf("the listing shows the secret, or not the file:\n%s", log)
	}
}

// TestMaliciousSkeletonIsReal: the chains of the malicious skeleton do lead out when a path is followed the
// usual way (so TestActionsStayInTheWorkspace tests something).
func TestMaliciousSkeletonIsReal(t *testing.T) {
	outside := outsideDir(t)
	ws, _, _, err := run(t, "    - {id: fetch, action: fetch:plain, input: {url: ./skeleton}}\n", malicious(outside), nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(ws, deep, "victim")); err != nil || string(got) != "outside-content" {
		t.Errorf("followed by os.ReadFile, the chain gives %q, %v; want the file outside", got, err)
	}
	if got, err := os.ReadFile(filepath.Join(ws, deep, "environ")); err != nil || !strings.Contains(string(got), "=") {
		t.Errorf("followed by os.ReadFile, the chain to /proc/self/environ gives %v", err)
	}
}
