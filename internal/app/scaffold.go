package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"path"
	"strings"

	"github.com/goldenpathidp/goldenpath/internal/auth"
	"github.com/goldenpathidp/goldenpath/internal/catalog"
	"github.com/goldenpathidp/goldenpath/internal/contract"
	"github.com/goldenpathidp/goldenpath/internal/forge"
	"github.com/goldenpathidp/goldenpath/internal/problem"
	"github.com/goldenpathidp/goldenpath/internal/scaffold"
	"github.com/goldenpathidp/goldenpath/internal/scaffold/actions"
	"github.com/goldenpathidp/goldenpath/internal/scaffold/builtin"
	"github.com/goldenpathidp/goldenpath/internal/scaffold/skeleton"
	"github.com/goldenpathidp/goldenpath/internal/scaffolder"
	"github.com/goldenpathidp/goldenpath/internal/store"
	"github.com/goldenpathidp/goldenpath/internal/strictyaml"
)

// principal loads a user's current roles and teams.
func (a *App) principal(ctx context.Context, name string) (auth.Principal, error) {
	u, err := a.Store.GetUser(ctx, name)
	if err != nil {
		return auth.Principal{}, err
	}
	return auth.Principal{Name: u.Name, Roles: u.Roles, Teams: u.Teams}, nil
}

// scaffoldUsers gives tasks their user as Backstage templates see it (user.ref, user.entity).
type scaffoldUsers struct{ a *App }

func (u scaffoldUsers) User(ctx context.Context, name string) (scaffold.User, error) {
	rec, err := u.a.Store.GetUser(ctx, name)
	if err != nil {
		return scaffold.User{}, err
	}
	memberOf := make([]any, 0, len(rec.Teams))
	for _, t := range rec.Teams {
		memberOf = append(memberOf, "group:default/"+t)
	}
	entity := map[string]any{
		"apiVersion": "backstage.io/v1alpha1", "kind": "User",
		"metadata": map[string]any{"name": rec.Name, "namespace": "default"},
		"spec": map[string]any{"profile": map[string]any{"displayName": firstNonEmpty(rec.DisplayName, rec.Name), "email": rec.Email},
			"memberOf": memberOf},
	}
	return scaffold.User{Ref: "user:default/" + rec.Name, Name: rec.Name, Teams: rec.Teams, Roles: rec.Roles, Entity: entity}, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// scaffoldRequests files contracts for tasks through the request flow.
type scaffoldRequests struct{ a *App }

func (r scaffoldRequests) File(ctx context.Context, u scaffold.User, req *contract.Request, dryRun bool) (actions.Filed, error) {
	f := actions.Filed{RequestID: string(req.ID()), ContractPath: req.Path()}
	p, err := r.a.principal(ctx, u.Name)
	if err != nil {
		return f, err
	}
	if dryRun {
		cfg, err := r.a.Requests.Config(ctx)
		if err != nil {
			return f, err
		}
		if errs := req.Validate(cfg); len(errs) > 0 {
			return f, errs
		}
		return f, nil
	}
	filed, err := r.a.Requests.Create(ctx, p, req)
	if err != nil {
		// A resumed or retried task files again: its own open change request for the same request (and
		// content) counts as filed.
		open, lerr := r.a.Changes.List(ctx, store.ChangeFilter{State: store.ChangeOpen, RequestID: string(req.ID())})
		if lerr != nil || len(open) == 0 || open[0].Author != u.Name || !r.sameContent(ctx, open[0], req) {
			return f, err
		}
		filed.Change = open[0]
	}
	f.ChangeNumber = filed.Change.Number
	f.ChangeURL = fmt.Sprintf("%s/api/v1/changes/%d", r.a.url, filed.Change.Number)
	return f, nil
}

// scaffoldChanges opens change requests for publish:github:pull-request.
type scaffoldChanges struct{ a *App }

func (c scaffoldChanges) OpenBranch(ctx context.Context, u scaffold.User, repo, branch, title, body string) (int64, string, error) {
	p, err := c.a.principal(ctx, u.Name)
	if err != nil {
		return 0, "", err
	}
	ch, err := c.a.changeRouter.OpenBranch(ctx, p, repo, branch, title, body)
	if err != nil {
		return 0, "", err
	}
	return ch.Number, fmt.Sprintf("%s/api/v1/changes/%d", c.a.url, ch.Number), nil
}

// scaffoldCatalog registers locations and fetches entities for the catalog actions.
type scaffoldCatalog struct{ a *App }

// Register registers target for the task's user, with the rights that user has in the catalog API.
func (c scaffoldCatalog) Register(ctx context.Context, u scaffold.User, target string) ([]string, error) {
	p, err := c.a.principal(ctx, u.Name)
	if err != nil {
		return nil, err
	}
	loc, entities, existed, err := c.a.Catalog.AddLocationAs(ctx, p, "url", target, false)
	var partial catalog.EntityErrors
	if errors.As(err, &partial) && len(entities) > 0 {
		// Registered: the valid entities are in; the location's status lists the others' problems.
		c.a.log.Warn("some entities of a registered location are invalid", "location", target, "err", err)
		err = nil
	}
	if err != nil {
		return nil, err
	}
	if existed {
		if err := c.a.Catalog.RefreshAs(ctx, p, loc.ID); err != nil && !errors.As(err, &partial) {
			return nil, err
		}
		if entities, err = c.a.Catalog.LocationEntities(ctx, loc.ID); err != nil {
			return nil, err
		}
	}
	refs := make([]string, 0, len(entities))
	for _, e := range entities {
		refs = append(refs, e.Ref().String())
	}
	return refs, nil
}

func (c scaffoldCatalog) Fetch(ctx context.Context, ref, defaultKind, defaultNamespace string) (map[string]any, error) {
	r, err := catalog.ParseRef(ref, defaultKind, firstNonEmpty(defaultNamespace, "default"))
	if err != nil {
		return nil, problem.Field("entityRef", "%v", err)
	}
	e, err := c.a.Catalog.Get(ctx, r)
	if errors.Is(err, catalog.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", actions.ErrEntityNotFound, r)
	}
	if err != nil {
		return nil, err
	}
	return toMap(e)
}

// forgeURL is a URL into the embedded forge: a repository, a ref and a path. display is the repository as
// the URL spells it (hosts' owner names are case-insensitive: RoadieHQ/x is the forge's roadiehq/x).
type forgeURL struct {
	repo, ref, path string
	display         string
}

// parseForgeURL understands goldenpath's own forge URLs (<base>/git/<repo>/blob|tree/<ref>/<path>) and
// GitHub-style URLs (https://github.com/<owner>/<repo>/blob|tree/<ref>/<path>), which `up` serves from the
// embedded forge. A bare repository URL (https://github.com/<owner>/<repo>, <base>/git/<repo>) means the
// repository's default branch at its root. Owner and repository names are matched case-insensitively, as
// source hosts match them. Anything else is refused.
func (a *App) parseForgeURL(raw string) (forgeURL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return forgeURL{}, fmt.Errorf("url %q: %v", raw, err)
	}
	own, _ := url.Parse(a.url)
	rest := ""
	switch {
	case u.Host == own.Host || u.Host == "goldenpath" || isLoopback(u.Hostname()):
		r, ok := strings.CutPrefix(u.Path, "/git/")
		if !ok {
			return forgeURL{}, fmt.Errorf("url %q: not a repository URL (%s/git/<repo>/blob/<ref>/<path>)", raw, a.url)
		}
		rest = r
	case strings.EqualFold(u.Host, "github.com") || strings.EqualFold(u.Host, "www.github.com"):
		rest = strings.TrimPrefix(u.Path, "/")
	default:
		return forgeURL{}, fmt.Errorf("url %q: host %q is not allowed; goldenpath reads from its own forge (%s, and github.com URLs mapped onto it)", raw, u.Host, own.Host)
	}
	fu := forgeURL{ref: "HEAD"}
	repo, found := "", false
	for _, sep := range []string{"/blob/", "/tree/", "/raw/"} {
		if r, refPath, ok := strings.Cut(rest, sep); ok {
			ref, p, _ := strings.Cut(refPath, "/")
			repo, fu.ref, fu.path, found = r, ref, path.Clean("/" + p)[1:], true
			break
		}
	}
	if !found {
		// A bare repository URL: the default branch's root.
		repo = strings.TrimSuffix(rest, "/")
		if strings.Count(repo, "/") > 1 {
			return forgeURL{}, fmt.Errorf("url %q: want .../<repo>, .../<repo>/blob/<ref>/<path> or .../tree/<ref>/<path>", raw)
		}
	}
	fu.display = strings.TrimSuffix(repo, ".git")
	fu.repo = strings.ToLower(fu.display)
	if err := forge.ValidateRepoName(fu.repo); err != nil {
		return forgeURL{}, fmt.Errorf("url %q: %w", raw, err)
	}
	return fu, nil
}

// readForgeFile reads a catalog location's target.
func (a *App) readForgeFile(ctx context.Context, target string) ([]byte, error) {
	fu, err := a.parseForgeURL(target)
	if err != nil {
		return nil, err
	}
	repo, err := a.Forge.Repo(fu.repo)
	if err != nil {
		return nil, fmt.Errorf("%s: repository %s does not exist", target, fu.display)
	}
	if fu.path == "" {
		fu.path = "catalog-info.yaml" // a bare repository URL registers its catalog-info.yaml, as Backstage does
	}
	return repo.ReadFile(ctx, fu.ref, fu.path)
}

// forgeRemote serves fetch:* actions' URLs from the forge.
type forgeRemote struct{ a *App }

func (r forgeRemote) Files(ctx context.Context, raw string) ([]skeleton.File, error) {
	fu, err := r.a.parseForgeURL(raw)
	if err != nil {
		return nil, err
	}
	repo, err := r.a.Forge.Repo(fu.repo)
	if err != nil {
		return nil, fmt.Errorf("url %q: repository %s does not exist in goldenpath's forge", raw, fu.display)
	}
	files, err := repo.ReadTree(ctx, fu.ref, fu.path)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		content, err := repo.ReadFile(ctx, fu.ref, fu.path)
		if err != nil {
			return nil, fmt.Errorf("url %q: nothing there: %w", raw, err)
		}
		return []skeleton.File{{Path: path.Base(fu.path), Content: content}}, nil
	}
	out := make([]skeleton.File, 0, len(files))
	for _, f := range files {
		rel := f.Path
		if fu.path != "" {
			rel = strings.TrimPrefix(f.Path, fu.path+"/")
		}
		sf := skeleton.File{Path: rel, Content: f.Content, Executable: f.Mode == "100755"}
		if f.Mode == "120000" {
			sf.Symlink, sf.Content = string(f.Content), nil
		}
		out = append(out, sf)
	}
	return out, nil
}

// registeredTemplates finds the templates registered in the catalog through a Location that points into
// the forge: the Template entities read from a url: location.
type registeredTemplates struct{ a *App }

func (r registeredTemplates) RegisteredTemplates(ctx context.Context) ([]scaffolder.TemplateFile, error) {
	var out []scaffolder.TemplateFile
	_, err := r.a.Catalog.Entities(ctx, catalog.EntitiesRequest{Filter: catalog.Where("kind", "template"),
		Fields: []string{"metadata.annotations"}}, func(raw json.RawMessage) error {
		var e struct {
			Metadata struct {
				Annotations map[string]string `json:"annotations"`
			} `json:"metadata"`
		}
		if json.Unmarshal(raw, &e) != nil {
			return nil
		}
		target, ok := strings.CutPrefix(e.Metadata.Annotations[catalog.AnnotationManagedByLocation], "url:")
		if !ok {
			return nil // goldenpath's own (the platform repository's templates)
		}
		fu, err := r.a.parseForgeURL(target)
		if err != nil || fu.path == "" {
			return nil
		}
		out = append(out, scaffolder.TemplateFile{Repo: fu.repo, Ref: fu.ref, Path: fu.path})
		return nil
	})
	return out, err
}

// builtinTemplateChanges returns the built-in templates as files for the platform repository.
func builtinTemplateChanges() ([]forge.Change, error) {
	var out []forge.Change
	err := fs.WalkDir(builtin.FS, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := builtin.FS.ReadFile(p)
		if err != nil {
			return err
		}
		out = append(out, forge.Change{Path: p, Content: b})
		return nil
	})
	return out, err
}

// seedTemplates adds the built-in templates to a platform repository that has none.
func (a *App) seedTemplates(ctx context.Context) error {
	main, err := a.Platform.ResolveRef(ctx, "main")
	if err != nil {
		return err
	}
	existing, err := a.Platform.ReadTree(ctx, main, "templates")
	if err != nil || len(existing) > 0 {
		return err
	}
	changes, err := builtinTemplateChanges()
	if err != nil || len(changes) == 0 {
		return err
	}
	_, err = a.Platform.Commit(ctx, forge.CommitOptions{Branch: "main", Parent: main, Message: "Add the built-in golden-path templates",
		Author: forge.Signature{Name: "goldenpath", Email: "goldenpath@localhost"}, Changes: changes})
	if errors.Is(err, forge.ErrConflict) {
		return nil // someone pushed meanwhile; the next start tries again
	}
	return err
}

func toMap(v any) (map[string]any, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(raw, &m)
}

// isLoopback accepts this machine's own addresses, so URLs recorded before a restart on another port
// still resolve to the embedded forge.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// sameContent tells whether change c already proposes exactly req.
func (r scaffoldRequests) sameContent(ctx context.Context, c store.Change, req *contract.Request) bool {
	raw, err := r.a.Platform.ReadFile(ctx, c.HeadSHA, req.Path())
	if err != nil {
		return false
	}
	docs, err := contract.Parse(req.Path(), raw, true)
	if err != nil {
		return false
	}
	for _, d := range docs {
		if d.ID() == req.ID() {
			return string(d.Marshal()) == string(req.Marshal())
		}
	}
	return false
}

// checkTemplate validates a software template a change request adds or modifies, with the actions this
// goldenpath runs, so an invalid template is reported on its change request rather than after it merged.
func (a *App) checkTemplate(file string, data []byte) []*strictyaml.FieldError {
	err := a.Scaffolder.ValidateTemplate(file, data)
	if err == nil {
		return nil
	}
	var errs scaffold.TemplateErrors
	if !errors.As(err, &errs) {
		return []*strictyaml.FieldError{{File: file, Rule: err.Error()}}
	}
	out := make([]*strictyaml.FieldError, len(errs))
	for i, e := range errs {
		out[i] = &strictyaml.FieldError{File: e.File, Field: e.Field, Rule: e.Rule}
	}
	return out
}
