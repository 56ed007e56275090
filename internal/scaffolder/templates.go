package scaffolder

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/goldenpathidp/goldenpath/internal/catalog"
	"github.com/goldenpathidp/goldenpath/internal/forge"
	"github.com/goldenpathidp/goldenpath/internal/scaffold"
	"go.yaml.in/yaml/v3"
)

// TemplatesDir is where the platform repository keeps templates: any template.yaml under templates/, at any
// depth (templates/go-backend/template.yaml, templates/github/go-backend/template.yaml).
const TemplatesDir = "templates"

// IsTemplatePath tells whether p is where the platform repository keeps a template: a file named
// template.yaml anywhere under templates/. (A skeleton that holds a template of its own names it
// template.yaml.njk, or keeps it outside templates/.)
func IsTemplatePath(p string) bool {
	return strings.HasPrefix(p, TemplatesDir+"/") && path.Base(p) == "template.yaml" && !strings.Contains(p, "//")
}

// Registered finds the templates registered in the catalog from forge repositories (through catalog
// Locations, as Backstage finds templates): where each template file is.
type Registered interface {
	RegisteredTemplates(ctx context.Context) ([]TemplateFile, error)
}

// TemplateFile is a template file in a forge repository: its repository, the branch (or "HEAD" for the
// default branch) and its path.
type TemplateFile struct {
	Repo, Ref, Path string
}

// RepoTemplates finds templates: those of the platform repository on main, and those registered in the
// catalog from any forge repository (Registered).
type RepoTemplates struct {
	Repo *forge.Repo
	// Forge opens the repositories of registered templates.
	Forge Forge
	// Registered, when set, lists the templates registered in the catalog.
	Registered Registered
	// Actions, when set, are the actions templates may use: a template naming another is invalid.
	Actions *scaffold.Registry
	// Logger gets each invalid template once per commit of main (New sets the Manager's).
	Logger *slog.Logger

	mu       sync.Mutex
	commit   string // the commit the cached list was read at
	found    []Found
	problems []error
	reported map[string]bool // commits whose problems were logged (callers may come with an older one)

	regMu  sync.Mutex
	parsed map[SourceSpec]parsedTemplate // registered template files read, by repository, commit and file
	logged map[string]bool               // registered files' problems logged, by repository, commit and file
}

// parsedTemplate is a registered template file as read at one commit: the template, or its problem.
type parsedTemplate struct {
	tmpl *scaffold.Template
	err  error
}

// Found is a template and where it lives.
type Found struct {
	Template *scaffold.Template
	Source   SourceSpec
	// Registered tells a template registered in the catalog (through a Location) from one of the platform
	// repository, which goldenpath puts in the catalog itself.
	Registered bool
}

// List reads every template: templates/**/template.yaml of the platform repository on main, then the
// templates registered in the catalog (a registered template whose ref a platform template already has is
// a problem). Invalid templates (ValidateTemplate) are left out and returned as problems, and logged once
// per commit, however often List is called. The result is sorted by name.
func (t *RepoTemplates) List(ctx context.Context) ([]Found, []error, error) {
	found, problems, err := t.platform(ctx)
	if err != nil || t.Registered == nil {
		return found, problems, err
	}
	reg, regProblems := t.registered(ctx, found)
	if len(reg) == 0 && len(regProblems) == 0 {
		return found, problems, nil
	}
	out := append(append([]Found{}, found...), reg...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Template.Metadata.Name < out[j].Template.Metadata.Name })
	return out, append(append([]error{}, problems...), regProblems...), nil
}

// platform lists the platform repository's templates on main (cached per commit of main).
func (t *RepoTemplates) platform(ctx context.Context) ([]Found, []error, error) {
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
	var problems, uncataloged []error
	for _, f := range files {
		if !IsTemplatePath(f.Path) {
			continue
		}
		tmpl, err := ValidateTemplate(f.Path, f.Content, t.Actions)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		if cp := entityProblems(f.Path, tmpl); len(cp) > 0 {
			uncataloged = append(uncataloged, cp)
		}
		out = append(out, Found{Template: tmpl, Source: SourceSpec{Repo: t.Repo.Name(), Commit: commit, Dir: path.Dir(f.Path), File: f.Path}})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Template.Metadata.Name < out[j].Template.Metadata.Name })
	t.commit, t.found, t.problems = commit, out, problems
	t.report(commit, problems, uncataloged)
	return out, problems, nil
}

// report logs the problems of a commit of main, once: templates that cannot run, and templates that run
// but are left out of the catalog.
func (t *RepoTemplates) report(commit string, problems, uncataloged []error) {
	if t.Logger == nil || t.reported[commit] {
		return
	}
	if t.reported == nil || len(t.reported) > 64 {
		t.reported = map[string]bool{}
	}
	t.reported[commit] = true
	for _, p := range problems {
		file := ""
		var te scaffold.TemplateErrors
		if errors.As(p, &te) && len(te) > 0 {
			file = te[0].File
		}
		t.Logger.Warn("invalid template on main: it cannot be run until it is fixed", "file", file, "commit", commit, "err", p)
	}
	for _, p := range uncataloged {
		t.Logger.Warn("template on main is not a valid catalog entity: it runs, but the catalog leaves it out", "commit", commit, "err", p)
	}
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

// ValidateTemplate checks one template file (its path in the repository and its bytes) the way goldenpath
// reads templates on main: it must parse (scaffold.Parse) and be runnable whatever the form's values
// (Template.Check: parameter schemas, expressions, and with actions the actions and their required inputs).
// It returns the template, or scaffold.TemplateErrors naming the file, the field and the rule for every
// problem found. Whether it is also a valid catalog entity is a separate matter: goldenpath's catalog is
// stricter about entity refs than Backstage's (an owner like "web@example.com"), and a template that
// Backstage runs must run here, so such a template runs and is only left out of the catalog.
func ValidateTemplate(file string, data []byte, actions *scaffold.Registry) (*scaffold.Template, error) {
	tmpl, err := scaffold.Parse(file, data)
	if err != nil {
		var te *scaffold.TemplateError
		if errors.As(err, &te) {
			return nil, scaffold.TemplateErrors{te}
		}
		return nil, err
	}
	if err := tmpl.Check(file, actions); err != nil {
		return nil, err
	}
	return tmpl, nil
}

// entityProblems checks the template as the catalog entity it becomes (as goldenpath's catalog sync
// builds it: from the parsed template).
func entityProblems(file string, tmpl *scaffold.Template) scaffold.TemplateErrors {
	raw, err := yaml.Marshal(tmpl)
	if err != nil {
		return scaffold.TemplateErrors{{File: file, Rule: "cannot be written as a catalog entity: " + err.Error()}}
	}
	_, problems := catalog.ParseEntities(file, raw)
	var out scaffold.TemplateErrors
	for _, p := range problems {
		var ee *catalog.EntityError
		if errors.As(p, &ee) {
			out = append(out, &scaffold.TemplateError{File: file, Field: ee.Field, Rule: "as a catalog entity: " + ee.Rule})
			continue
		}
		out = append(out, &scaffold.TemplateError{File: file, Rule: "as a catalog entity: " + p.Error()})
	}
	return out
}

// ValidateTemplate checks one template file with the actions this Manager runs (see the package-level
// ValidateTemplate); change requests use it to show a template's problems before it reaches main.
func (m *Manager) ValidateTemplate(file string, data []byte) error {
	var actions *scaffold.Registry
	if m.o.Runner != nil {
		actions = m.o.Runner.Actions
	}
	_, err := ValidateTemplate(file, data, actions)
	return err
}
