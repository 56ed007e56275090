package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/forge"
)

// anywhereTemplate is a template whose one step fetches url into the workspace.
func anywhereTemplate(name, owner, url string) string {
	return `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: ` + name + `
  title: ` + name + `
spec:
  owner: ` + owner + `
  type: service
  parameters:
    - title: Basics
      required: [name]
      properties:
        name: {type: string}
  steps:
    - id: fetch
      action: fetch:template
      input:
        url: ` + url + `
        values:
          name: ${{ parameters.name }}
`
}

// anywhereDryRun dry-runs a template by ref and returns the rendered files and the run's error.
func anywhereDryRun(t *testing.T, e *env, token, ref string) (map[string]string, string) {
	t.Helper()
	var res struct {
		DirectoryContents []struct {
			Path          string `json:"path"`
			Base64Content string `json:"base64Content"`
		} `json:"directoryContents"`
		Error string `json:"error"`
	}
	e.must(200, "POST", "/api/scaffolder/v2/dry-run", token, map[string]any{"templateRef": ref, "values": map[string]any{"name": "orders"}}).json(t, &res)
	files := map[string]string{}
	for _, f := range res.DirectoryContents {
		b, _ := base64.StdEncoding.DecodeString(f.Base64Content)
		files[f.Path] = string(b)
	}
	return files, res.Error
}

// TestTemplatesAnywhere: templates in nested folders of the platform repository and templates registered
// in the catalog from a team's repository are listed by the API, the CLI and the portal, and run; their
// relative urls resolve against the template file's folder, may climb to the repository's root
// (../../../skeletons/go), and may not leave the repository.
func TestTemplatesAnywhere(t *testing.T) {
	e := start(t, startOptions{})
	tm := twoTeams(e)
	ctx := context.Background()

	e.commitMain(ctx, "nested templates and shared skeletons",
		forge.Change{Path: "templates/github/go-backend/template.yaml", Content: []byte(anywhereTemplate("go-backend", "group:default/payments", "../../../skeletons/go"))},
		forge.Change{Path: "templates/github/escape/template.yaml", Content: []byte(anywhereTemplate("escape", "group:default/payments", "../../../../elsewhere"))},
		forge.Change{Path: "skeletons/go/README.md", Content: []byte("# ${{ values.name }} (shared Go skeleton)\n")})
	createRepo(t, e, "search/templates", map[string]string{
		"templates/search-svc/template.yaml": anywhereTemplate("search-svc", "group:default/search", "../../skeletons/svc"),
		"skeletons/svc/README.md":            "# ${{ values.name }} (search's skeleton)\n",
	})
	e.must(201, "POST", "/api/catalog/locations", tm.seadev, map[string]string{"type": "url",
		"target": e.app.URL() + "/git/search/templates/blob/main/templates/search-svc/template.yaml"})

	// The common public layout: a Location file listing the templates of a repository.
	createRepo(t, e, "search/more-templates", map[string]string{
		"all-templates.yaml": "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: more-templates\nspec:\n  targets:\n" +
			"    - ./nodejs/template.yaml\n",
		"nodejs/template.yaml":      anywhereTemplate("nodejs-svc", "group:default/search", "./skeleton"),
		"nodejs/skeleton/README.md": "# ${{ values.name }} (node)\n",
	})
	e.must(201, "POST", "/api/catalog/locations", tm.seadev, map[string]string{"type": "url",
		"target": e.app.URL() + "/git/search/more-templates/blob/main/all-templates.yaml"})

	want := []string{"go-backend", "escape", "search-svc", "nodejs-svc", "app-template"}
	t.Run("listed by the API", func(t *testing.T) {
		e.t = t
		var listed struct {
			Items []struct{ Name string } `json:"items"`
		}
		e.must(200, "GET", "/api/scaffolder/v2/templates", tm.alice, nil).json(t, &listed)
		var names []string
		for _, it := range listed.Items {
			names = append(names, it.Name)
		}
		for _, w := range want {
			if !strings.Contains(" "+strings.Join(names, " ")+" ", " "+w+" ") {
				t.Errorf("/api/scaffolder/v2/templates lists %v, want %s in it", names, w)
			}
		}
	})
	t.Run("listed by the CLI", func(t *testing.T) {
		e.t = t
		code, out, errs := e.goldenpath(tm.alice, "template", "list")
		if code != 0 {
			t.Fatalf("template list: exit %d: %s", code, errs)
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("template list does not show %s:\n%s", w, out)
			}
		}
	})
	t.Run("listed by the portal", func(t *testing.T) {
		e.t = t
		b := portalAs(t, e, tm.alice)
		status, _, body := b.do("GET", "/create", nil)
		if status != 200 {
			t.Fatalf("portal /create: %d", status)
		}
		for _, w := range want {
			if !strings.Contains(body, "/create/"+w) {
				t.Errorf("the portal's /create page does not link %s", w)
			}
		}
		for _, w := range []string{"go-backend", "search-svc"} {
			if status, _, body := b.do("GET", "/create/"+w, nil); status != 200 || !strings.Contains(body, "Basics") {
				t.Errorf("portal /create/%s: %d, want its form:\n%.500s", w, status, body)
			}
		}
	})
	t.Run("a nested template reads a skeleton at the repository's root", func(t *testing.T) {
		e.t = t
		files, errMsg := anywhereDryRun(t, e, tm.alice, "template:default/go-backend")
		if errMsg != "" || files["README.md"] != "# orders (shared Go skeleton)\n" {
			t.Errorf("dry run of go-backend: error %q, files %q; want README.md from skeletons/go", errMsg, files)
		}
	})
	t.Run("a registered template reads its own repository", func(t *testing.T) {
		e.t = t
		files, errMsg := anywhereDryRun(t, e, tm.seadev, "template:default/search-svc")
		if errMsg != "" || files["README.md"] != "# orders (search's skeleton)\n" {
			t.Errorf("dry run of search-svc: error %q, files %q; want README.md from search/templates' skeletons/svc", errMsg, files)
		}
	})
	t.Run("a template listed by a Location file runs", func(t *testing.T) {
		e.t = t
		files, errMsg := anywhereDryRun(t, e, tm.seadev, "template:default/nodejs-svc")
		if errMsg != "" || files["README.md"] != "# orders (node)\n" {
			t.Errorf("dry run of nodejs-svc: error %q, files %q; want README.md from its own folder", errMsg, files)
		}
	})
	t.Run("a url leaving the repository is refused", func(t *testing.T) {
		e.t = t
		files, errMsg := anywhereDryRun(t, e, tm.alice, "template:default/escape")
		if !strings.Contains(errMsg, `url "../../../../elsewhere": leaves the template's repository`) || len(files) != 0 {
			t.Errorf("dry run of escape: error %q, files %q; want it refused as leaving the repository", errMsg, files)
		}
	})
}

// TestTemplateV1beta2Refused: a v1beta2 template is refused with a message that says how to convert it,
// naming the field once (no "template: template:").
func TestTemplateV1beta2Refused(t *testing.T) {
	e := start(t, startOptions{})
	tm := cast(e)
	tmpl := map[string]any{"apiVersion": "scaffolder.backstage.io/v1beta2", "kind": "Template", "metadata": map[string]any{"name": "old"},
		"spec": map[string]any{"type": "service", "steps": []any{map[string]any{"id": "log", "action": "debug:log", "input": map[string]any{"message": "{{ parameters.name }}"}}}}}
	r := e.must(400, "POST", "/api/scaffolder/v2/dry-run", tm.alice, map[string]any{"template": tmpl, "values": map[string]any{}})
	body := string(r.body)
	if !strings.Contains(body, "template.apiVersion: scaffolder.backstage.io/v1beta2 templates are not run; convert it to scaffolder.backstage.io/v1beta3") ||
		!strings.Contains(body, "migrating-from-v1beta2-to-v1beta3") || strings.Contains(body, "template: template") {
		t.Errorf("dry run of a v1beta2 template: %s; want the conversion said once", body)
	}
}

// TestTemplateChecksOnChangeRequest: a change request adding a nested template with an unknown action,
// an invalid parameters schema and a v1beta2 template fails its templates check, each problem naming
// the file, the step and the action (or the field).
func TestTemplateChecksOnChangeRequest(t *testing.T) {
	e := start(t, startOptions{})
	tm := twoTeams(e)
	dir := clonePlatform(t, e, "alice", tm.alice)
	bad := strings.Replace(anywhereTemplate("bad", "group:default/payments", "./skeleton"), "action: fetch:template", "action: cloud:nuke", 1)
	bad = strings.Replace(bad, "name: {type: string}", "name: {type: 12}", 1)
	old := strings.Replace(anywhereTemplate("old", "group:default/payments", "./skeleton"), "v1beta3", "v1beta2", 1)
	commitFiles(t, dir, "bad-templates", map[string]string{"templates/github/bad/template.yaml": bad, "templates/legacy/old/template.yaml": old})
	git(t, dir, "push", "-q", "origin", "bad-templates")
	n := changeNumber(e, openChange(e, tm.alice, "", "bad-templates"))
	if passed, text := changeCheck(e, n, "templates"); passed {
		t.Fatalf("the templates check passed:\n%s", text)
	}
	var v struct {
		Evaluation struct {
			Checks []struct {
				Name   string
				Errors []struct{ File, Field, Rule string }
			}
		}
	}
	e.must(200, "GET", fmt.Sprintf("/api/v1/changes/%d", n), tm.alice, nil).json(t, &v)
	var got []string
	for _, c := range v.Evaluation.Checks {
		if c.Name == "templates" {
			for _, er := range c.Errors {
				got = append(got, er.File+": "+er.Field+": "+er.Rule)
			}
		}
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{
		`templates/github/bad/template.yaml: spec.steps[0] (fetch).action: unknown action "cloud:nuke"`,
		`templates/github/bad/template.yaml: spec.parameters[0]: is not a valid JSON Schema`,
		`templates/legacy/old/template.yaml: apiVersion: scaffolder.backstage.io/v1beta2 templates are not run; convert it to scaffolder.backstage.io/v1beta3`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("the templates check does not say %q; it says:\n%s", want, all)
		}
	}
}

// TestTemplateForgeURLs: owner and repository names in URLs are case-insensitive, as on source hosts
// (github.com/Payments/Skeletons is payments/skeletons, and messages keep the case written), and a bare
// repository URL means the default branch's root.
func TestTemplateForgeURLs(t *testing.T) {
	e := start(t, startOptions{})
	tm := twoTeams(e)
	createRepo(t, e, "payments/skeletons", map[string]string{"README.md": "# ${{ values.name }}\n", "go/main.go": "package main\n"})
	dryRun := func(t *testing.T, token, step string) (map[string]string, string) {
		t.Helper()
		var res struct {
			DirectoryContents []struct{ Path, Base64Content string } `json:"directoryContents"`
			Error             string                                 `json:"error"`
		}
		e.must(200, "POST", "/api/scaffolder/v2/dry-run", token, inlineTemplate(tmplJSON("["+step+"]"), nil, map[string]any{"name": "orders"}, nil)).json(t, &res)
		files := map[string]string{}
		for _, f := range res.DirectoryContents {
			b, _ := base64.StdEncoding.DecodeString(f.Base64Content)
			files[f.Path] = string(b)
		}
		return files, res.Error
	}
	t.Run("catalog:register with a bare repository URL registers its catalog-info.yaml", func(t *testing.T) {
		e.t = t
		createRepo(t, e, "payments/ledger", map[string]string{"catalog-info.yaml": "apiVersion: backstage.io/v1alpha1\nkind: Component\n" +
			"metadata:\n  name: ledger\nspec:\n  type: service\n  lifecycle: production\n  owner: payments\n"})
		e.addTemplate("register-bare", "    - id: r\n      action: catalog:register\n      input:\n        catalogInfoUrl: https://github.com/Payments/Ledger\n")
		id := e.task(tm.alice, "register-bare", map[string]any{}, nil)
		if status, evs := e.waitTask(tm.alice, id, 30*time.Second); status != "completed" {
			t.Fatalf("task %s: %s\n%s", id, status, messages(evs))
		}
		e.must(200, "GET", "/api/catalog/entities/by-name/component/default/ledger", tm.alice, nil)
	})
	for _, tt := range []struct{ name, step, file, content, err string }{
		{"a bare repository URL with capitals", `{"id":"f","action":"fetch:template","input":{"url":"https://github.com/Payments/Skeletons","values":{"name":"${{ parameters.name }}"}}}`,
			"README.md", "# orders\n", ""},
		{"a tree URL with capitals", `{"id":"f","action":"fetch:plain","input":{"url":"https://github.com/PAYMENTS/skeletons/tree/main/go"}}`,
			"main.go", "package main\n", ""},
		{"goldenpath's own URL, bare", `{"id":"f","action":"fetch:plain","input":{"url":"` + e.app.URL() + `/git/Payments/Skeletons"}}`,
			"go/main.go", "package main\n", ""},
		{"a missing repository keeps the case written", `{"id":"f","action":"fetch:plain","input":{"url":"https://github.com/Payments/Nope"}}`,
			"", "", "repository Payments/Nope does not exist"},
		{"publishing under the own team with capitals", `{"id":"f","action":"fetch:plain","input":{"url":"https://github.com/payments/skeletons"}},` +
			`{"id":"p","action":"publish:github","input":{"repoUrl":"github.com?owner=Payments&repo=orders"}}`, "README.md", "# ${{ values.name }}\n", ""},
		{"publishing under another team with capitals", `{"id":"p","action":"publish:github","input":{"repoUrl":"github.com?owner=Search&repo=orders"}}`,
			"", "", `not under \"Search\"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			files, errMsg := dryRun(t, tm.alice, tt.step)
			if tt.err == "" && errMsg != "" || tt.err != "" && !strings.Contains(errMsg, strings.ReplaceAll(tt.err, `\"`, `"`)) {
				t.Fatalf("dry run error %q, want %q", errMsg, tt.err)
			}
			if tt.file != "" && files[tt.file] != tt.content {
				t.Errorf("dry run files %q, want %s = %q", files, tt.file, tt.content)
			}
		})
	}
}
