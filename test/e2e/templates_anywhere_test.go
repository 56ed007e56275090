package e2e

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

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

	head, err := e.app.Platform.ResolveRef(ctx, "main")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.Platform.Commit(ctx, forge.CommitOptions{Branch: "main", Parent: head, Message: "nested templates and shared skeletons",
		Author: forge.Signature{Name: "e2e", Email: "e2e@localhost"}, Changes: []forge.Change{
			{Path: "templates/github/go-backend/template.yaml", Content: []byte(anywhereTemplate("go-backend", "group:default/payments", "../../../skeletons/go"))},
			{Path: "templates/github/escape/template.yaml", Content: []byte(anywhereTemplate("escape", "group:default/payments", "../../../../elsewhere"))},
			{Path: "skeletons/go/README.md", Content: []byte("# ${{ values.name }} (shared Go skeleton)\n")},
		}}); err != nil {
		t.Fatal(err)
	}
	createRepo(t, e, "search/templates", map[string]string{
		"templates/search-svc/template.yaml": anywhereTemplate("search-svc", "group:default/search", "../../skeletons/svc"),
		"skeletons/svc/README.md":            "# ${{ values.name }} (search's skeleton)\n",
	})
	e.must(201, "POST", "/api/catalog/locations", tm.seadev, map[string]string{"type": "url",
		"target": e.app.URL() + "/git/search/templates/blob/main/templates/search-svc/template.yaml"})

	want := []string{"go-backend", "escape", "search-svc", "app-template"}
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
