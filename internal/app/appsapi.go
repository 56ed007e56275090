package app

import (
	"context"
	"errors"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/localrun"
	"github.com/goldenpathidp/goldenpath/internal/problem"
	"github.com/goldenpathidp/goldenpath/internal/rest"
)

// appsAPI serves the delivery's REST endpoints: the apps, where they run, and their deployments.
type appsAPI struct{ a *App }

var _ rest.Apps = appsAPI{}

// AppView is an app as the API shows it.
type AppView struct {
	Name         string            `json:"name"`
	Repo         string            `json:"repo"`
	Commit       string            `json:"commit"`
	Environments []AppEnvironment  `json:"environments"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}

// AppEnvironment is an app in one environment: what git pins, where it answers, and what runs.
type AppEnvironment struct {
	Name       string   `json:"name"`
	Repository string   `json:"repository"` // where to push its images
	Tag        string   `json:"tag,omitempty"`
	Digest     string   `json:"digest,omitempty"`
	URLs       []string `json:"urls,omitempty"`
	Deployment string   `json:"deployment"` // direct | change-request
	// Local is the local runtime's process (delivery.mode local).
	Local *LocalState `json:"local,omitempty"`
	// Rollout is the Kubernetes Deployment's progress (delivery.mode apply).
	Rollout *Rollout `json:"rollout,omitempty"`
	// Status sums it up: not-deployed, running, failed, rolled-out, progressing, pinned.
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
	// Last is the newest deployment goldenpath made to this environment since it started.
	Last *Deployment `json:"last,omitempty"`
}

// LocalState is a locally run app's process.
type LocalState struct {
	Image     string    `json:"image"`
	Digest    string    `json:"digest,omitempty"`
	PID       int       `json:"pid,omitempty"`
	Upstream  string    `json:"upstream,omitempty"`
	Since     time.Time `json:"since,omitzero"`
	Restarts  int       `json:"restarts"`
	LastError string    `json:"lastError,omitempty"`
}

// List returns every app with its environments.
func (s appsAPI) List(ctx context.Context) (any, error) {
	return s.views(ctx, "")
}

// Get returns one app.
func (s appsAPI) Get(ctx context.Context, name string) (any, error) {
	views, err := s.views(ctx, name)
	if err != nil {
		return nil, err
	}
	if len(views) == 0 {
		return nil, problem.New(problem.NotFound, "no app %q: apps are repositories with a score.yaml on main (goldenpath apps lists them)", name)
	}
	return views[0], nil
}

// Deployments returns recent deployments, newest first; app "" means all.
func (s appsAPI) Deployments(ctx context.Context, app string) (any, error) {
	out, err := s.a.Deployments(ctx, app)
	if out == nil {
		out = []Deployment{}
	}
	return out, err
}

// Logs returns the tail of a locally run app's output.
func (s appsAPI) Logs(ctx context.Context, name, env string) ([]byte, error) {
	if s.a.delivery.local == nil {
		return nil, problem.New(problem.Precondition, "the local runtime is off")
	}
	if env == "" {
		env = "dev"
	}
	out, err := s.a.delivery.local.Logs(localrun.Key{Environment: env, Name: name})
	if errors.Is(err, localrun.ErrNotDeployed) {
		return nil, problem.New(problem.NotFound, "app %q never ran locally in %s (logs exist with delivery.mode local once an image was deployed)", name, env)
	}
	return out, err
}

func (s appsAPI) views(ctx context.Context, only string) ([]AppView, error) {
	cfg, err := s.a.Requests.Config(ctx)
	if err != nil {
		return nil, err
	}
	apps, _, err := s.a.apps(ctx, cfg)
	if err != nil {
		return nil, err
	}
	urls := map[string][]string{} // "<app>/<env>" → URLs
	if st, _, _, err := s.a.computeEdge(ctx); err == nil {
		for _, r := range st.Routes {
			if r.App {
				u := "https://" + r.Host
				if r.Path != "/" {
					u += r.Path
				}
				urls[r.AppName+"/"+r.Environment] = append(urls[r.AppName+"/"+r.Environment], u)
			}
		}
	}
	deployments, err := s.a.Deployments(ctx, only)
	if err != nil {
		return nil, err
	}
	last := map[string]*Deployment{}
	for _, d := range deployments {
		if _, ok := last[d.App+"/"+d.Environment]; !ok {
			last[d.App+"/"+d.Environment] = &d
		}
	}
	out := []AppView{}
	for _, ai := range apps {
		if only != "" && ai.Name() != only {
			continue
		}
		v := AppView{Name: ai.Name(), Repo: ai.Repo, Commit: ai.Commit, Annotations: ai.Workload.Metadata.Annotations, Environments: []AppEnvironment{}}
		for _, env := range ai.Environments {
			e := AppEnvironment{Name: env, Repository: s.a.appImage(env, ai.Name()), URLs: urls[ai.Name()+"/"+env], Deployment: "direct"}
			if envCfg, ok := cfg.Environment(env); ok && envCfg.Deployments != "" {
				e.Deployment = envCfg.Deployments
			}
			e.Tag, e.Digest = s.a.pinned(ctx, env, ai.Name())
			e.Last = last[ai.Name()+"/"+env]
			e.Status, e.Message = "pinned", "pinned in git"
			if e.Tag == "" && e.Digest == "" {
				e.Status, e.Message = "not-deployed", "no image pushed yet: goldenpath build --push, or push to "+e.Repository
			}
			switch cfg.Delivery.Mode {
			case "local":
				s.localStatus(&e, ai.Name())
			case "apply":
				if e.Status != "not-deployed" {
					if r, err := s.a.rollout(ctx, ai.Name()); err != nil {
						e.Status, e.Message = "unknown", "reading the Deployment: "+err.Error()
					} else {
						e.Rollout = &r
						e.Status, e.Message = "progressing", r.Message
						if r.Healthy {
							e.Status = "rolled-out"
						}
					}
				}
			}
			v.Environments = append(v.Environments, e)
		}
		out = append(out, v)
	}
	return out, nil
}

func (s appsAPI) localStatus(e *AppEnvironment, app string) {
	if s.a.delivery.local == nil {
		return
	}
	st, ok := s.a.delivery.local.Status(localrun.Key{Environment: e.Name, Name: app})
	if !ok {
		return
	}
	e.Local = &LocalState{Image: st.Image, Digest: st.Digest, PID: st.PID, Upstream: st.Upstream, Since: st.Since,
		Restarts: st.Restarts, LastError: st.LastError}
	switch {
	case st.PID != 0:
		e.Status, e.Message = "running", "running locally"
		if st.LastError != "" {
			e.Message = "running the previous release; the newest failed: " + st.LastError
		}
	case st.LastError != "":
		e.Status, e.Message = "failed", st.LastError
	}
}
