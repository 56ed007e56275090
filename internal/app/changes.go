package app

import (
	"context"
	"log/slog"
	"strings"
	"sync"

	"github.com/goldenpathidp/goldenpath/internal/auth"
	"github.com/goldenpathidp/goldenpath/internal/change"
	"github.com/goldenpathidp/goldenpath/internal/forge"
	"github.com/goldenpathidp/goldenpath/internal/problem"
	"github.com/goldenpathidp/goldenpath/internal/rest"
	"github.com/goldenpathidp/goldenpath/internal/store"
)

// changeRouter serves change requests of every forge repository: the platform repository's service (with
// contract checks and plans) and a generic service per app repository, chosen by the change's repo.
type changeRouter struct {
	platform *change.Service
	forge    *forge.Forge
	store    store.Store
	log      *slog.Logger

	mu     sync.Mutex
	others map[string]*change.Service
}

var _ rest.ChangeRequests = (*changeRouter)(nil)

func (r *changeRouter) forRepo(name string) (*change.Service, error) {
	if name == "" || name == PlatformRepo {
		return r.platform, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.others[name]; ok {
		return s, nil
	}
	repo, err := r.forge.Repo(name)
	if err != nil {
		return nil, problem.Field("repo", "repository %q does not exist", name)
	}
	if r.others == nil {
		r.others = map[string]*change.Service{}
	}
	s := change.New(change.Options{Repo: repo, Store: r.store, Generic: true, Logger: r.log,
		MayPush: func(_ context.Context, p auth.Principal) error { return mayPush(p, name) }})
	r.others[name] = s
	return s, nil
}

func (r *changeRouter) forNumber(ctx context.Context, n int64) (*change.Service, error) {
	c, err := r.platform.Get(ctx, n) // numbers are unique across repositories
	if err != nil {
		return nil, err
	}
	return r.forRepo(c.Repo)
}

func (r *changeRouter) List(ctx context.Context, f store.ChangeFilter) ([]store.Change, error) {
	return r.store.ListChanges(ctx, f)
}

func (r *changeRouter) OpenBranch(ctx context.Context, p auth.Principal, repo, branch, title, body string) (store.Change, error) {
	s, err := r.forRepo(repo)
	if err != nil {
		return store.Change{}, err
	}
	return s.OpenBranch(ctx, p, branch, title, body)
}

func (r *changeRouter) View(ctx context.Context, n int64, diff bool) (*change.View, error) {
	s, err := r.forNumber(ctx, n)
	if err != nil {
		return nil, err
	}
	return s.View(ctx, n, diff)
}

func (r *changeRouter) Approve(ctx context.Context, p auth.Principal, n int64, comment string) (store.Review, error) {
	s, err := r.forNumber(ctx, n)
	if err != nil {
		return store.Review{}, err
	}
	return s.Approve(ctx, p, n, comment)
}

func (r *changeRouter) Reject(ctx context.Context, p auth.Principal, n int64, reason string) (store.Change, error) {
	s, err := r.forNumber(ctx, n)
	if err != nil {
		return store.Change{}, err
	}
	return s.Reject(ctx, p, n, reason)
}

func (r *changeRouter) Close(ctx context.Context, p auth.Principal, n int64, reason string) (store.Change, error) {
	s, err := r.forNumber(ctx, n)
	if err != nil {
		return store.Change{}, err
	}
	return s.Close(ctx, p, n, reason)
}

func (r *changeRouter) Merge(ctx context.Context, p auth.Principal, n int64) (store.Change, error) {
	s, err := r.forNumber(ctx, n)
	if err != nil {
		return store.Change{}, err
	}
	return s.Merge(ctx, p, n)
}

func (r *changeRouter) Comment(ctx context.Context, p auth.Principal, n int64, body string) (store.Comment, error) {
	s, err := r.forNumber(ctx, n)
	if err != nil {
		return store.Comment{}, err
	}
	return s.Comment(ctx, p, n, body)
}

// pushed evaluates the open change requests whose branches a push moved, so that the requests their new
// commits touch show them in their timelines at once.
func (r *changeRouter) pushed(ctx context.Context, ev forge.PushEvent) {
	open, err := r.store.ListChanges(ctx, store.ChangeFilter{Repo: ev.Repo, State: store.ChangeOpen})
	if err != nil {
		r.log.Warn("listing change requests after a push", "repo", ev.Repo, "err", err)
		return
	}
	for _, u := range ev.Updates {
		branch, ok := strings.CutPrefix(u.Ref, "refs/heads/")
		if !ok || u.New == forge.ZeroSHA {
			continue
		}
		for _, c := range open {
			if c.Branch != branch {
				continue
			}
			if _, err := r.View(ctx, c.Number, false); err != nil {
				r.log.Warn("evaluating a change request after a push", "change", c.Number, "err", err)
			}
		}
	}
}
