package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/forge"
)

// TestCommunityActionsTemplate runs, through the API, a template written the way public templates are: a
// cookiecutter skeleton, RoadieHQ's utility actions (write, merge, JSONata, serialize), catalog:timestamping,
// publish:gitlab, catalog:register, http:backstage:request reading the registered entity back, and
// argocd:create-resources delivering the app to prod. Everything lands where the originals would put it.
func TestCommunityActionsTemplate(t *testing.T) {
	e := start(t, startOptions{})
	c := twoTeams(e)
	tmpl := "community-" + suffix()
	app := "orders-" + suffix()
	spec := `  parameters:
    - properties:
        name: {type: string}
  steps:
    - id: cc
      action: fetch:cookiecutter
      input:
        url: ./skeleton
        values: {app: "${{ parameters.name }}", team: payments}
    - id: docs
      action: roadiehq:utils:fs:write
      input: {path: docs/index.md, content: "# ${{ parameters.name }}\n"}
    - id: merge
      action: roadiehq:utils:merge
      input: {path: package.json, content: {scripts: {test: "go test ./..."}}}
    - id: scripts
      action: roadiehq:utils:jsonata:json:transform
      input: {path: package.json, expression: "$sort($keys(scripts))", as: object}
    - id: meta
      action: roadiehq:utils:serialize:yaml
      input: {data: {scripts: "${{ steps.scripts.output.result }}"}}
    - id: meta-file
      action: roadiehq:utils:fs:write
      input: {path: meta.yaml, content: "${{ steps.meta.output.serialized }}"}
    - id: stamp
      action: catalog:timestamping
    - id: publish
      action: publish:gitlab
      input: {repoUrl: "gitlab.com?owner=payments&repo=${{ parameters.name }}"}
    - id: register
      action: catalog:register
      input: {repoContentsUrl: "${{ steps.publish.output.repoContentsUrl }}", catalogInfoPath: /catalog-info.yaml}
    - id: read
      action: http:backstage:request
      input: {path: "/catalog/entities/by-name/component/default/${{ parameters.name }}", method: GET}
    - id: argo
      action: argocd:create-resources
      input: {appName: "${{ parameters.name }}", argoInstance: prod, namespace: "${{ parameters.name }}", repoUrl: "${{ steps.publish.output.remoteUrl }}", path: k8s}
  output:
    createdAt: ${{ steps.read.output.body.metadata.annotations['backstage.io/createdAt'] }}
    projectId: ${{ steps.publish.output.projectId }}
`
	scafMergeTemplate(t, e, c.alice, "alice", c.bob, tmpl, scafTemplate(tmpl, spec),
		forge.Change{Path: "skeleton/cookiecutter.json", Content: []byte(`{"app": "x", "team": "t", "title": "{{ cookiecutter.app.replace('-', ' ').title() }}", "env": {"PORT": "8080"}}`)},
		forge.Change{Path: "skeleton/catalog-info.yaml", Content: []byte("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {{ cookiecutter.app }}\n  title: {{ cookiecutter.title }}\nspec:\n  type: service\n  lifecycle: experimental\n  owner: group:default/{{ cookiecutter.team }}\n")},
		forge.Change{Path: "skeleton/package.json", Content: []byte(`{"name": "{{ cookiecutter.app }}", "scripts": {"build": "go build ./..."}}`)},
		forge.Change{Path: "skeleton/score.yaml", Content: []byte("apiVersion: score.dev/v1b1\nmetadata:\n  name: {{ cookiecutter.app }}\ncontainers:\n  main:\n    image: .\n    variables:\n{% for k, v in cookiecutter.env.items() %}      {{ k }}: \"{{ v }}\"\n{% endfor %}")},
	)
	id := e.task(c.alice, tmpl, map[string]any{"name": app}, nil)
	status, evs := e.waitTask(c.alice, id, 2*time.Minute)
	if status != "completed" {
		t.Fatalf("task %s:\n%s", status, messages(evs))
	}
	var task struct {
		Output map[string]any `json:"output"`
		State  struct {
			Output map[string]any `json:"output"`
		} `json:"state"`
	}
	body := e.must(200, "GET", "/api/scaffolder/v2/tasks/"+id, c.alice, nil).body
	_ = json.Unmarshal(body, &task)
	if !strings.Contains(string(body), `"createdAt":"`) || !strings.Contains(string(body), `"projectId":`) {
		t.Errorf("the task's output lacks the entity's createdAt (read back through http:backstage:request) or the projectId:\n%s", body)
	}

	repo, err := e.app.Forge.Repo("payments/" + app)
	if err != nil {
		t.Fatal(err)
	}
	read := func(p string) string {
		b, err := repo.ReadFile(context.Background(), "main", p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
		}
		return string(b)
	}
	checks := map[string][]string{
		"catalog-info.yaml": {"name: " + app, "backstage.io/createdAt:", "owner: group:default/payments", "title: Orders "}, // Python's title() of the app name
		"package.json":      {`"build": "go build ./..."`, `"test": "go test ./..."`},
		"docs/index.md":     {"# " + app},
		"meta.yaml":         {"scripts:\n  - build\n  - test"},
		"score.yaml":        {"PORT: \"8080\"", "goldenpath.io/environments: dev,prod"},
	}
	for p, wants := range checks {
		got := read(p)
		for _, w := range wants {
			if !strings.Contains(got, w) {
				t.Errorf("%s lacks %q:\n%s", p, w, got)
			}
		}
	}
	e.must(200, "GET", "/api/catalog/entities/by-name/component/default/"+app, c.alice, nil)
}
