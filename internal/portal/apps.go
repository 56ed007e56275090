package portal

import (
	"context"
	"net/http"
	"slices"

	"github.com/goldenpathidp/goldenpath/internal/auth"
	"github.com/goldenpathidp/goldenpath/internal/problem"
	"github.com/goldenpathidp/goldenpath/internal/store"
)

// Apps shows the apps (repositories with a score.yaml on main) as the API does, with what keeps each from
// being rendered or deployed. only names one app, or is "" for all. What quotes an app's own output is
// shown to its team and admins only (the implementation decides, as for the API).
type Apps interface {
	Apps(ctx context.Context, p auth.Principal, only string) ([]App, error)
}

// App is an app as the portal shows it.
type App struct {
	Name    string
	Repo    string
	Owner   string
	Commit  string
	Refused string // why the repository was refused its app name (it has no environments)
	Invalid string // why its score.yaml on main does not parse: it is not rendered until fixed
	// Environments are where it is rendered and deployed.
	Environments []AppEnvironment
}

// AppEnvironment is an app in one environment.
type AppEnvironment struct {
	Name       string
	Repository string // where its images are pushed
	Tag        string
	Digest     string
	URLs       []string
	Status     string // not-deployed, blocked, pinned, running, progressing, rolled-out, failed
	Message    string
	// Problems are what keeps it from being rendered or deployed here, in the words of goldenpath apps show.
	Problems []string
	// Blocked says why an image pushed now would not be deployed here, or "".
	Blocked string
	Last    *store.Deployment
}

// Problem sums up what is wrong with the app, for the list: the first problem of its environments, or "".
func (a App) Problem() string {
	for _, s := range []string{a.Invalid, a.Refused} {
		if s != "" {
			return s
		}
	}
	for _, e := range a.Environments {
		if len(e.Problems) > 0 {
			return e.Name + ": " + e.Problems[0]
		}
		if e.Last != nil && e.Last.Status == "failed" {
			return e.Name + ": the last deployment failed: " + e.Last.Message
		}
	}
	return ""
}

// BlockedOnly is Blocked when it is not already among the Problems.
func (e AppEnvironment) BlockedOnly() string {
	if slices.Contains(e.Problems, e.Blocked) {
		return ""
	}
	return e.Blocked
}

func (s *Server) appList(w http.ResponseWriter, r *http.Request, v *visitor) error {
	if s.o.Apps == nil {
		return problem.New(problem.NotFound, "the apps pages are not available on this server")
	}
	apps, err := s.o.Apps.Apps(r.Context(), v.p, "")
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "apps", v, "Apps", map[string]any{"Apps": apps})
	return nil
}

func (s *Server) appPage(w http.ResponseWriter, r *http.Request, v *visitor) error {
	if s.o.Apps == nil {
		return problem.New(problem.NotFound, "the apps pages are not available on this server")
	}
	name := r.PathValue("name")
	apps, err := s.o.Apps.Apps(r.Context(), v.p, name)
	if err != nil {
		return err
	}
	// The app rendered under that name, else the repository whose score.yaml claiming it is invalid, else
	// one refused it.
	rank := func(a App) int {
		switch {
		case a.Refused == "" && a.Invalid == "":
			return 0
		case a.Invalid != "":
			return 1
		}
		return 2
	}
	slices.SortStableFunc(apps, func(a, b App) int { return rank(a) - rank(b) })
	if len(apps) == 0 {
		return problem.New(problem.NotFound, "there is no app %q: apps are repositories with a score.yaml on main", name)
	}
	s.render(w, r, http.StatusOK, "app", v, apps[0].Name+" — App", map[string]any{"A": apps[0], "Others": apps[1:]})
	return nil
}
