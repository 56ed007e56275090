package app

import (
	"context"

	"github.com/goldenpathidp/goldenpath/internal/auth"
	"net/http"
	"strings"

	"github.com/goldenpathidp/goldenpath/internal/contract"
	"github.com/goldenpathidp/goldenpath/internal/portal"
	"github.com/goldenpathidp/goldenpath/internal/provision/local"
	"github.com/goldenpathidp/goldenpath/internal/scaffolder"
	"github.com/goldenpathidp/goldenpath/internal/store"
)

// portalHandler serves the web portal at /.
func (a *App) portalHandler() (http.Handler, []string) {
	p, err := portal.New(portal.Options{
		Tokens: a.Auth, Store: a.Store, Changes: a.changeRouter, Requests: a.Requests, Catalog: a.Catalog,
		Templates: a.Scaffolder.Templates(), Source: a.templateSource, Tasks: a.Scaffolder, TaskUsers: scaffoldUsers{a},
		Credentials: portalCredentials{a}, APIBase: a.url, Logger: a.log,
		Users: a.Auth, Apps: portalApps{a},
	})
	if err != nil {
		// Only a broken build (an unparsable embedded template) gets here; say so on every page.
		a.log.Error("the portal cannot start", "err", err)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "the portal is unavailable: the server log has the details", http.StatusServiceUnavailable)
		}), nil
	}
	return p, p.Routes()
}

// templateSource reads a template's template.yaml as written, for the form's field order.
func (a *App) templateSource(ctx context.Context, f scaffolder.Found) ([]byte, error) {
	repo, err := a.Forge.Repo(f.Source.Repo)
	if err != nil {
		return nil, err
	}
	return repo.ReadFile(ctx, f.Source.Commit, f.Source.FilePath())
}

// portalCredentials reads a request's secret outputs from the vault, as the API's credentials endpoint does
// (a SecretRequest's value is left out: it has its own endpoint).
type portalCredentials struct{ a *App }

func (c portalCredentials) Secrets(ctx context.Context, rec store.Request) (map[string]string, error) {
	id := contract.ID(rec.ID)
	prefix := local.SecretPrefix(id)
	names, err := c.a.Vault.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, n := range names {
		key := strings.TrimPrefix(n, prefix)
		if n == local.SecretValueName(id) || rec.Outputs[key] != "" {
			continue
		}
		v, _, err := c.a.Vault.Get(ctx, n)
		if err != nil {
			return nil, err
		}
		out[key] = v.Reveal()
	}
	return out, nil
}

// portalApps shows the portal the apps as the API's views do (the same problems, the same details hidden
// from users outside an app's team).
type portalApps struct{ a *App }

func (p portalApps) Apps(ctx context.Context, who auth.Principal, only string) ([]portal.App, error) {
	if only != "" {
		if err := checkAppName(only); err != nil {
			return nil, err
		}
	}
	views, err := appsAPI{p.a}.views(ctx, who, only)
	if err != nil {
		return nil, err
	}
	out := make([]portal.App, 0, len(views))
	for _, v := range views {
		pa := portal.App{Name: v.Name, Repo: v.Repo, Owner: v.Owner, Commit: v.Commit, Refused: v.Refused, Invalid: v.Invalid}
		for _, e := range v.Environments {
			pa.Environments = append(pa.Environments, portal.AppEnvironment{Name: e.Name, Repository: e.Repository, Tag: e.Tag,
				Digest: e.Digest, URLs: e.URLs, Status: e.Status, Message: e.Message, Problems: e.Problems, Blocked: e.Blocked, Last: e.Last})
		}
		out = append(out, pa)
	}
	return out, nil
}
