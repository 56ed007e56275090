package app

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/auth"
	"github.com/goldenpathidp/goldenpath/internal/change"
	"github.com/goldenpathidp/goldenpath/internal/edge"
	"github.com/goldenpathidp/goldenpath/internal/forge"
	"github.com/goldenpathidp/goldenpath/internal/images"
	"github.com/goldenpathidp/goldenpath/internal/localrun"
	"github.com/goldenpathidp/goldenpath/internal/platform"
	"github.com/goldenpathidp/goldenpath/internal/registry"
	"github.com/goldenpathidp/goldenpath/internal/sandbox"
	"github.com/goldenpathidp/goldenpath/internal/score"
	"github.com/goldenpathidp/goldenpath/internal/secrets"
	"github.com/goldenpathidp/goldenpath/internal/store"
	"github.com/google/go-containerregistry/pkg/authn"
)

// botUser is goldenpath's own identity: it pulls images to run them and watches the registry.
const botUser = auth.BotUser

// deliveryRuntime holds the delivery's moving parts.
type deliveryRuntime struct {
	watcher *images.Watcher
	local   *localrun.Supervisor
	kube    *kubeApplier // apply mode; nil until configured

	mu      sync.Mutex
	watched map[string]images.Policy // "<app>/<env>" → the policy it is watched with
	applied map[string]string        // "<app>/<env>" → the pin last deployed (local and apply modes)
	repos   map[string]string        // "<app>/<env>" → the repository of the app watched there
}

// Deployment is one image reaching an app's environment. The history is kept in the store, so it
// outlives restarts.
type Deployment = store.Deployment

// maxListedDeployments bounds what the API and the CLI list.
const maxListedDeployments = 200

// botToken returns the bot's API token, creating the bot on first use; the token is kept in the vault.
func (a *App) botToken(ctx context.Context) (string, error) {
	if v, _, err := a.Vault.Get(ctx, "system/bot-token"); err == nil {
		return v.Reveal(), nil
	}
	if _, err := a.Store.GetUser(ctx, botUser); errors.Is(err, store.ErrNotFound) {
		if _, err := a.Auth.AddUser(ctx, store.User{Name: botUser, DisplayName: "goldenpath", Roles: []string{store.RoleAdmin}, Teams: []string{"platform"}}); err != nil {
			return "", err
		}
	}
	tok, _, err := a.Auth.IssueToken(ctx, botUser, "goldenpath's own pulls and watches", 0)
	if err != nil {
		return "", err
	}
	return tok, a.Vault.Put(ctx, "system/bot-token", secrets.Value(tok), "goldenpath")
}

// openDelivery creates the image watcher and the local runtime.
func (a *App) openDelivery(ctx context.Context) error {
	tok, err := a.botToken(ctx)
	if err != nil {
		return fmt.Errorf("creating goldenpath's bot: %w", err)
	}
	host := strings.TrimPrefix(a.url, "http://")
	lister, err := images.NewRegistry(images.RegistryOptions{Keychain: images.BasicKeychain(host, botUser, tok), Logger: a.log})
	if err != nil {
		return err
	}
	a.delivery.watcher, err = images.NewWatcher(images.Options{Source: lister, OnUpdate: a.onImage, Logger: a.log,
		WebhookSecret: images.Secret(a.cfg.Getenv("GOLDENPATH_WEBHOOK_SECRET")), AnonymousWebhooks: loopbackURL(a.url)})
	if err != nil {
		return err
	}
	a.delivery.local, err = localrun.New(localrun.Options{Dir: filepath.Join(a.cfg.DataDir, "apps"),
		// Apps run confined, outside the data directory (under the temporary directory unless
		// GOLDENPATH_APPS_DIR says where), and never reach it.
		RunDir: a.cfg.Getenv("GOLDENPATH_APPS_DIR"), Sandbox: sandbox.Options{Private: []string{a.cfg.DataDir}},
		Auth: &authn.Basic{Username: botUser, Password: tok}, Logger: a.log,
		OnReady: func(app localrun.App, upstream string) {
			if u, err := url.Parse(upstream); err == nil {
				a.SetAppUpstream(app.Name, app.Environment, u)
			}
		},
	})
	if err != nil {
		return err
	}
	a.closers = append(a.closers, a.delivery.local.Close)
	a.delivery.watched = map[string]images.Policy{}
	a.delivery.applied = map[string]string{}
	a.renderApps = a.renderAppTree
	return nil
}

// onRegistryPush feeds the embedded registry's pushes to the watcher.
func (a *App) onRegistryPush(ctx context.Context, ev registry.PushEvent) {
	if a.delivery.watcher != nil && ev.Tag != "" {
		a.delivery.watcher.Notify(ctx, images.Event{Registry: strings.TrimPrefix(a.url, "http://"), Repository: ev.Repository, Tag: ev.Tag, Digest: ev.Digest})
	}
}

// syncDelivery follows each app environment's image repository and, in the local and apply modes, deploys
// a pin main holds that this process has not deployed yet (at start, or after a merged proposal).
func (a *App) syncDelivery(ctx context.Context, cfg *platform.Config, apps []appInfo) {
	seen := map[string]images.Policy{}
	repos := map[string]string{}
	for _, ai := range apps {
		for _, env := range ai.Environments {
			key := ai.Name() + "/" + env
			if !ai.Workload.UsesOwnImage() {
				continue // its containers name their images: nothing to watch or pin (not watched, so unwatched below)
			}
			if problem, err := a.imageProblem(ctx, ai, env); err != nil || problem != "" {
				// Not watched (so unwatched and stopped below): another team owns the image repository.
				a.log.Debug("not deploying an app's images", "app", key, "repo", ai.Repo, "reason", problem, "err", err)
				continue
			}
			policy := imagePolicy(ai.Workload)
			seen[key], repos[key] = policy, ai.Repo
			a.retire(ctx, key, ai.Repo)
			a.delivery.mu.Lock()
			a.delivery.watched[key] = policy // before Watch: onImage may run at once
			a.delivery.mu.Unlock()
			tag, digest := a.pinned(ctx, env, ai.Name())
			current := cmp.Or(digest, tag)
			if err := a.delivery.watcher.Watch(images.Subscription{Key: key, Repository: a.appImage(env, ai.Name()),
				Policy: policy, Current: current}); err != nil {
				a.log.Warn("watching an app's images", "app", key, "err", err)
			}
			if cfg.Delivery.Mode != "argocd" && current != "" && a.deployedPin(key) != current {
				// A pin this process has not deployed: at start, or merged through a change request.
				err := a.deploy(ctx, cfg, ai.Name(), env, tag, digest)
				a.setDeployedPin(key, current)
				if err != nil {
					a.log.Warn("deploying what main pins", "app", ai.Name(), "env", env, "pin", current, "err", err)
				}
				a.markDeployed(ctx, ai.Name(), env, current, err)
			}
		}
	}
	a.delivery.mu.Lock()
	var gone []string
	for key := range a.delivery.watched {
		if _, ok := seen[key]; !ok {
			a.delivery.watcher.Unwatch(key)
			gone = append(gone, key)
		}
	}
	a.delivery.watched = seen
	a.delivery.mu.Unlock()
	for _, key := range gone {
		a.retire(ctx, key, "")
	}
	a.delivery.mu.Lock()
	a.delivery.repos = repos
	a.delivery.mu.Unlock()
}

// retire stops what runs locally for an app environment when it is no longer repo's app there: the app
// went away, lost its name to another repository, or may not deploy its images any more. Nothing of one
// repository's app keeps serving, or is deployed again, under another repository's app.
func (a *App) retire(ctx context.Context, key, repo string) {
	a.delivery.mu.Lock()
	was, known := a.delivery.repos[key]
	if !known || was == repo {
		a.delivery.mu.Unlock()
		return
	}
	delete(a.delivery.repos, key)
	delete(a.delivery.applied, key)
	a.delivery.mu.Unlock()
	app, env, _ := strings.Cut(key, "/")
	a.SetAppUpstream(app, env, nil)
	if a.delivery.local != nil {
		if err := a.delivery.local.Undeploy(ctx, localrun.Key{Environment: env, Name: app}); err != nil {
			a.log.Warn("stopping an app that is no longer its repository's", "app", key, "repo", was, "err", err)
		}
	}
	a.log.Info("app environment retired", "app", key, "repo", was)
}

// onImage is the watcher's callback: a new image was selected for an app environment.
func (a *App) onImage(ctx context.Context, sub images.Subscription, c images.Candidate) error {
	app, env, _ := strings.Cut(sub.Key, "/")
	d := Deployment{App: app, Environment: env, Image: sub.Repository + ":" + c.Tag, Pushed: time.Now().UTC()}
	switch prevTag, prevDigest := a.pinned(ctx, env, app); {
	case prevDigest != "":
		d.Previous = sub.Repository + "@" + prevDigest
	case prevTag != "":
		d.Previous = sub.Repository + ":" + prevTag
	}
	cfg, err := a.Requests.Config(ctx)
	if err != nil {
		return err
	}
	if refused, err := a.refuseImage(ctx, cfg, app, env, d); refused || err != nil {
		return err
	}
	useDigest := a.watchedPolicy(sub.Key).Strategy.Canonical() == images.StrategyDigest
	tag, digest := c.Tag, ""
	if useDigest {
		tag, digest = "", c.Digest
		d.Image = sub.Repository + "@" + c.Digest
	}
	envCfg, _ := cfg.Environment(env)
	if envCfg.Deployments == "change-request" {
		n, err := a.proposeImage(ctx, app, env, tag, digest, d.Image, d.Previous)
		if err != nil {
			a.recordRenderFailure(ctx, d, err)
			return err
		}
		a.supersedeProposals(ctx, app, env, n)
		d.Change, d.Status, d.Message = n, "proposed", fmt.Sprintf("change request #%d must be approved and merged", n)
		a.recordDeployment(ctx, d)
		return nil
	}
	// Claimed before the commit, so the sync that may run once the commit lands does not deploy it too.
	prevPin := a.deployedPin(sub.Key)
	a.setDeployedPin(sub.Key, cmp.Or(digest, tag))
	sha, changed, err := a.writeBack(ctx, app, env, tag, digest, d.Image, d.Previous)
	if err != nil {
		a.setDeployedPin(sub.Key, prevPin)
		a.recordRenderFailure(ctx, d, err)
		return err // the watcher reports the image again at the next push or poll
	}
	d.Commit, d.Committed = sha, time.Now().UTC()
	if !changed {
		d.Status, d.Message = "unchanged", "already pinned"
	} else {
		a.notifyArgoCD(ctx, cfg, sha, []string{score.OverlayDir(env, app) + "/kustomization.yaml"})
	}
	if err := a.deploy(ctx, cfg, app, env, tag, digest); err != nil {
		// The commit stands (git says what should run); the local runtime keeps the previous release
		// serving, and the next image (or a restart) deploys again.
		d.Status, d.Message = "failed", err.Error()
		a.recordDeployment(ctx, d)
		return nil
	}
	if d.Status == "" {
		d.Status = "deployed"
		if cfg.Delivery.Mode == "argocd" {
			d.Status, d.Message = "committed", "Argo CD syncs the commit"
		}
	}
	d.Deployed = time.Now().UTC()
	a.recordDeployment(ctx, d)
	return nil
}

// recordRenderFailure records a deployment that failed because the app cannot be rendered (a resource not
// Ready, a file missing, a service it may not use), so that the developer sees why (goldenpath deployments,
// apps show, build) rather than a server log line. Other errors are transient and only retried. The same
// failure of the same image is recorded once, however often the watcher retries it.
func (a *App) recordRenderFailure(ctx context.Context, d Deployment, err error) {
	var re *renderError
	if !errors.As(err, &re) {
		return
	}
	d.Status, d.Message = "failed", re.Error()
	recent, lerr := a.Store.ListDeployments(ctx, store.DeploymentFilter{App: d.App, Environment: d.Environment, Limit: 1})
	if lerr == nil && len(recent) == 1 && recent[0].Image == d.Image && recent[0].Status == d.Status && recent[0].Message == d.Message {
		return
	}
	a.recordDeployment(ctx, d)
}

// refuseImage records a deployment refused because the app may not deploy from its image repository
// (another team owns it since the app was watched), so nothing is committed.
func (a *App) refuseImage(ctx context.Context, cfg *platform.Config, app, env string, d Deployment) (bool, error) {
	ai, err := a.findApp(ctx, cfg, app)
	if err != nil {
		return false, err
	}
	problem, err := a.imageProblem(ctx, ai, env)
	if err != nil || problem == "" {
		return false, err
	}
	a.log.Warn("image refused", "app", app, "env", env, "image", d.Image, "reason", problem)
	d.Status, d.Message = "refused", problem
	a.recordDeployment(ctx, d)
	return true, nil
}

// watchedPolicy is the image policy an app environment is watched with.
func (a *App) watchedPolicy(key string) images.Policy {
	a.delivery.mu.Lock()
	defer a.delivery.mu.Unlock()
	return a.delivery.watched[key]
}

func (a *App) deployedPin(key string) string {
	a.delivery.mu.Lock()
	defer a.delivery.mu.Unlock()
	return a.delivery.applied[key]
}

func (a *App) setDeployedPin(key, pin string) {
	a.delivery.mu.Lock()
	defer a.delivery.mu.Unlock()
	a.delivery.applied[key] = pin
}

// markDeployed settles the newest proposed or merged deployment of pin to an app environment once the
// deploy after its merge is done.
func (a *App) markDeployed(ctx context.Context, app, env, pin string, err error) {
	recent, lerr := a.Store.ListDeployments(ctx, store.DeploymentFilter{App: app, Environment: env, Limit: 50})
	if lerr != nil {
		a.log.Warn("reading the deployment history", "err", lerr)
		return
	}
	for _, d := range recent {
		if !strings.HasSuffix(d.Image, ":"+pin) && !strings.HasSuffix(d.Image, "@"+pin) {
			continue
		}
		if d.Status == "proposed" || d.Status == "merged" {
			a.updateDeployment(ctx, d.ID, func(d *Deployment) {
				d.Deployed, d.Status, d.Message = time.Now().UTC(), "deployed", fmt.Sprintf("change request #%d merged", d.Change)
				if err != nil {
					d.Status, d.Message = "failed", err.Error()
				}
			})
		}
		return
	}
}

// updateDeployment changes one deployment of the history; a failure is logged, as the history only
// reports what happened.
func (a *App) updateDeployment(ctx context.Context, id int64, fn func(d *Deployment)) {
	if _, err := a.Store.UpdateDeployment(ctx, id, func(d *Deployment) error { fn(d); return nil }); err != nil {
		a.log.Warn("updating the deployment history", "deployment", id, "err", err)
	}
}

// onPlatformMerged follows a merged change request: a merged image proposal is committed (its deploy
// follows with the sync the merge triggers), and Argo CD hears of the new commit.
func (a *App) onPlatformMerged(ctx context.Context, c store.Change) {
	proposed, err := a.Store.ListDeployments(ctx, store.DeploymentFilter{Change: c.Number, Status: "proposed"})
	if err != nil {
		a.log.Warn("reading the deployment history", "err", err)
	}
	for _, d := range proposed {
		a.updateDeployment(ctx, d.ID, func(d *Deployment) {
			d.Status, d.Commit, d.Committed, d.Message = "merged", c.MergedSHA, time.Now().UTC(), fmt.Sprintf("change request #%d merged by %s", c.Number, c.ClosedBy)
		})
	}
	if cfg, err := a.Requests.Config(ctx); err == nil {
		a.notifyArgoCD(ctx, cfg, c.MergedSHA, nil)
	}
}

// proposalTitle is the title of the change request proposing image for an app environment; its suffix
// identifies the app environment's proposals.
func proposalTitle(image, app, env string) string {
	return fmt.Sprintf("Deploy %s to %s in %s", image, app, env)
}

// supersedeProposals closes the open image proposals for an app environment other than change n, so only
// the newest image waits for review. They are found among goldenpath-bot's open change requests, so
// proposals made before a restart are closed too.
func (a *App) supersedeProposals(ctx context.Context, app, env string, n int64) {
	open, err := a.Changes.List(ctx, store.ChangeFilter{State: store.ChangeOpen, Author: botUser})
	if err != nil {
		a.log.Warn("listing image proposals to supersede", "err", err)
		return
	}
	bot, err := a.principal(ctx, botUser)
	if err != nil {
		return
	}
	suffix := proposalTitle("", app, env)[len("Deploy "):] // " to <app> in <env>"
	for _, c := range open {
		if c.Number == n || !strings.HasPrefix(c.Title, "Deploy ") || !strings.HasSuffix(c.Title, suffix) {
			continue
		}
		if _, err := a.Changes.Close(ctx, bot, c.Number, fmt.Sprintf("superseded by #%d, a newer image", n)); err != nil {
			a.log.Warn("closing a superseded image proposal", "change", c.Number, "err", err)
			continue
		}
		stale, err := a.Store.ListDeployments(ctx, store.DeploymentFilter{Change: c.Number})
		if err != nil {
			a.log.Warn("reading the deployment history", "err", err)
		}
		for _, d := range stale {
			a.updateDeployment(ctx, d.ID, func(d *Deployment) {
				d.Status, d.Message = "superseded", fmt.Sprintf("superseded by change request #%d", n)
			})
		}
	}
}

func (a *App) recordDeployment(ctx context.Context, d Deployment) {
	if err := a.Store.AddDeployment(ctx, &d); err != nil {
		a.log.Warn("recording a deployment", "app", d.App, "env", d.Environment, "err", err)
	}
	a.log.Info("deployment", "app", d.App, "env", d.Environment, "image", d.Image, "status", d.Status, "commit", d.Commit)
}

// pinChanges are the changes that pin an app environment to tag or digest on main: an edit of its
// kustomization, or — for an app's first image — its whole rendered overlay.
func (a *App) pinChanges(ctx context.Context, main, app, env, tag, digest string) ([]forge.Change, error) {
	p := score.OverlayDir(env, app) + "/kustomization.yaml"
	raw, err := a.Platform.ReadFile(ctx, main, p)
	if errors.Is(err, forge.ErrNotFound) {
		return a.firstRender(ctx, app, env, tag, digest)
	}
	if err != nil {
		return nil, err
	}
	edited, changed, err := score.SetImage(raw, app, tag, digest)
	if err != nil || !changed {
		return nil, err
	}
	return []forge.Change{{Path: p, Content: edited}}, nil
}

// firstRender renders an app environment's overlay with its first image.
func (a *App) firstRender(ctx context.Context, app, env, tag, digest string) ([]forge.Change, error) {
	st, apps, table, err := a.computeEdge(ctx)
	if err != nil {
		return nil, err
	}
	edgeFiles, err := edge.Render(st.cfg, table)
	if err != nil {
		return nil, err
	}
	for _, ai := range apps {
		if ai.Name() != app {
			continue
		}
		files, err := a.renderApp(ctx, st.cfg, ai, apps, env, tag, digest, edgeFiles)
		if err != nil {
			return nil, err
		}
		// The edge's files in the overlay (the app's Ingress, sign-in) go in the same commit: the overlay's
		// kustomization lists them, and the edge's own commit of them may not have landed yet.
		dir := edge.AppDir(env, app)
		for p, b := range edgeFiles {
			if path.Dir(p) == dir && path.Base(p) != score.KustomizationFile {
				files[p] = b
			}
		}
		var out []forge.Change
		for p, b := range files {
			out = append(out, forge.Change{Path: p, Content: withHeader(p, b)})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
		return out, nil
	}
	return nil, fmt.Errorf("app %s is not in the forge", app)
}

// writeBack commits the new image pin to main, computing it again when main moves.
func (a *App) writeBack(ctx context.Context, app, env, tag, digest, image, previous string) (string, bool, error) {
	if previous == "" {
		previous = "nothing"
	}
	return a.commitMain(ctx, "writing back "+image, func(main string) ([]forge.Change, string, error) {
		changes, err := a.pinChanges(ctx, main, app, env, tag, digest)
		return changes, fmt.Sprintf("goldenpath: deploy %s to %s in %s\n\nImage: %s\nPrevious: %s", image, app, env, image, previous), err
	})
}

// proposeImage opens a change request pinning the image, for environments deployed through review.
func (a *App) proposeImage(ctx context.Context, app, env, tag, digest, image, previous string) (int64, error) {
	main, err := a.Platform.ResolveRef(ctx, "main")
	if err != nil {
		return 0, err
	}
	changes, err := a.pinChanges(ctx, main, app, env, tag, digest)
	if err != nil || len(changes) == 0 {
		return 0, err
	}
	bot, err := a.principal(ctx, botUser)
	if err != nil {
		return 0, err
	}
	c, err := a.Changes.Open(ctx, bot, change.OpenInput{Title: proposalTitle(image, app, env),
		Body: fmt.Sprintf("Previous: %s. Merging deploys it.", previous), Changes: changes})
	return c.Number, err
}

// deploy makes the environment run what main pins, in the configured mode.
// An app runs only images from an image repository its owner owns.
func (a *App) deploy(ctx context.Context, cfg *platform.Config, app, env, tag, digest string) error {
	if cfg.Delivery.Mode != "local" && cfg.Delivery.Mode != "apply" {
		return nil // argocd: Argo CD syncs the commit
	}
	ai, err := a.findApp(ctx, cfg, app)
	if err != nil {
		return err
	}
	if problem, err := a.imageProblem(ctx, ai, env); err != nil || problem != "" {
		return cmp.Or(err, errors.New(problem))
	}
	if cfg.Delivery.Mode == "apply" {
		return a.applyToKubernetes(ctx, app, env)
	}
	return a.runLocally(ctx, cfg, ai, env, tag, digest)
}

// runLocally runs an app environment's pinned image as a local process with the environment its Score
// workload and resource outputs give it.
func (a *App) runLocally(ctx context.Context, cfg *platform.Config, ai appInfo, env, tag, digest string) error {
	ref := a.appImage(env, ai.Name()) + ":" + tag
	if digest != "" {
		ref = a.appImage(env, ai.Name()) + "@" + digest
	}
	vars, secretKeys, health, err := a.localEnvironment(ctx, cfg, ai, env)
	if err != nil {
		return err
	}
	return a.delivery.local.Deploy(ctx, localrun.App{Name: ai.Name(), Environment: env, Image: ref, Env: vars, Secrets: secretKeys, Health: health})
}

// localEnvironment is what the local runtime gives an app's process: its first container's variables with
// their placeholders resolved as Render resolves them ("$${x}" is the text "${x}"), which of them hold a
// secret, and the readiness probe's path.
func (a *App) localEnvironment(ctx context.Context, cfg *platform.Config, ai appInfo, env string) (map[string]string, []string, string, error) {
	res := a.resourceOutputs(ctx, ai, env, true)
	peers, _, err := a.apps(ctx, cfg)
	if err != nil {
		return nil, nil, "", err
	}
	links := localLinks{a: a, ai: ai, peers: peers, env: env, res: res}
	vars := map[string]string{}
	var secretKeys []string
	health := ""
	for _, name := range slices.Sorted(maps.Keys(ai.Workload.Containers)) {
		c := ai.Workload.Containers[name]
		for _, k := range slices.Sorted(maps.Keys(c.Variables)) {
			links.secret = false
			v, err := ai.Workload.Expand(c.Variables[k], func(r, out string) (string, error) { return links.output(ctx, r, out) })
			if err != nil {
				return nil, nil, "", fmt.Errorf("variable %s of container %s: %w", k, name, err)
			}
			vars[k] = v
			if links.secret {
				secretKeys = append(secretKeys, k)
			}
		}
		if p := c.ReadinessProbe; p != nil && p.HTTPGet != nil {
			health = p.HTTPGet.Path
		}
		break // the local runtime runs the workload's first container
	}
	return vars, secretKeys, health, nil
}

// localLinks resolves resource outputs for the local runtime.
type localLinks struct {
	a      *App
	ai     appInfo
	peers  []appInfo
	env    string
	res    appResources
	secret bool // set when an output resolved was secret
}

func (l *localLinks) output(ctx context.Context, name, out string) (string, error) {
	r := l.ai.Workload.Resources[name]
	if _, refused := l.res.refused[name]; refused {
		return "", nil // another team's request: nothing of it reaches the app
	}
	switch r.Type {
	case score.TypeService, score.TypeServicePort:
		return l.service(name, r, out)
	case score.TypeEnvironment:
		vals, files, err := l.a.environmentValues(ctx, l.ai, l.env)
		if err != nil {
			return "", err
		}
		v, ok := vals[out]
		if !ok {
			return "", fmt.Errorf("%s is not set: set it in %s of %s", out, strings.Join(files, " or "), l.ai.Repo)
		}
		return v, nil
	}
	key, secret, ok := score.OutputKey(r.Type, out)
	if !ok {
		return "", fmt.Errorf("a %s resource has no output %s in the local runtime", r.Type, out)
	}
	values := l.res.public[name]
	if secret {
		values, l.secret = l.res.secret[name], true
	}
	v, ok := values[key]
	if !ok {
		if why := l.res.unavailable[name]; why != "" {
			return "", fmt.Errorf("resource %s has no output %s: %s", name, out, why)
		}
		return "", fmt.Errorf("resource %s has no output %s", name, out)
	}
	return v, nil
}

// service resolves a service resource locally: the app it points at runs as a local process on 127.0.0.1.
func (l *localLinks) service(name string, r score.Resource, out string) (string, error) {
	if _, _, err := serviceOutputs(l.ai, l.peers, l.env, name, r); err != nil {
		return "", fmt.Errorf("resource %s: %w", name, err)
	}
	target := score.ServiceWorkload(name, r)
	if out == "name" || out == "hostname" {
		return "127.0.0.1", nil
	}
	l.a.edge.mu.Lock()
	u := l.a.edge.upstreams[target+"/"+l.env]
	l.a.edge.mu.Unlock()
	if u == nil {
		return "", fmt.Errorf("resource %s: app %s is not running locally in %s yet: deploy it first", name, target, l.env)
	}
	return u.Port(), nil
}

// notifyArgoCD tells Argo CD about a commit to main (a GitHub-style push event), when configured, so it
// refreshes at once instead of at its next poll. Argo CD compares modified with the apps'
// manifest-generate-paths; an empty list (a merge, whose files are not listed) refreshes every app of the
// repository.
func (a *App) notifyArgoCD(ctx context.Context, cfg *platform.Config, sha string, modified []string) {
	hook := cfg.Delivery.ArgoCD.WebhookURL
	if hook == "" || sha == "" {
		return
	}
	body, _ := json.Marshal(map[string]any{"ref": "refs/heads/main", "after": sha,
		"repository": map[string]any{"html_url": a.url + "/git/" + PlatformRepo, "clone_url": a.url + "/git/" + PlatformRepo + ".git", "default_branch": "main"},
		"commits":    []any{map[string]any{"id": sha, "modified": append([]string{}, modified...)}}})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook, bytes.NewReader(body))
	if err != nil {
		a.log.Warn("Argo CD webhook", "err", err)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "push")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.log.Warn("Argo CD webhook", "err", err)
		return
	}
	resp.Body.Close()
}

// Deployments returns the recent deployments (of one app, or all if app is ""), newest first.
func (a *App) Deployments(ctx context.Context, app string) ([]Deployment, error) {
	return a.Store.ListDeployments(ctx, store.DeploymentFilter{App: app, Limit: maxListedDeployments})
}

// pollInterval is platform.yaml's delivery.pollInterval (default 2m).
func (a *App) pollInterval(ctx context.Context) time.Duration {
	if cfg, err := a.Requests.Config(ctx); err == nil {
		if d, err := time.ParseDuration(cfg.Delivery.PollInterval); err == nil && d > 0 {
			return d
		}
	}
	return 2 * time.Minute
}
