package app

import (
	"context"
	"fmt"
	"net/http"
	"strings"

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
	if write && !p.Is(store.RoleDeveloper) {
		return "", fmt.Errorf("%w: pushing needs the developer role", forge.ErrDenied)
	}
	// owner/name repositories belong to a team (or a user): only they and admins push to them.
	if owner, _, ok := strings.Cut(repo, "/"); ok && write && !p.Owns(owner, owner) {
		return "", fmt.Errorf("%w: %s belongs to %s; %s may pull but not push", forge.ErrDenied, repo, owner, p.Name)
	}
	return p.Name, nil
}

// beforePush protects main of the platform repository: only admins may push to it directly (everyone
// else goes through change requests), and nobody may delete it.
func (a *App) beforePush(ctx context.Context, repo, subject string, updates []forge.RefUpdate) error {
	if repo != PlatformRepo {
		return nil
	}
	for _, u := range updates {
		if u.Ref != "refs/heads/"+change.MainBranch {
			continue
		}
		if strings.Trim(u.New, "0") == "" {
			return fmt.Errorf("main cannot be deleted")
		}
		user, err := a.Store.GetUser(ctx, subject)
		if err != nil {
			return fmt.Errorf("checking %s's roles: %w", subject, err)
		}
		if !(auth.Principal{Roles: user.Roles}).Is(store.RoleAdmin) {
			return fmt.Errorf("main is protected: push a branch and open a change request (goldenpath change open BRANCH)")
		}
	}
	return nil
}

func (a *App) onPush(ctx context.Context, ev forge.PushEvent) {
	// Registered catalog files in this repository are read again at once, not on a poll.
	if err := a.Catalog.RefreshTarget(ctx, a.url+"/git/"+ev.Repo+"/"); err != nil {
		a.log.Warn("refreshing catalog locations after a push", "repo", ev.Repo, "err", err)
	}
	a.KickEdge() // platform.yaml or an app's score.yaml may have changed
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
