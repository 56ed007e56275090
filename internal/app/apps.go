package app

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/platform"
	"github.com/goldenpathidp/goldenpath/internal/score"
)

// AnnotationEnvironments lists the environments an app is deployed to (score.yaml metadata.annotations),
// comma-separated; default dev.
const AnnotationEnvironments = "goldenpath.io/environments"

// appInfo is an app: a forge repository with a score.yaml on main that holds its app name.
type appInfo struct {
	Repo         string    // owner/name in the forge
	Owner        string    // the repository's owner, a team or a user ("" for a repository without one)
	Commit       string    // main's commit the workload was read at
	ClaimedAt    time.Time // since when the repository holds the app's name
	Workload     *score.Workload
	Environments []string
}

// Name is the app's name (its Score workload's).
func (ai appInfo) Name() string { return ai.Workload.Metadata.Name }

// apps finds every app in the forge (see scanApps). Repositories whose score.yaml does not parse, or that
// are refused their app name, are reported, not fatal.
func (a *App) apps(ctx context.Context, cfg *platform.Config) ([]appInfo, []error, error) {
	s, err := a.scanApps(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	return s.apps, s.allProblems(), nil
}

// allProblems are the score.yaml files that do not parse and the repositories refused their app name.
func (s appScan) allProblems() []error {
	problems := slices.Clone(s.problems)
	for _, r := range s.refused {
		problems = append(problems, fmt.Errorf("%s: %s", r.Repo, r.Reason))
	}
	return problems
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
