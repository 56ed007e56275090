package app

import (
	"context"
	"errors"
	"sort"
	"strings"

	"github.com/goldenpathidp/goldenpath/internal/forge"
	"github.com/goldenpathidp/goldenpath/internal/platform"
	"github.com/goldenpathidp/goldenpath/internal/score"
)

// AnnotationEnvironments lists the environments an app is deployed to (score.yaml metadata.annotations),
// comma-separated; default dev.
const AnnotationEnvironments = "goldenpath.io/environments"

// appInfo is an app: a forge repository with a score.yaml on main.
type appInfo struct {
	Repo         string // owner/name in the forge
	Commit       string // main's commit the workload was read at
	Workload     *score.Workload
	Environments []string
}

// Name is the app's name (its Score workload's).
func (ai appInfo) Name() string { return ai.Workload.Metadata.Name }

// apps finds every app in the forge. Repositories whose score.yaml does not parse are reported, not fatal.
func (a *App) apps(ctx context.Context, cfg *platform.Config) ([]appInfo, []error, error) {
	names, err := a.Forge.Repos()
	if err != nil {
		return nil, nil, err
	}
	var out []appInfo
	var problems []error
	for _, name := range names {
		if name == PlatformRepo {
			continue
		}
		repo, err := a.Forge.Repo(name)
		if err != nil {
			continue
		}
		commit, err := repo.ResolveRef(ctx, "main")
		if err != nil {
			continue // an empty repository
		}
		raw, err := repo.ReadFile(ctx, commit, "score.yaml")
		if errors.Is(err, forge.ErrNotFound) {
			continue // not an app
		}
		if err != nil {
			return nil, nil, err
		}
		w, err := score.Parse(name+":score.yaml", raw)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		out = append(out, appInfo{Repo: name, Commit: commit, Workload: w, Environments: appEnvironments(w, cfg)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, problems, nil
}

// appEnvironments reads the app's environments annotation, keeping only environments platform.yaml defines.
func appEnvironments(w *score.Workload, cfg *platform.Config) []string {
	want := []string{"dev"}
	if v := w.Metadata.Annotations[AnnotationEnvironments]; v != "" {
		want = strings.Split(v, ",")
	}
	var out []string
	for _, e := range want {
		e = strings.TrimSpace(e)
		if _, ok := cfg.Environment(e); ok {
			out = append(out, e)
		}
	}
	return out
}
