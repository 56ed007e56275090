package app

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/auth"
	"github.com/goldenpathidp/goldenpath/internal/change"
	"github.com/goldenpathidp/goldenpath/internal/forge"
	"github.com/goldenpathidp/goldenpath/internal/provision/local"
	"github.com/goldenpathidp/goldenpath/internal/registry"
	"github.com/goldenpathidp/goldenpath/internal/store"
)

func (a *App) authorizeGit(r *http.Request, repo string, write bool) (string, error) {
	p, err := a.Auth.FromRequest(r)
	if err != nil {
		return "", fmt.Errorf("%w: use your goldenpath user name and an API token as the password", forge.ErrUnauthenticated)
	}
	if write {
		if err := mayPush(p, repo); err != nil {
			return "", err
		}
	}
	return p.Name, nil
}

// mayPush is the right to push to a repository, which opening and merging its change requests need too:
// the developer role, and for an owner/name repository (a team's or a user's) being that owner or an admin.
func mayPush(p auth.Principal, repo string) error {
	if !p.Is(store.RoleDeveloper) {
		return fmt.Errorf("%w: pushing needs the developer role", forge.ErrDenied)
	}
	if owner, _, ok := strings.Cut(repo, "/"); ok && !p.Owns(owner, owner) {
		return fmt.Errorf("%w: %s belongs to %s; %s may pull but not push", forge.ErrDenied, repo, owner, p.Name)
	}
	return nil
}

// beforePush guards branches: a branch of an open change request moves only by its author or an admin (in
// every repository), and main of the platform repository only by admins (everyone else goes through
// change requests) and is never deleted.
func (a *App) beforePush(ctx context.Context, repo, subject string, updates []forge.RefUpdate) error {
	p, err := a.principal(ctx, subject)
	if err != nil {
		return fmt.Errorf("checking %s's roles: %w", subject, err)
	}
	for _, u := range updates {
		branch, ok := strings.CutPrefix(u.Ref, "refs/heads/")
		if !ok {
			continue
		}
		if err := change.GuardBranchPush(ctx, a.Store, repo, p, branch); err != nil {
			return err
		}
		if repo != PlatformRepo || branch != change.MainBranch {
			continue
		}
		if strings.Trim(u.New, "0") == "" {
			return fmt.Errorf("main cannot be deleted")
		}
		if !p.Is(store.RoleAdmin) {
			return fmt.Errorf("main is protected: push a branch and open a change request (goldenpath change open BRANCH)")
		}
	}
	return nil
}

func (a *App) onPush(ctx context.Context, ev forge.PushEvent) {
	// Who pushed each new commit is what four-eyes review trusts (git's author fields are the client's).
	if err := a.Store.RecordPushers(ctx, ev.Repo, ev.Subject, ev.Commits, time.Now().UTC()); err != nil {
		a.log.Error("recording who pushed commits", "repo", ev.Repo, "by", ev.Subject, "err", err)
	}
	// Registered catalog files in this repository are read again at once, not on a poll.
	if err := a.Catalog.RefreshTarget(ctx, a.url+"/git/"+ev.Repo+"/"); err != nil {
		a.log.Warn("refreshing catalog locations after a push", "repo", ev.Repo, "err", err)
	}
	a.KickEdge() // platform.yaml or an app's score.yaml may have changed
	a.changeRouter.pushed(ctx, ev)
	if ev.Repo != PlatformRepo {
		return
	}
	for _, u := range ev.Updates {
		if u.Ref == "refs/heads/"+change.MainBranch {
			a.log.Info("main pushed directly", "by", ev.Subject, "to", u.New)
			a.Reconciler.Notify()
		}
	}
}

// authorizeRegistry lets every user pull, and the owner and team of a repository (and admins) push to it.
func (a *App) authorizeRegistry(r *http.Request, repo string, access registry.Access) (string, error) {
	p, err := a.Auth.FromRequest(r)
	if err != nil {
		return "", fmt.Errorf("%w: log in with your goldenpath user name and an API token", registry.ErrUnauthenticated)
	}
	if repo == "" || access == registry.Pull {
		return p.Name, nil
	}
	info, ok, err := a.Registry.Repository(r.Context(), repo)
	if err != nil {
		return "", err
	}
	if !ok {
		return p.Name, nil // the registry answers NAME_UNKNOWN
	}
	owner, team := info.Settings.Labels[local.LabelOwner], info.Settings.Labels[local.LabelTeam]
	if owner == "" && team == "" && !p.Is(store.RoleAdmin) {
		return "", fmt.Errorf("%w: repository %s has no owner; only admins may change it", registry.ErrDenied, repo)
	}
	if !p.Owns(owner, team) {
		return "", fmt.Errorf("%w: repository %s belongs to %s of team %s; %s may pull but not push", registry.ErrDenied, repo, owner, team, p.Name)
	}
	return p.Name, nil
}
