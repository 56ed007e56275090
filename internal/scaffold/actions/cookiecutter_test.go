package actions

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goldenpathidp/goldenpath/internal/scaffold"
	"github.com/goldenpathidp/goldenpath/internal/scaffold/expr"
	"github.com/goldenpathidp/goldenpath/internal/scaffold/skeleton"
)

func TestFetchCookiecutter(t *testing.T) {
	src := memSource{"cc": {
		{Path: "cookiecutter.json", Content: []byte(`{"project_name": "My Service", "project_slug": "{{ cookiecutter.project_name.lower().replace(' ', '_') }}",
			"license": ["MIT", "BSD"], "env": {"PORT": "8080", "MODE": "dev"}, "_copy_without_render": ["static/*.html"]}`)},
		{Path: "{{cookiecutter.project_slug}}/main.py", Content: []byte("# {{ cookiecutter.project_name }} ({{ cookiecutter.license }})\n{% for k, v in cookiecutter.env.items() %}{{ k }}={{ v }}\n{% endfor %}")},
		{Path: "{{cookiecutter.project_slug}}/static/index.html", Content: []byte("{{ not rendered }}")},
		{Path: "README.md", Content: []byte("{{ cookiecutter.project_slug | upper }} by {{ cookiecutter.owner }}")},
	}}
	engine := expr.New(expr.Options{})
	reg, err := scaffold.NewRegistry(Cookiecutter(engine, nil))
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := scaffold.Parse("t.yaml", []byte(`apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: t}
spec:
  type: service
  steps:
    - id: cc
      action: fetch:cookiecutter
      input:
        url: ./cc
        targetPath: out
        values: {project_name: Orders API, owner: payments}
`))
	if err != nil {
		t.Fatal(err)
	}
	ws := filepath.Join(t.TempDir(), "ws")
	if err := os.Mkdir(ws, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := (&scaffold.Runner{Actions: reg, Engine: engine}).Execute(context.Background(), scaffold.Run{
		TaskID: "t", Template: tmpl, Source: src, Workspace: ws, Events: &recorder{}}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"out/orders_api/main.py":           "# Orders API (MIT)\nPORT=8080\nMODE=dev\n",
		"out/orders_api/static/index.html": "{{ not rendered }}",
		"out/README.md":                    "ORDERS_API by payments",
	} {
		if got := readWS(t, ws, name); got != want {
			t.Errorf("%s: got %q, want %q", name, got, want)
		}
	}

	// Without the template's cookiecutter.json, the values are the whole context.
	cc, err := cookiecutterContext(engine, []skeleton.File{{Path: "x", Content: []byte("y")}}, map[string]any{"b": "2", "a": "1"})
	if err != nil || strings.Join(cc.Keys(), ",") != "a,b" {
		t.Errorf("context without cookiecutter.json: %v, %v", cc.Keys(), err)
	}
}

// TestFetchCookiecutterSecret: a default computed from a secret value is secret too: the file holds it, the
// log shows it hidden.
func TestFetchCookiecutterSecret(t *testing.T) {
	src := memSource{"cc": {
		{Path: "cookiecutter.json", Content: []byte(`{"pw": "", "dsn": "db://u:{{ cookiecutter.pw }}@h"}`)},
		{Path: "conf.txt", Content: []byte("{{ cookiecutter.dsn }}")},
	}}
	engine := expr.New(expr.Options{})
	reg, err := scaffold.NewRegistry(Cookiecutter(engine, nil), DebugLog())
	if err != nil {
		t.Fatal(err)
	}
	tmpl := stepsTemplate(t, `    - {id: cc, action: fetch:cookiecutter, input: {url: ./cc, values: {pw: "${{ parameters.password }}"}}}
    - {id: list, action: debug:log, input: {listWorkspace: with-contents}}
`)
	ws := filepath.Join(t.TempDir(), "ws")
	if err := os.Mkdir(ws, 0o755); err != nil {
		t.Fatal(err)
	}
	ev := &recorder{}
	if _, err := (&scaffold.Runner{Actions: reg, Engine: engine}).Execute(context.Background(), scaffold.Run{
		TaskID: "t", Template: tmpl, Source: src, Workspace: ws, Events: ev, Values: map[string]any{"password": "hunter2-x"}}); err != nil {
		t.Fatal(err)
	}
	if got := readWS(t, ws, "conf.txt"); got != "db://u:hunter2-x@h" {
		t.Errorf("conf.txt: %q", got)
	}
	if log := ev.text(); strings.Contains(log, "hunter2") || !strings.Contains(log, "conf.txt:\n") {
		t.Errorf("the log shows the secret, or not the file:\n%s", log)
	}
}
