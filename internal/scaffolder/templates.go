package scaffolder

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/goldenpathidp/goldenpath/internal/forge"
	"github.com/goldenpathidp/goldenpath/internal/scaffold"
)

// TemplatesDir is where the platform repository keeps templates: templates/<name>/template.yaml.
const TemplatesDir = "templates"

// RepoTemplates finds templates in a forge repository (the platform repository) on main.
type RepoTemplates struct {
	Repo *forge.Repo

	mu       sync.Mutex
	commit   string // the commit the cached list was read at
	found    []Found
	problems []error
}

// Found is a template and where it lives.
type Found struct {
	Template *scaffold.Template
	Source   SourceSpec
}

// List reads every templates/*/template.yaml on main. Files that do not parse are reported, not fatal.
func (t *RepoTemplates) List(ctx context.Context) ([]Found, []error, error) {
	commit, err := t.Repo.ResolveRef(ctx, "main")
	if err != nil {
		return nil, nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if commit == t.commit {
		return t.found, t.problems, nil // main has not moved: the parsed templates are still right
	}
	files, err := t.Repo.ReadTree(ctx, commit, TemplatesDir)
	if err != nil && !errors.Is(err, forge.ErrNotFound) {
		return nil, nil, err
	}
	var out []Found
	var problems []error
	for _, f := range files {
		if path.Base(f.Path) != "template.yaml" || strings.Count(f.Path, "/") != 2 {
			continue
		}
		tmpl, err := scaffold.Parse(f.Path, f.Content)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		out = append(out, Found{Template: tmpl, Source: SourceSpec{Repo: t.Repo.Name(), Commit: commit, Dir: path.Dir(f.Path)}})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Template.Metadata.Name < out[j].Template.Metadata.Name })
	t.commit, t.found, t.problems = commit, out, problems
	return out, problems, nil
}

// Get finds a template by ref ("template:default/app-template", "default/app-template" or "app-template").
func (t *RepoTemplates) Get(ctx context.Context, ref string) (Found, error) {
	want := strings.ToLower(ref)
	if !strings.Contains(want, ":") {
		want = "template:" + want
	}
	if !strings.Contains(want, "/") {
		want = strings.Replace(want, ":", ":default/", 1)
	}
	list, _, err := t.List(ctx)
	if err != nil {
		return Found{}, err
	}
	var names []string
	for _, f := range list {
		if f.Template.Ref() == want {
			return f, nil
		}
		names = append(names, f.Template.Metadata.Name)
	}
	return Found{}, fmt.Errorf("%w: template %q (templates on main: %s)", ErrNotFound, ref, strings.Join(names, ", "))
}

// ErrNotFound is returned for unknown templates and tasks.
var ErrNotFound = errors.New("not found")
