package app

import (
	"context"
	"fmt"
	"path"
	"regexp"
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

// resourceOutputs gathers, for each postgres and s3 resource of the workload, the outputs of the request
// behind it: the non-secret ones (for manifests) and the secret ones (for the local runtime only).
func (a *App) resourceOutputs(ctx context.Context, w *score.Workload, env string) (public map[string]map[string]string, secret map[string]map[string]string) {
	public, secret = map[string]map[string]string{}, map[string]map[string]string{}
	for name, res := range w.Resources {
		var kind contract.Kind
		switch res.Type {
		case score.TypePostgres:
			kind = contract.RDS
		case "s3":
			kind = contract.S3
		default:
			continue
		}
		id := resourceRequest(res, kind, env, w.Metadata.Name)
		rec, err := a.Store.GetRequest(ctx, string(id))
		if err != nil || rec.Phase != store.PhaseReady {
			continue
		}
		out := map[string]string{}
		for k, v := range rec.Outputs {
			out[k] = v
		}
		if kind == contract.RDS {
			out["name"] = out["database"] // Score's postgres outputs call the database "name"
		}
		public[name] = out
		sec := map[string]string{}
		names, _ := a.Vault.List(ctx, local.SecretPrefix(id))
		for _, n := range names {
			if v, _, err := a.Vault.Get(ctx, n); err == nil {
				sec[strings.TrimPrefix(n, local.SecretPrefix(id))] = v.Reveal()
			}
		}
		secret[name] = sec
	}
	return public, secret
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
	in.Outputs, _ = a.resourceOutputs(ctx, ai.Workload, env)
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
