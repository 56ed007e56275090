package app

import (
	"context"
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/goldenpathidp/goldenpath/internal/contract"
	"github.com/goldenpathidp/goldenpath/internal/edge"
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
func (a *App) resourceOutputs(ctx context.Context, ai appInfo, env string) appResources {
	r := appResources{public: map[string]map[string]string{}, secret: map[string]map[string]string{}, refused: map[string]string{}}
	for name, res := range ai.Workload.Resources {
		kind, ok := resourceKind(res)
		if !ok {
			continue
		}
		id := resourceRequest(res, kind, env, ai.Name())
		rec, err := a.Store.GetRequest(ctx, string(id))
		if err != nil {
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

// renderApp renders one app environment's overlay and Application, with the app's resources wired in.
func (a *App) renderApp(ctx context.Context, cfg *platform.Config, ai appInfo, env, tag, digest string, edgeFiles map[string][]byte) (map[string][]byte, error) {
	in := a.appInputs(ctx, cfg, ai, env, tag, digest)
	in.Outputs = a.resourceOutputs(ctx, ai, env).public
	in.SecretRefs = secretRefs(ai.Workload)
	in.ExtraResources = edge.Resources(edgeFiles, edge.AppDir(env, ai.Name()))
	return score.Render(ai.Workload, in)
}

// renderAppTree renders every deployed app's overlay for each of its environments, and per environment a
// kustomization listing the Argo CD Applications. An app waits for its first image (the write-back
// renders it then); an app that cannot be rendered is reported and left out.
func (a *App) renderAppTree(ctx context.Context, st *EdgeState, apps []appInfo, edgeFiles map[string][]byte) (map[string][]byte, error) {
	files := map[string][]byte{}
	applications := map[string][]string{}
	for _, ai := range apps {
		for _, env := range ai.Environments {
			tag, digest := a.pinned(ctx, env, ai.Name())
			if tag == "" && digest == "" {
				continue
			}
			rendered, err := a.renderApp(ctx, st.cfg, ai, env, tag, digest, edgeFiles)
			if err != nil {
				st.Problems = append(st.Problems, fmt.Sprintf("%s in %s: %v", ai.Repo, env, err))
				continue
			}
			for p, b := range rendered {
				files[p] = b
			}
			applications[env] = append(applications[env], path.Base(score.ApplicationPath(env, ai.Name())))
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
