package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/auth"
	"github.com/goldenpathidp/goldenpath/internal/change"
	"github.com/goldenpathidp/goldenpath/internal/edge"
	"github.com/goldenpathidp/goldenpath/internal/forge"
	"github.com/goldenpathidp/goldenpath/internal/platform"
	"github.com/goldenpathidp/goldenpath/internal/provision/local"
	"github.com/goldenpathidp/goldenpath/internal/score"
	"github.com/goldenpathidp/goldenpath/internal/store"
)

// An app is its repository. Its owner is the repository's owner (payments of payments/orders: a team or
// a user), and its name (score.yaml's metadata.name), which keys its namespace, hosts, image repository,
// overlay, local process and deployment history, is held by the first repository that claimed it.

// appOwner is the owner of an app repository: the team or user before the slash, "" for a repository
// without one (which only admins are taken to own).
func appOwner(repo string) string {
	owner, _, ok := strings.Cut(repo, "/")
	if !ok {
		return ""
	}
	return owner
}

// ownedBy reports whether an app owner (a team or a user) owns something labelled with owner and team:
// a request, or a registry repository.
func ownedBy(appOwner, owner, team string) bool {
	return appOwner != "" && (appOwner == team || appOwner == owner)
}

// ownsApp reports whether p may see an app's private side (logs, process output): the owning team's
// members, the owning user, and admins, as for pushing to its repository.
func ownsApp(p auth.Principal, ai appInfo) bool {
	return p.Owns(ai.Owner, ai.Owner)
}

// refusedApp is a repository with a score.yaml that is not an app: its name is held by another
// repository, or reserved.
type refusedApp struct {
	Repo   string
	Name   string
	Reason string
}

// reservedAppName says why name may not be an app's (it becomes a Kubernetes namespace in the apply and
// argocd modes), or "".
func reservedAppName(cfg *platform.Config, name string) string {
	switch {
	case name == "default" || strings.HasPrefix(name, "kube-"):
		return fmt.Sprintf("app name %q is reserved: it is one of Kubernetes' own namespaces", name)
	case name == edge.ToolingNamespace || name == score.DefaultArgoCDNamespace || name == "cert-manager" || (cfg != nil && name == cfg.Kong.Namespace):
		return fmt.Sprintf("app name %q is reserved: it is the namespace of the platform's own tooling", name)
	}
	return ""
}

// takenReason says why repo may not have the app name c holds.
func takenReason(repo string, c store.AppClaim) string {
	return fmt.Sprintf("app name %q is taken: repository %s claimed it first (%s); rename metadata.name in %s's score.yaml",
		c.Name, c.Repo, c.ClaimedAt.Format(time.RFC3339), repo)
}

// appScan is what the forge holds: the apps, the repositories refused their app name, and the
// score.yaml files that do not parse.
type appScan struct {
	apps     []appInfo
	refused  []refusedApp
	problems []error
	invalid  []invalidApp // repositories whose score.yaml on main does not parse
}

// invalidApp is a repository whose score.yaml on main does not parse: it is still listed (under the name it
// holds, or the one its file gives), with why, and what goldenpath rendered for it stays as it was.
type invalidApp struct {
	Repo, Name, Commit string
	Err                error
}

// scanApps finds every app in the forge and settles who holds each name: a claim stands while its
// repository's score.yaml on main names it (or cannot be read, so a broken push does not free the name);
// a free name goes to the repository that claims it, the first one in repository order when several
// appear at once. Claims are persisted, so who holds a name never depends on the order of a scan.
func (a *App) scanApps(ctx context.Context, cfg *platform.Config) (appScan, error) {
	var s appScan
	found, unreadable, err := a.readApps(ctx, cfg, &s)
	if err != nil {
		return s, err
	}
	holders, err := a.settleClaims(ctx, found, unreadable)
	if err != nil {
		return s, err
	}
	for i, inv := range s.invalid {
		for _, c := range holders {
			if c.Repo == inv.Repo {
				s.invalid[i].Name = c.Name // the name it holds, whatever the broken file says
			}
		}
	}
	for _, ai := range found {
		if reason := reservedAppName(cfg, ai.Name()); reason != "" {
			s.refused = append(s.refused, refusedApp{Repo: ai.Repo, Name: ai.Name(), Reason: reason})
			continue
		}
		c, ok := holders[ai.Name()]
		if !ok {
			if c, err = a.Store.ClaimAppName(ctx, ai.Name(), ai.Repo, time.Now().UTC()); err != nil {
				return s, fmt.Errorf("claiming app name %s for %s: %w", ai.Name(), ai.Repo, err)
			}
			holders[ai.Name()] = c
			if c.Repo == ai.Repo {
				a.log.Info("app name claimed", "app", ai.Name(), "repo", ai.Repo)
			}
		}
		if c.Repo != ai.Repo {
			s.refused = append(s.refused, refusedApp{Repo: ai.Repo, Name: ai.Name(), Reason: takenReason(ai.Repo, c)})
			continue
		}
		ai.ClaimedAt = c.ClaimedAt
		s.apps = append(s.apps, ai)
	}
	sort.Slice(s.apps, func(i, j int) bool { return s.apps[i].Name() < s.apps[j].Name() })
	return s, nil
}

// readApps reads every repository's score.yaml on main, in repository order. unreadable lists the
// repositories whose score.yaml could not be read or parsed: their claims stand.
func (a *App) readApps(ctx context.Context, cfg *platform.Config, s *appScan) ([]appInfo, map[string]bool, error) {
	names, err := a.Forge.Repos()
	if err != nil {
		return nil, nil, err
	}
	sort.Strings(names)
	var found []appInfo
	unreadable := map[string]bool{}
	for _, name := range names {
		if name == PlatformRepo {
			continue
		}
		repo, err := a.Forge.Repo(name)
		if err != nil {
			unreadable[name] = !errors.Is(err, forge.ErrNotFound)
			continue
		}
		commit, err := repo.ResolveRef(ctx, change.MainBranch)
		if err != nil {
			unreadable[name] = !errors.Is(err, forge.ErrNotFound) // an empty repository is no app
			continue
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
			unreadable[name] = true
			s.problems = append(s.problems, err)
			s.invalid = append(s.invalid, invalidApp{Repo: name, Name: score.NameOf(raw), Commit: commit, Err: err})
			continue
		}
		found = append(found, appInfo{Repo: name, Owner: appOwner(name), Commit: commit, Workload: w, Environments: appEnvironments(w, cfg)})
	}
	return found, unreadable, nil
}

// settleClaims releases the claims whose repository no longer names the app (its score.yaml went away,
// names another app, or the repository is gone) and returns the standing ones by name.
func (a *App) settleClaims(ctx context.Context, found []appInfo, unreadable map[string]bool) (map[string]store.AppClaim, error) {
	claims, err := a.Store.ListAppClaims(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the app name claims: %w", err)
	}
	named := map[string]string{} // repository → the name its score.yaml gives
	for _, ai := range found {
		named[ai.Repo] = ai.Name()
	}
	holders := map[string]store.AppClaim{}
	for _, c := range claims {
		if n, ok := named[c.Repo]; (ok && n == c.Name) || unreadable[c.Repo] {
			holders[c.Name] = c
			continue
		}
		if err := a.Store.ReleaseAppName(ctx, c.Name, c.Repo); err != nil {
			return nil, fmt.Errorf("releasing app name %s of %s: %w", c.Name, c.Repo, err)
		}
		a.log.Info("app name released", "app", c.Name, "repo", c.Repo)
	}
	return holders, nil
}

// checkAppPush refuses a push to main of an app repository whose score.yaml takes a reserved name or one
// another repository holds, naming the holder; a name that is free is claimed for the repository there
// and then, so the first push wins. It runs before the push lands (the forge's pre-receive check).
func (a *App) checkAppPush(ctx context.Context, p forge.PendingPush) error {
	if p.Repo == PlatformRepo {
		return nil
	}
	err := a.checkAppNames(ctx, p)
	var refused *pushRefused
	if err != nil && !errors.As(err, &refused) {
		a.log.Error("checking a push's app name", "repo", p.Repo, "subject", p.Subject, "err", err)
		return errors.New("goldenpath could not check score.yaml's app name; try again")
	}
	return err
}

// pushRefused is why a push may not land, for the developer.
type pushRefused struct{ msg string }

func (e *pushRefused) Error() string { return e.msg }

func (a *App) checkAppNames(ctx context.Context, p forge.PendingPush) error {
	for _, u := range p.Updates {
		if u.Ref != "refs/heads/"+change.MainBranch || u.New == forge.ZeroSHA {
			continue
		}
		raw, err := p.ReadFile(ctx, u.New, "score.yaml")
		if errors.Is(err, forge.ErrNotFound) {
			return nil // not an app (any more): its name is released at the next scan
		}
		if err != nil {
			return err
		}
		w, err := score.Parse("score.yaml", raw)
		if err != nil {
			return nil // goldenpath apps reports it; without a name there is nothing to claim
		}
		cfg, err := a.Requests.Config(ctx)
		if err != nil {
			return err
		}
		if reason := reservedAppName(cfg, w.Metadata.Name); reason != "" {
			return &pushRefused{fmt.Sprintf("score.yaml: metadata.name: %s; choose another name", reason)}
		}
		c, err := a.claimForPush(ctx, w.Metadata.Name, p.Repo)
		if err != nil {
			return err
		}
		if c.Repo != p.Repo {
			return &pushRefused{fmt.Sprintf("score.yaml: metadata.name: app name %q is taken: repository %s claimed it first (%s); choose another name",
				c.Name, c.Repo, c.ClaimedAt.Format(time.RFC3339))}
		}
	}
	return nil
}

// claimForPush claims name for repo. A holder whose main no longer names the app (renamed since the last
// scan) gives the name up first.
func (a *App) claimForPush(ctx context.Context, name, repo string) (store.AppClaim, error) {
	c, err := a.Store.ClaimAppName(ctx, name, repo, time.Now().UTC())
	if err != nil || c.Repo == repo || a.stillNames(ctx, c) {
		return c, err
	}
	if err := a.Store.ReleaseAppName(ctx, c.Name, c.Repo); err != nil {
		return c, err
	}
	a.log.Info("app name released", "app", c.Name, "repo", c.Repo)
	return a.Store.ClaimAppName(ctx, name, repo, time.Now().UTC())
}

// stillNames reports whether the holder of a claim still names the app on main (or cannot be read, so
// the claim stands).
func (a *App) stillNames(ctx context.Context, c store.AppClaim) bool {
	repo, err := a.Forge.Repo(c.Repo)
	if errors.Is(err, forge.ErrNotFound) {
		return false
	}
	if err != nil {
		return true
	}
	raw, err := repo.ReadFile(ctx, change.MainBranch, "score.yaml")
	if errors.Is(err, forge.ErrNotFound) {
		return false
	}
	if err != nil {
		return true
	}
	w, err := score.Parse("score.yaml", raw)
	return err != nil || w.Metadata.Name == c.Name
}

// imageProblem says why an app may not deploy the images of its registry repository in env (another team
// owns the repository, so another team chooses what would run with this app's resources), or "". A
// repository that does not exist yet is no problem: nothing is pushed to it until its ECRRequest is Ready.
func (a *App) imageProblem(ctx context.Context, ai appInfo, env string) (string, error) {
	repo := env + "/" + ai.Name()
	info, ok, err := a.Registry.Repository(ctx, repo)
	if err != nil {
		return "", fmt.Errorf("reading image repository %s: %w", repo, err)
	}
	if !ok {
		return "", nil
	}
	owner, team := info.Settings.Labels[local.LabelOwner], info.Settings.Labels[local.LabelTeam]
	if ownedBy(ai.Owner, owner, team) {
		return "", nil
	}
	return fmt.Sprintf("image repository %s belongs to team %s (owner %s), not to %s, which owns %s: its images are not deployed to this app",
		repo, team, owner, cmp.Or(ai.Owner, "nobody"), ai.Repo), nil
}

// findApp returns the app called name.
func (a *App) findApp(ctx context.Context, cfg *platform.Config, name string) (appInfo, error) {
	apps, _, err := a.apps(ctx, cfg)
	if err != nil {
		return appInfo{}, err
	}
	for _, ai := range apps {
		if ai.Name() == name {
			return ai, nil
		}
	}
	return appInfo{}, fmt.Errorf("app %s is not in the forge", name)
}

// buildAppByApp builds the route table when the apps' routes conflict (two apps on one host, a host in
// no environment): the platform's own routes first, then each app's in the order the apps claimed their
// names, leaving out (and reporting) an app whose routes the table refuses. A newer app can neither take
// an older app's host nor knock out everyone's routes.
func buildAppByApp(cfg *platform.Config, apps []appInfo, routes []edge.AppRoute) (*edge.Table, []string, error) {
	table, err := edge.Build(cfg, nil)
	if err != nil {
		return nil, nil, err
	}
	byApp := map[string][]edge.AppRoute{}
	for _, r := range routes {
		byApp[r.App] = append(byApp[r.App], r)
	}
	ordered := slices.Clone(apps)
	sort.SliceStable(ordered, func(i, j int) bool { return ordered[i].ClaimedAt.Before(ordered[j].ClaimedAt) })
	var kept []edge.AppRoute
	var problems []string
	for _, ai := range ordered {
		own := byApp[ai.Name()]
		if len(own) == 0 {
			continue
		}
		t, err := edge.Build(cfg, append(slices.Clone(kept), own...))
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: the routes of app %s are left out: %v", ai.Repo, ai.Name(), err))
			continue
		}
		table, kept = t, append(kept, own...)
	}
	return table, problems, nil
}

// overlayOwner says who owns a file of the platform repository that belongs to an app: its rendered
// overlay (gitops/kustomize/overlays/<env>/apps/<app>/...) and its Argo CD Application
// (gitops/argocd/apps/<env>/<app>.yaml) are the app's owner's, so another team's change to them needs that
// owner's consent. Files of an app no repository holds belong to nobody in particular.
func (a *App) overlayOwner(ctx context.Context, p string) (string, bool, error) {
	name, ok := overlayApp(p)
	if !ok {
		return "", false, nil
	}
	claims, err := a.Store.ListAppClaims(ctx)
	if err != nil {
		return "", false, err
	}
	for _, c := range claims {
		if c.Name == name {
			owner := appOwner(c.Repo)
			return owner, owner != "", nil
		}
	}
	return "", false, nil
}

// overlayApp names the app whose rendered files hold p, if any.
func overlayApp(p string) (string, bool) {
	parts := strings.Split(p, "/")
	switch {
	case len(parts) >= 7 && parts[0] == "gitops" && parts[1] == "kustomize" && parts[2] == "overlays" && parts[4] == "apps":
		return parts[5], true
	case len(parts) == 5 && parts[0] == "gitops" && parts[1] == "argocd" && parts[2] == "apps" &&
		strings.HasSuffix(parts[4], ".yaml") && parts[4] != "kustomization.yaml":
		return strings.TrimSuffix(parts[4], ".yaml"), true
	}
	return "", false
}
