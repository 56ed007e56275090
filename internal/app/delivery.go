package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/goldenpathidp/goldenpath/internal/contract"
	"github.com/goldenpathidp/goldenpath/internal/edge"
	"github.com/goldenpathidp/goldenpath/internal/forge"
	"github.com/goldenpathidp/goldenpath/internal/images"
	"github.com/goldenpathidp/goldenpath/internal/platform"
	"github.com/goldenpathidp/goldenpath/internal/provision/local"
	"github.com/goldenpathidp/goldenpath/internal/score"
	"github.com/goldenpathidp/goldenpath/internal/store"
)

// appImage is the registry repository an app's images are pushed to: the ECR request's path,
// "<registry>/<env>/<app>".
func (a *App) appImage(env, app string) string {
	return strings.TrimPrefix(a.url, "http://") + "/" + env + "/" + app
}

// notDeployed stands for the image of an app no image was built for yet.
const notDeployed = "not-deployed"

var pinnedTag = regexp.MustCompile(`(?m)^\s*newTag:\s*"?([^"\s]+)"?\s*$`)
var pinnedDigest = regexp.MustCompile(`(?m)^\s*digest:\s*"?(sha256:[0-9a-f]{64})"?\s*$`)

// pinned reads the tag or digest an app's kustomization pins in the platform repository, so re-rendering
// never moves an app's image ("" and "" when it was never deployed).
func (a *App) pinned(ctx context.Context, env, app string) (tag, digest string) {
	raw, err := a.Platform.ReadFile(ctx, "main", score.OverlayDir(env, app)+"/kustomization.yaml")
	if err != nil {
		return "", ""
	}
	if m := pinnedDigest.FindSubmatch(raw); m != nil {
		return "", string(m[1])
	}
	if m := pinnedTag.FindSubmatch(raw); m != nil {
		return string(m[1]), ""
	}
	return "", ""
}

// appInputs are what rendering an app for one environment needs besides its workload, with its image
// pinned to tag or digest (or to what main pins when both are empty).
func (a *App) appInputs(ctx context.Context, cfg *platform.Config, ai appInfo, env, tag, digest string) score.Inputs {
	if tag == "" && digest == "" {
		tag, digest = a.pinned(ctx, env, ai.Name())
	}
	if tag == "" && digest == "" {
		tag = notDeployed // only for routes: an app is rendered once its first image is pinned
	}
	return score.Inputs{Environment: env, Namespace: ai.Name(), Image: a.appImage(env, ai.Name()), Tag: tag, Digest: digest,
		Domain: cfg.EnvironmentDomain(env), ArgoCD: score.ArgoCD{RepoURL: a.url + "/git/" + PlatformRepo + ".git"}}
}

// resourceRequest names the request behind a workload resource: params.request, else the app's name, in
// the environment (the built-in templates request "<kind>.<env>.<app>").
func resourceRequest(res score.Resource, kind contract.Kind, env, app string) contract.ID {
	name := app
	if n, ok := res.Params["request"].(string); ok && n != "" {
		name = n
	}
	return contract.MakeID(kind, env, name)
}

// appResources are the outputs of an app's postgres and s3 resources in one environment.
type appResources struct {
	public map[string]map[string]string // by resource: the non-secret outputs (manifests, the local runtime)
	secret map[string]map[string]string // by resource: the secret outputs (the local runtime only)
	// refused says, by resource, why none of its request's outputs are given to the app: another team
	// owns the request.
	refused map[string]string
	// unavailable says, by resource, why it has no outputs yet: no request, or one not Ready.
	unavailable map[string]string
}

// problems lists the refusals, sorted.
func (r appResources) problems() []string {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(r.refused)) {
		out = append(out, r.refused[name])
	}
	return out
}

// blankOutputs are the non-secret outputs of a refused resource: empty, so the app still renders and runs,
// without any of them.
var blankOutputs = map[contract.Kind][]string{
	contract.RDS: {"host", "port", "database", "username", "name"},
	contract.S3:  {"bucket", "endpoint", "region"},
}

// resourceOutputs gathers, for each postgres and s3 resource of the app, the outputs of the request behind
// it: the non-secret ones (for manifests) and the secret ones (for the local runtime only). A request is
// used only when the app's owner owns it (the request's team, or its owner for a user's repository); any
// other is refused, whatever the app is called, and nothing of it is given to the app.
func (a *App) resourceOutputs(ctx context.Context, ai appInfo, env string, withSecrets bool) appResources {
	r := appResources{public: map[string]map[string]string{}, secret: map[string]map[string]string{}, refused: map[string]string{},
		unavailable: map[string]string{}}
	for name, res := range ai.Workload.Resources {
		kind, ok := resourceKind(res)
		if !ok {
			continue
		}
		id := resourceRequest(res, kind, env, ai.Name())
		rec, err := a.Store.GetRequest(ctx, string(id))
		if errors.Is(err, store.ErrNotFound) {
			r.unavailable[name] = fmt.Sprintf("there is no request %s: file a %s named %s for %s (the stateful app template does)", id, kind, ai.Name(), env)
			continue
		}
		if err != nil {
			r.unavailable[name] = fmt.Sprintf("reading request %s: %v", id, err)
			continue
		}
		if !ownedBy(ai.Owner, rec.Owner, rec.Team) {
			r.refused[name] = foreignResource(ai, name, id, rec)
			r.public[name] = map[string]string{}
			for _, k := range blankOutputs[kind] {
				r.public[name][k] = ""
			}
			continue
		}
		if rec.Phase != store.PhaseReady {
			r.unavailable[name] = fmt.Sprintf("request %s is %s, not Ready yet: the app deploys once it is", id, rec.Phase)
			continue
		}
		out := map[string]string{}
		for k, v := range rec.Outputs {
			out[k] = v
		}
		if kind == contract.RDS {
			out["name"] = out["database"] // Score's postgres outputs call the database "name"
		}
		r.public[name] = out
		if !withSecrets {
			continue
		}
		sec := map[string]string{}
		names, _ := a.Vault.List(ctx, local.SecretPrefix(id))
		for _, n := range names {
			if v, _, err := a.Vault.Get(ctx, n); err == nil {
				sec[strings.TrimPrefix(n, local.SecretPrefix(id))] = v.Reveal()
			}
		}
		r.secret[name] = sec
	}
	return r
}

// resourceKind is the request kind behind a resource type goldenpath provisions.
func resourceKind(res score.Resource) (contract.Kind, bool) {
	switch res.Type {
	case score.TypePostgres:
		return contract.RDS, true
	case score.TypeS3:
		return contract.S3, true
	}
	return "", false
}

// resourceProblems lists the app's resources in env whose requests another team owns (resourceOutputs
// without reading any secret).
func (a *App) resourceProblems(ctx context.Context, ai appInfo, env string) []string {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(ai.Workload.Resources)) {
		res := ai.Workload.Resources[name]
		kind, ok := resourceKind(res)
		if !ok {
			continue
		}
		id := resourceRequest(res, kind, env, ai.Name())
		if rec, err := a.Store.GetRequest(ctx, string(id)); err == nil && !ownedBy(ai.Owner, rec.Owner, rec.Team) {
			out = append(out, foreignResource(ai, name, id, rec))
		}
	}
	return out
}

// foreignResource says why a resource's request is not the app's.
func foreignResource(ai appInfo, resource string, id contract.ID, rec store.Request) string {
	owner := "nobody (the repository has no owner)"
	if ai.Owner != "" {
		owner = ai.Owner
	}
	return fmt.Sprintf("resource %s: request %s belongs to team %s (owner %s), not to %s, which owns %s: none of its outputs are given to this app",
		resource, id, rec.Team, rec.Owner, owner, ai.Repo)
}

// secretRefs names the Kubernetes Secret holding each resource's secret outputs: "<app>-<resource>".
func secretRefs(w *score.Workload) map[string]string {
	refs := map[string]string{}
	for name, res := range w.Resources {
		if res.Type == score.TypePostgres || res.Type == "s3" {
			refs[name] = w.Metadata.Name + "-" + name
		}
	}
	return refs
}

// renderError is why an app environment cannot be rendered, in its developer's words: a resource that is
// not there yet, a file its repository lacks, a service it may not use.
type renderError struct {
	app, env string
	err      error
}

func (e *renderError) Error() string {
	return fmt.Sprintf("cannot render %s for %s: %v", e.app, e.env, e.err)
}

func (e *renderError) Unwrap() error { return e.err }

// renderApp renders one app environment's overlay and Application, with the app's resources wired in.
// peers are the apps its service resources may point at. A failure is a *renderError.
func (a *App) renderApp(ctx context.Context, cfg *platform.Config, ai appInfo, peers []appInfo, env, tag, digest string, edgeFiles map[string][]byte) (map[string][]byte, error) {
	in, err := a.renderInputs(ctx, cfg, ai, peers, env, tag, digest)
	if err != nil {
		return nil, &renderError{ai.Name(), env, err}
	}
	in.ExtraResources = edge.Resources(edgeFiles, edge.AppDir(env, ai.Name()))
	files, err := score.Render(ai.Workload, in)
	if err != nil {
		return nil, &renderError{ai.Name(), env, err}
	}
	return files, nil
}

// renderInputs gathers what rendering an app environment takes: its resources' outputs (the requests
// behind postgres and s3, the apps behind service resources, the environment's values), and the files its
// score.yaml reads from its repository.
func (a *App) renderInputs(ctx context.Context, cfg *platform.Config, ai appInfo, peers []appInfo, env, tag, digest string) (score.Inputs, error) {
	in := a.appInputs(ctx, cfg, ai, env, tag, digest)
	res := a.resourceOutputs(ctx, ai, env, false)
	in.Outputs, in.Unavailable = res.public, res.unavailable
	in.SecretRefs = secretRefs(ai.Workload)
	if err := a.linkResources(ctx, ai, peers, env, &in); err != nil {
		return in, err
	}
	sources, err := a.readSources(ctx, ai, ai.Workload.FileSources())
	in.Sources = sources
	return in, err
}

// linkResources gives the app's service resources the Service of the app they point at, and its
// environment resources the values of its repository's .env files.
func (a *App) linkResources(ctx context.Context, ai appInfo, peers []appInfo, env string, in *score.Inputs) error {
	for _, name := range slices.Sorted(maps.Keys(ai.Workload.Resources)) {
		res := ai.Workload.Resources[name]
		switch res.Type {
		case score.TypeService, score.TypeServicePort:
			out, note, err := serviceOutputs(ai, peers, env, name, res)
			if err != nil {
				return fmt.Errorf("resource %s: %w", name, err)
			}
			in.Outputs[name] = out
			if note != "" {
				in.Unavailable[name] = note
			}
		case score.TypeEnvironment:
			vals, files, err := a.environmentValues(ctx, ai, env)
			if err != nil {
				return fmt.Errorf("resource %s: %w", name, err)
			}
			in.Outputs[name] = vals
			in.Unavailable[name] = fmt.Sprintf("set it in %s of %s", strings.Join(files, " or "), ai.Repo)
		}
	}
	return nil
}

// serviceOutputs resolves a service resource to the Service of the app it points at, which must be an app
// of the same owner (an app takes nothing of another team's) deployed to the same environment.
func serviceOutputs(ai appInfo, peers []appInfo, env, name string, res score.Resource) (map[string]string, string, error) {
	want := score.ServiceWorkload(name, res)
	for _, p := range peers {
		if p.Name() != want {
			continue
		}
		if ai.Owner == "" || p.Owner != ai.Owner {
			return nil, "", fmt.Errorf("app %s is repository %s's, owned by %s, not by %s (which owns %s): a service resource points only at an app of the same owner",
				want, p.Repo, cmp.Or(p.Owner, "nobody"), cmp.Or(ai.Owner, "nobody"), ai.Repo)
		}
		if !slices.Contains(p.Environments, env) {
			return nil, "", fmt.Errorf("app %s is not deployed to %s (its environments: %s)", want, env, strings.Join(p.Environments, ", "))
		}
		return score.ServiceOutputs(p.Workload, p.Name(), res)
	}
	return nil, "", fmt.Errorf("there is no app %s to point at (goldenpath apps lists the apps)", want)
}

// environmentValues are an app's values in env: its repository's .env, overridden by .env.<env>, at the
// commit its score.yaml was read at. files names the files, for messages.
func (a *App) environmentValues(ctx context.Context, ai appInfo, env string) (map[string]string, []string, error) {
	files := []string{".env." + env, ".env"}
	vals := map[string]string{}
	for _, f := range []string{".env", ".env." + env} {
		got, err := a.readSources(ctx, ai, []string{f})
		if errors.Is(err, errNoSource) {
			continue
		}
		if err != nil {
			return nil, files, err
		}
		parsed, err := score.ParseEnvFile(ai.Repo+":"+f, got[f])
		if err != nil {
			return nil, files, err
		}
		maps.Copy(vals, parsed)
	}
	return vals, files, nil
}

// errNoSource is a file the app's repository does not have.
var errNoSource = errors.New("no such file")

// maxSymlinks bounds the symbolic links followed to read one file.
const maxSymlinks = 8

// readSources reads files of the app's repository at the commit its score.yaml was read at. A path is
// relative to the repository's root and may not leave it: a symbolic link is followed only to a file
// inside the repository.
func (a *App) readSources(ctx context.Context, ai appInfo, paths []string) (map[string][]byte, error) {
	if len(paths) == 0 {
		return nil, nil
	}
	repo, err := a.Forge.Repo(ai.Repo)
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, p := range paths {
		data, err := readConfined(ctx, repo, ai.Commit, p)
		if err != nil {
			return nil, fmt.Errorf("file %s of %s: %w", p, ai.Repo, err)
		}
		out[p] = data
	}
	return out, nil
}

// readConfined reads p in commit, following symbolic links that stay inside the repository.
func readConfined(ctx context.Context, repo *forge.Repo, commit, p string) ([]byte, error) {
	for hop := 0; ; hop++ {
		files, err := repo.ReadTree(ctx, commit, p)
		if err != nil {
			return nil, err
		}
		var f *forge.File
		for i := range files {
			if files[i].Path == p {
				f = &files[i]
			}
		}
		switch {
		case f == nil && len(files) > 0:
			return nil, fmt.Errorf("%s is a directory, not a file", p)
		case f == nil:
			return nil, fmt.Errorf("%w in the repository (a path through a symbolic link to a directory is not followed)", errNoSource)
		case f.Mode != "120000":
			return f.Content, nil
		case hop == maxSymlinks:
			return nil, fmt.Errorf("more than %d symbolic links to follow", maxSymlinks)
		}
		target := string(f.Content)
		next := path.Clean(path.Join(path.Dir(p), target))
		if path.IsAbs(target) || next == ".." || strings.HasPrefix(next, "../") {
			return nil, fmt.Errorf("%s is a symbolic link to %q, outside the repository: only files inside it are read", p, target)
		}
		p = next
	}
}

// renderAppTree renders every deployed app's overlay for each of its environments, and per environment a
// kustomization listing the Argo CD Applications. An app of its own image waits for its first image (the
// write-back renders it then); an app whose containers all name their images has nothing to wait for. An
// app that cannot be rendered now (a resource not Ready, a file missing) is reported and keeps what main
// has for it, as does an app whose score.yaml no longer parses: a mistake never undeploys an app.
func (a *App) renderAppTree(ctx context.Context, st *EdgeState, apps []appInfo, edgeFiles map[string][]byte) (map[string][]byte, error) {
	files := map[string][]byte{}
	applications := map[string][]string{}
	for _, ai := range apps {
		for _, env := range ai.Environments {
			tag, digest := a.pinned(ctx, env, ai.Name())
			if tag == "" && digest == "" && ai.Workload.UsesOwnImage() {
				continue
			}
			rendered, err := a.renderApp(ctx, st.cfg, ai, apps, env, tag, digest, edgeFiles)
			if err != nil {
				st.Problems = append(st.Problems, fmt.Sprintf("%s: %v; what main has for it stays", ai.Repo, err))
				if rendered, err = a.renderedOnMain(ctx, ai.Name(), env); err != nil {
					return nil, err
				}
			}
			if len(rendered) == 0 {
				continue
			}
			maps.Copy(files, rendered)
			applications[env] = append(applications[env], path.Base(score.ApplicationPath(env, ai.Name())))
		}
	}
	for _, name := range st.held {
		for _, env := range st.cfg.EnvironmentNames() {
			kept, err := a.renderedOnMain(ctx, name, env)
			if err != nil {
				return nil, err
			}
			if len(kept) > 0 {
				maps.Copy(files, kept)
				applications[env] = append(applications[env], path.Base(score.ApplicationPath(env, name)))
			}
		}
	}
	for env, list := range applications {
		sort.Strings(list)
		var b strings.Builder
		b.WriteString("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n")
		for _, f := range list {
			b.WriteString("  - " + f + "\n")
		}
		files[path.Dir(score.ApplicationPath(env, "x"))+"/kustomization.yaml"] = []byte(b.String())
	}
	return files, nil
}

// renderedOnMain returns what main holds of an app environment's rendered files (its overlay and its
// Application, without goldenpath's header), so that they are committed unchanged; none when it was never
// rendered.
func (a *App) renderedOnMain(ctx context.Context, app, env string) (map[string][]byte, error) {
	out := map[string][]byte{}
	overlay, err := a.Platform.ReadTree(ctx, "main", score.OverlayDir(env, app))
	if err != nil {
		return nil, err
	}
	application, err := a.Platform.ReadTree(ctx, "main", score.ApplicationPath(env, app))
	if err != nil {
		return nil, err
	}
	for _, f := range append(overlay, application...) {
		if isGenerated(f.Path, f.Content) && !edgeOwned(f.Path) {
			out[f.Path] = []byte(strings.TrimPrefix(string(f.Content), generatedHeader))
		}
	}
	if _, ok := out[score.ApplicationPath(env, app)]; !ok {
		return nil, nil // not an app rendered there
	}
	return out, nil
}

// edgeOwned reports whether a file of an app's overlay is the edge's (its Ingress, sign-in), which the edge
// renders on its own.
func edgeOwned(p string) bool {
	base := path.Base(p)
	return base != score.DeploymentFile && base != score.ServiceFile && base != score.FilesFile && base != score.KustomizationFile &&
		strings.Contains(p, "/apps/") && strings.HasPrefix(p, "gitops/kustomize/")
}

// renderProblem says why an app environment cannot be rendered now (nil when it can), with its pin, or a
// stand-in before its first image.
func (a *App) renderProblem(ctx context.Context, cfg *platform.Config, ai appInfo, peers []appInfo, env string) error {
	_, err := a.renderApp(ctx, cfg, ai, peers, env, "", "", nil)
	return err
}

// imagePolicy is the app's Argo CD Image Updater policy for its own image, in the images package's terms.
// Without annotations goldenpath follows the newest build (the seed plan's `update-strategy: latest`).
func imagePolicy(w *score.Workload) images.Policy {
	p := images.Policy{Strategy: images.StrategyNewestBuild}
	if w.Images == nil {
		return p
	}
	for _, u := range w.Images.Images {
		if u.Image != "." {
			continue
		}
		p = images.Policy{Strategy: images.Strategy(u.Strategy), AllowTags: u.AllowTags, IgnoreTags: u.IgnoreTags, Platforms: u.Platforms}
		if p.Strategy.Canonical() == images.StrategyDigest {
			p.Tag = u.Constraint
		} else {
			p.Constraint = u.Constraint
		}
	}
	return p
}
