package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/auth"
	"github.com/goldenpathidp/goldenpath/internal/localrun"
	"github.com/goldenpathidp/goldenpath/internal/platform"
	"github.com/goldenpathidp/goldenpath/internal/problem"
	"github.com/goldenpathidp/goldenpath/internal/rest"
	"github.com/goldenpathidp/goldenpath/internal/score"
	"github.com/goldenpathidp/goldenpath/internal/store"
)

// appsAPI serves the delivery's REST endpoints: the apps, where they run, and their deployments.
type appsAPI struct{ a *App }

var _ rest.Apps = appsAPI{}

// AppView is an app as the API shows it. The list also shows the repositories refused their app name
// (Refused says why; they have no environments), so a developer sees why their repository is no app.
type AppView struct {
	Name    string `json:"name"`
	Repo    string `json:"repo"`
	Owner   string `json:"owner,omitempty"` // the repository's owner: a team or a user
	Commit  string `json:"commit"`
	Refused string `json:"refused,omitempty"`
	// Invalid says why the repository's score.yaml on main does not parse: the app is not rendered or
	// deployed again until it is fixed (what was rendered for it stays).
	Invalid      string            `json:"invalid,omitempty"`
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
	// Problems are what the app is refused here: another team's request behind one of its resources
	// (nothing of it is given to the app), another team's image repository (its images are not deployed).
	Problems []string `json:"problems,omitempty"`
	// Blocked says why an image pushed now would not be deployed here (the app cannot be rendered, its
	// image repository is another team's, it builds no image), or "": goldenpath build stops on it.
	Blocked string `json:"blocked,omitempty"`
}

// privateDetail replaces, for users outside the app's team, what may quote the app's own output.
const privateDetail = "details are shown to the app's team and admins"

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

// List returns every app with its environments, and the repositories refused an app name.
func (s appsAPI) List(ctx context.Context, p auth.Principal) (any, error) {
	return s.views(ctx, p, "")
}

// Get returns one app.
func (s appsAPI) Get(ctx context.Context, p auth.Principal, name string) (any, error) {
	if err := checkAppName(name); err != nil {
		return nil, err
	}
	views, err := s.views(ctx, p, name)
	if err != nil {
		return nil, err
	}
	for _, v := range views {
		if v.Refused == "" && v.Invalid == "" {
			return v, nil
		}
	}
	for _, v := range views {
		if v.Invalid != "" {
			return v, nil
		}
	}
	return nil, problem.New(problem.NotFound, "no app %q: apps are repositories with a score.yaml on main (goldenpath apps lists them)", name)
}

// Deployments returns recent deployments, newest first; app "" means all. What a failed deployment quotes
// of the app's output is shown only to the app's team and admins.
func (s appsAPI) Deployments(ctx context.Context, p auth.Principal, app string) (any, error) {
	if app != "" {
		if err := checkAppName(app); err != nil {
			return nil, err
		}
	}
	out, err := s.a.Deployments(ctx, app)
	if err != nil {
		return nil, err
	}
	cfg, err := s.a.Requests.Config(ctx)
	if err != nil {
		return nil, err
	}
	apps, _, err := s.a.apps(ctx, cfg)
	if err != nil {
		return nil, err
	}
	byName := map[string]appInfo{}
	for _, ai := range apps {
		byName[ai.Name()] = ai
	}
	for i, d := range out {
		ai, ok := byName[d.App]
		// A deployment from before the app's repository claimed the name was another repository's.
		mine := p.Is(store.RoleAdmin) || ok && ownsApp(p, ai) && !d.Pushed.Before(ai.ClaimedAt)
		if !mine && d.Status == "failed" {
			out[i].Message = privateDetail
		}
	}
	if out == nil {
		out = []Deployment{}
	}
	return out, nil
}

// Logs returns the tail of a locally run app's output, to the app's team and admins only. name must be an
// app and env an environment platform.yaml defines.
func (s appsAPI) Logs(ctx context.Context, p auth.Principal, name, env string) ([]byte, error) {
	if s.a.delivery.local == nil {
		return nil, problem.New(problem.Precondition, "the local runtime is off")
	}
	cfg, err := s.a.Requests.Config(ctx)
	if err != nil {
		return nil, err
	}
	if env == "" {
		env = "dev"
	}
	if _, ok := cfg.Environment(env); !ok {
		var names []string
		for _, e := range cfg.Environments {
			names = append(names, e.Name)
		}
		return nil, problem.Field("env", "%q is not an environment platform.yaml defines (%s)", env, strings.Join(names, ", "))
	}
	if err := checkAppName(name); err != nil {
		return nil, err
	}
	ai, err := s.a.findApp(ctx, cfg, name)
	if err != nil {
		return nil, problem.New(problem.NotFound, "no app %q: apps are repositories with a score.yaml on main (goldenpath apps lists them)", name)
	}
	if !ownsApp(p, ai) {
		return nil, problem.New(problem.Forbidden, "the logs of app %s are for %s (the owner of %s) and admins; %s is neither",
			name, cmp.Or(ai.Owner, "nobody"), ai.Repo, p.Name)
	}
	out, err := s.a.delivery.local.Logs(localrun.Key{Environment: env, Name: name})
	if errors.Is(err, localrun.ErrNotDeployed) || err == nil && !slices.Contains(ai.Environments, env) {
		return nil, problem.New(problem.NotFound, "app %q never ran locally in %s (logs exist with delivery.mode local once an image was deployed)", name, env)
	}
	if err != nil {
		return nil, err
	}
	return since(out, ai.ClaimedAt), nil
}

// checkAppName refuses what cannot be an app's name (a DNS label): nothing else reaches the runtime's paths.
func checkAppName(name string) error {
	if !appName.MatchString(name) {
		return problem.Field("name", "%q is not an app name: a DNS label of lowercase letters, digits and '-', at most 63 characters", name)
	}
	return nil
}

var appName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// startLine is the line the local runtime writes before each process start ("--- goldenpath: started
// <image> (...) at <RFC 3339 time>").
var startLine = regexp.MustCompile(`(?m)^--- goldenpath: started .* at (\S+)$`)

// since keeps the part of an app's log written since its repository claimed the app's name: what ran
// under the name before was another repository's.
func since(log []byte, claimed time.Time) []byte {
	for _, m := range startLine.FindAllSubmatchIndex(log, -1) {
		t, err := time.Parse(time.RFC3339, string(log[m[2]:m[3]]))
		if err == nil && !t.Before(claimed.Truncate(time.Second)) {
			return log[m[0]:]
		}
	}
	return []byte{}
}

func (s appsAPI) views(ctx context.Context, p auth.Principal, only string) ([]AppView, error) {
	cfg, err := s.a.Requests.Config(ctx)
	if err != nil {
		return nil, err
	}
	scan, err := s.a.scanApps(ctx, cfg)
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
	for _, ai := range scan.apps {
		if only != "" && ai.Name() != only {
			continue
		}
		v := AppView{Name: ai.Name(), Repo: ai.Repo, Owner: ai.Owner, Commit: ai.Commit, Annotations: ai.Workload.Metadata.Annotations, Environments: []AppEnvironment{}}
		for _, env := range ai.Environments {
			e := AppEnvironment{Name: env, Repository: s.a.appImage(env, ai.Name()), URLs: urls[ai.Name()+"/"+env], Deployment: "direct"}
			if envCfg, ok := cfg.Environment(env); ok && envCfg.Deployments != "" {
				e.Deployment = envCfg.Deployments
			}
			e.Tag, e.Digest = s.a.pinned(ctx, env, ai.Name())
			if d := last[ai.Name()+"/"+env]; d != nil && !d.Pushed.Before(ai.ClaimedAt) {
				e.Last = d
			}
			s.pinStatus(ctx, cfg, &e, ai)
			switch cfg.Delivery.Mode {
			case "local":
				s.localStatus(&e, ai.Name())
			case "apply":
				if e.Status != "not-deployed" && e.Status != "failed" && e.Status != "blocked" {
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
			e.Problems = s.a.resourceProblems(ctx, ai, env)
			if err := s.a.renderProblem(ctx, cfg, ai, scan.apps, env); err != nil {
				e.Problems = append(e.Problems, err.Error())
				e.Blocked = err.Error()
				if e.Status == "not-deployed" {
					e.Status, e.Message = "blocked", err.Error()
				}
			}
			switch problem, err := s.a.imageProblem(ctx, ai, env); {
			case err != nil:
				e.Problems = append(e.Problems, err.Error())
			case problem != "":
				e.Problems = append(e.Problems, problem)
				e.Blocked = cmp.Or(e.Blocked, problem)
			}
			if !ai.Workload.UsesOwnImage() {
				e.Blocked = cmp.Or(e.Blocked, fmt.Sprintf("app %s builds no image: its containers name their images (%s), so there is nothing to push",
					ai.Name(), strings.Join(namedImages(ai), ", ")))
			}
			if !ownsApp(p, ai) {
				hidePrivate(&e)
			}
			v.Environments = append(v.Environments, e)
		}
		out = append(out, v)
	}
	for _, r := range scan.refused {
		if only == "" || r.Name == only {
			out = append(out, AppView{Name: r.Name, Repo: r.Repo, Owner: appOwner(r.Repo), Refused: r.Reason, Environments: []AppEnvironment{}})
		}
	}
	for _, inv := range scan.invalid {
		name := cmp.Or(inv.Name, path.Base(inv.Repo))
		if only == "" || name == only {
			out = append(out, AppView{Name: name, Repo: inv.Repo, Owner: appOwner(inv.Repo), Commit: inv.Commit, Environments: []AppEnvironment{},
				Invalid: "score.yaml on main is invalid, so the app is not rendered or deployed until it is fixed (what was rendered stays): " + inv.Err.Error()})
		}
	}
	return out, nil
}

// pinStatus sums up what git pins for an app environment, before the runtime has its say.
func (s appsAPI) pinStatus(ctx context.Context, cfg *platform.Config, e *AppEnvironment, ai appInfo) {
	switch {
	case !ai.Workload.UsesOwnImage():
		e.Status, e.Message = "rendered", "runs the images score.yaml names ("+strings.Join(namedImages(ai), ", ")+")"
		if cfg.Delivery.Mode == "local" {
			e.Message += "; the local runtime runs only the image built from the app's repository (image \".\"): it runs on Kubernetes (delivery.mode apply or argocd)"
		}
	case e.Tag != "" || e.Digest != "":
		e.Status, e.Message = "pinned", "pinned in git"
	case e.Last != nil && e.Last.Status == "failed":
		e.Status, e.Message = "failed", e.Last.Message
	default:
		e.Status, e.Message = "not-deployed", "no image pushed yet: goldenpath build, or push to "+e.Repository
	}
}

// namedImages are the images an app's containers name, sorted.
func namedImages(ai appInfo) []string {
	var out []string
	for _, c := range ai.Workload.Containers {
		if c.Image != score.OwnImage && !slices.Contains(out, c.Image) {
			out = append(out, c.Image)
		}
	}
	slices.Sort(out)
	return out
}

// hidePrivate removes from an app environment's view what may quote the app's own output: the local
// process's last error and a failed deployment's message.
func hidePrivate(e *AppEnvironment) {
	if e.Local != nil && e.Local.LastError != "" {
		local := *e.Local
		local.LastError = privateDetail
		e.Local = &local
		if e.Status == "failed" || e.Status == "running" {
			e.Message = e.Status + " (" + privateDetail + ")"
		}
	}
	if e.Last != nil && e.Last.Status == "failed" {
		last := *e.Last
		last.Message = privateDetail
		e.Last = &last
	}
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
