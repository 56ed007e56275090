package app

import (
	"context"
	"regexp"
	"strings"

	"github.com/goldenpathidp/goldenpath/internal/platform"
	"github.com/goldenpathidp/goldenpath/internal/score"
)

// appImage is the registry repository an app's images are pushed to: the ECR request's path,
// "<registry>/<env>/<app>".
func (a *App) appImage(env, app string) string {
	return strings.TrimPrefix(a.url, "http://") + "/" + env + "/" + app
}

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

// appInputs are what rendering an app for one environment needs besides its workload.
func (a *App) appInputs(ctx context.Context, cfg *platform.Config, ai appInfo, env string) score.Inputs {
	tag, digest := a.pinned(ctx, env, ai.Name())
	if tag == "" && digest == "" {
		tag = "latest" // never deployed yet: the first image pushed pins a real one
	}
	return score.Inputs{Environment: env, Namespace: ai.Name(), Image: a.appImage(env, ai.Name()), Tag: tag, Digest: digest,
		Domain: cfg.EnvironmentDomain(env), ArgoCD: score.ArgoCD{RepoURL: a.url + "/git/" + PlatformRepo + ".git"}}
}
