package scaffolder

import (
	"context"
	"strings"
	"testing"

	"github.com/goldenpathidp/goldenpath/internal/forge"
)

type fakeRegistered []TemplateFile

func (f fakeRegistered) RegisteredTemplates(context.Context) ([]TemplateFile, error) { return f, nil }

func named(name string) string {
	return strings.Replace(validTemplate, "name: hello", "name: "+name, 1)
}

// TestTemplatesAnywhere: templates in nested folders of the platform repository and templates registered
// in the catalog from another repository are listed; a registered one cannot take a platform template's
// ref; relative URLs resolve against the template file's folder, inside its repository only.
func TestTemplatesAnywhere(t *testing.T) {
	ctx := context.Background()
	f, err := forge.New(t.TempDir(), forge.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sig := forge.Signature{Name: "t", Email: "t@example.com"}
	create := func(repo string, files map[string]string) {
		var changes []forge.Change
		for p, c := range files {
			changes = append(changes, forge.Change{Path: p, Content: []byte(c)})
		}
		if _, _, err := f.CreateRepoWithCommit(ctx, repo, "main", forge.CommitOptions{Message: "init", Author: sig, Changes: changes}); err != nil {
			t.Fatal(err)
		}
	}
	create("platform", map[string]string{
		"templates/hello/template.yaml":                 validTemplate,
		"templates/github/go-backend/template.yaml":     named("go-backend"),
		"templates/github/go-backend/skeleton/main.go":  "package main",
		"skeletons/shared/README.md":                    "shared",
		"templates/github/go-backend/template.yaml.bak": "not a template",
	})
	create("search/templates", map[string]string{
		"templates/search-svc/template.yaml": named("search-svc"),
		"templates/clash/template.yaml":      named("hello"),
	})
	repo, _ := f.Repo("platform")
	rt := &RepoTemplates{Repo: repo, Forge: f, Actions: registry(t), Registered: fakeRegistered{
		{Repo: "search/templates", Ref: "main", Path: "templates/search-svc/template.yaml"},
		{Repo: "search/templates", Ref: "HEAD", Path: "templates/clash/template.yaml"},
	}}
	found, problems, err := rt.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range found {
		names = append(names, f.Template.Metadata.Name+"@"+f.Source.Repo+":"+f.Source.FilePath())
	}
	want := "go-backend@platform:templates/github/go-backend/template.yaml hello@platform:templates/hello/template.yaml " +
		"search-svc@search/templates:templates/search-svc/template.yaml"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("templates:\n got %s\nwant %s", got, want)
	}
	if len(problems) != 1 || !strings.Contains(problems[0].Error(), "template:default/hello is also defined by platform:templates/hello/template.yaml") {
		t.Errorf("problems = %v, want the clash with the platform's hello", problems)
	}
	got, err := rt.Get(ctx, "go-backend")
	if err != nil {
		t.Fatal(err)
	}
	src := &forgeSource{repo: repo, spec: got.Source}
	files, err := src.Files(ctx, "../../../skeletons/shared")
	if err != nil || len(files) != 1 || string(files[0].Content) != "shared" {
		t.Errorf("../../../skeletons/shared from templates/github/go-backend = %v, %v; want the shared skeleton", files, err)
	}
	if _, err := src.Files(ctx, "../../../../elsewhere"); err == nil || !strings.Contains(err.Error(), "leaves the template's repository") {
		t.Errorf("a path out of the repository = %v, want it refused", err)
	}
}

func TestIsTemplatePath(t *testing.T) {
	for p, want := range map[string]bool{
		"templates/hello/template.yaml":              true,
		"templates/github/go-backend/template.yaml":  true,
		"templates/template.yaml":                    true,
		"templates/hello/skeleton/template.yaml.njk": false,
		"other/hello/template.yaml":                  false,
		"templates/hello/template.yml":               false,
		"templates/hello/catalog-info.yaml":          false,
	} {
		if got := IsTemplatePath(p); got != want {
			t.Errorf("IsTemplatePath(%q) = %v, want %v", p, got, want)
		}
	}
}
