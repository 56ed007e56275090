package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/goldenpathidp/goldenpath/internal/contract"
	"github.com/goldenpathidp/goldenpath/internal/forge"
	"github.com/goldenpathidp/goldenpath/internal/platform"
	"github.com/goldenpathidp/goldenpath/internal/request"
	"github.com/goldenpathidp/goldenpath/internal/store"
)

// MainBranch is where desired state is read.
const MainBranch = "main"

// Sync compares the contracts on main with observed state once and queues the work to close the gap.
func (r *Reconciler) Sync(ctx context.Context) error {
	r.syncMu.Lock()
	defer r.syncMu.Unlock()
	sha, cfg, set, err := r.readDesired(ctx)
	if err != nil {
		r.writeStatus(ctx, Status{MainSHA: sha, SyncedAt: r.now().UTC(), Problems: []string{err.Error()}})
		return err
	}
	r.cfg.Store(cfg)
	observed, err := r.store.ListRequests(ctx, store.RequestFilter{})
	if err != nil {
		return err
	}
	byID := make(map[string]store.Request, len(observed))
	for _, o := range observed {
		byID[o.ID] = o
	}
	queued := 0
	for _, req := range set.Sorted() {
		n, err := r.syncDesired(ctx, cfg, req, byID[string(req.ID())], sha)
		if err != nil {
			return err
		}
		queued += n
	}
	for _, o := range observed {
		n, err := r.syncRemoved(ctx, set, o, sha)
		if err != nil {
			return err
		}
		queued += n
	}
	st := Status{MainSHA: sha, SyncedAt: r.now().UTC()}
	for _, e := range set.Errors {
		st.Problems = append(st.Problems, e.Error())
	}
	r.writeStatus(ctx, st)
	if queued > 0 {
		r.log.Info("sync queued work", "main", sha[:min(10, len(sha))], "items", queued)
		r.wakeWorkers()
	}
	r.synced.Add(1)
	return nil
}

func (r *Reconciler) writeStatus(ctx context.Context, st Status) {
	raw, _ := json.Marshal(st)
	if err := r.store.SetMeta(ctx, statusKey, string(raw)); err != nil {
		r.log.Warn("writing status", "err", err)
	}
}

func (r *Reconciler) readDesired(ctx context.Context) (string, *platform.Config, *contract.Set, error) {
	sha, err := r.repo.ResolveRef(ctx, MainBranch)
	if err != nil {
		return "", nil, nil, fmt.Errorf("resolving main: %w", err)
	}
	raw, err := r.repo.ReadFile(ctx, sha, platform.Path)
	if err != nil {
		return sha, nil, nil, fmt.Errorf("reading platform.yaml at %s: %w", sha, err)
	}
	cfg, err := platform.Parse(platform.Path, raw)
	if err != nil {
		return sha, nil, nil, fmt.Errorf("platform.yaml on main is invalid, so nothing is reconciled until it is fixed: %w", err)
	}
	files, err := r.repo.ReadTree(ctx, sha, contract.Root)
	if err != nil && !errors.Is(err, forge.ErrNotFound) {
		return sha, nil, nil, fmt.Errorf("reading contracts at %s: %w", sha, err)
	}
	cf := make([]contract.File, len(files))
	for i, f := range files {
		cf[i] = contract.File{Path: f.Path, Content: f.Content}
	}
	return sha, cfg, contract.Load(cf, cfg), nil
}

// desiredHash identifies what a request should look like: its contract and the configuration that affects it.
func (r *Reconciler) desiredHash(cfg *platform.Config, req *contract.Request) string {
	env, _ := cfg.Environment(req.Metadata.Environment)
	key := ""
	if p := r.provisioner(cfg, req); p != nil {
		key = p.ConfigKey(req, cfg)
	}
	return request.Hash(string(req.Marshal()), env.Backend, key)
}

func (r *Reconciler) syncDesired(ctx context.Context, cfg *platform.Config, req *contract.Request, rec store.Request, sha string) (int, error) {
	hash := r.desiredHash(cfg, req)
	switch rec.Phase {
	case store.PhaseReady, store.PhaseProvisioning, store.PhaseFailed:
		if rec.SpecHash == hash {
			return 0, nil // applied, in flight, or failed for good at this version
		}
	}
	if rec.ObservedHash != "" && rec.Spec != "" {
		if applied, err := contract.ParseOne(req.File, []byte(rec.Spec)); err == nil {
			if errs := contract.CheckUpdate(applied, req); len(errs) > 0 {
				return 0, r.refuseUpdate(ctx, rec, hash, errs.Error())
			}
		}
	}
	_, err := r.store.UpdateRequest(ctx, string(req.ID()), func(s *store.Request) ([]store.Event, error) {
		s.Kind, s.Environment, s.Name = string(req.Kind), req.Metadata.Environment, req.Metadata.Name
		s.Owner, s.Team = req.Metadata.Owner, req.Metadata.Team
		s.Spec, s.SpecHash, s.Phase = string(req.Marshal()), hash, store.PhaseProvisioning
		reason := "Provisioning"
		if s.ObservedHash != "" {
			reason = "Updating"
		}
		request.SetCondition(s, "Ready", "False", reason, "queued for provisioning from main at "+sha[:min(10, len(sha))])
		request.RemoveCondition(s, request.ConditionRetrying) // a new attempt starts afresh
		return []store.Event{{Reason: "Queued", Message: fmt.Sprintf("%s: desired state changed on main at %s", reason, sha[:min(10, len(sha))])}}, nil
	})
	if err != nil {
		return 0, err
	}
	return 1, r.store.Enqueue(ctx, string(req.ID()), store.ActionApply, hash, r.now())
}

func (r *Reconciler) refuseUpdate(ctx context.Context, rec store.Request, hash, why string) error {
	if rec.SpecHash == hash && rec.Phase == store.PhaseFailed {
		return nil
	}
	_, err := r.store.UpdateRequest(ctx, rec.ID, func(s *store.Request) ([]store.Event, error) {
		s.SpecHash, s.Phase = hash, store.PhaseFailed
		msg := "the version on main changes immutable fields, so it was not applied; the resource keeps its last applied state: " + why
		request.SetCondition(s, "Ready", "False", "ImmutableFieldChanged", msg)
		request.RemoveCondition(s, request.ConditionRetrying)
		return []store.Event{{Type: store.EventWarning, Reason: "ImmutableFieldChanged", Message: msg}}, nil
	})
	return err
}

// syncRemoved queues the deletion of a provisioned request whose contract left main. Requests in files that
// fail to parse are left alone: a broken file is not a deletion.
func (r *Reconciler) syncRemoved(ctx context.Context, set *contract.Set, rec store.Request, sha string) (int, error) {
	if _, desired := set.Requests[contract.ID(rec.ID)]; desired {
		return 0, nil
	}
	switch rec.Phase {
	case store.PhaseProvisioning, store.PhaseReady, store.PhaseFailed:
	default:
		return 0, nil // pending, rejected, already deleting or deleted
	}
	kind, _, name, err := contract.ParseID(rec.ID)
	if err != nil {
		return 0, nil
	}
	if path := contract.PathFor(kind, name); set.Broken[path] {
		r.log.Warn("not deleting a request whose file on main is broken", "request", rec.ID, "file", path)
		return 0, nil
	}
	_, err = r.store.UpdateRequest(ctx, rec.ID, func(s *store.Request) ([]store.Event, error) {
		s.Phase = store.PhaseDeleting
		request.SetCondition(s, "Ready", "False", "Deleting", "the contract was removed from main at "+sha[:min(10, len(sha))])
		request.RemoveCondition(s, request.ConditionRetrying) // a new attempt starts afresh
		return []store.Event{{Reason: "Deleting", Message: "contract removed from main at " + sha[:min(10, len(sha))] + "; deprovisioning"}}, nil
	})
	if err != nil {
		return 0, err
	}
	return 1, r.store.Enqueue(ctx, rec.ID, store.ActionDelete, "", r.now())
}
