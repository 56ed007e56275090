package reconcile

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/contract"
	"github.com/goldenpathidp/goldenpath/internal/request"
	"github.com/goldenpathidp/goldenpath/internal/store"
)

// Retry timing.
const (
	baseBackoff  = time.Second
	maxBackoff   = 5 * time.Minute
	waitingRetry = 30 * time.Second
	failAfter    = 5 // attempts after which a transient error shows the request as Failed (still retried)
)

func backoff(attempts int) time.Duration {
	d := baseBackoff << min(attempts-1, 20)
	return min(d, maxBackoff)
}

// work leases items as owner (one per worker, so that a worker's lease is its own) and processes them.
func (r *Reconciler) work(ctx context.Context, owner string) {
	for ctx.Err() == nil {
		item, ok, err := r.store.Lease(ctx, owner, r.now(), r.leaseFor)
		if err != nil {
			if ctx.Err() == nil {
				r.log.Error("leasing work", "err", err)
			}
			r.sleep(ctx, time.Second)
			continue
		}
		if !ok {
			r.idle(ctx)
			continue
		}
		r.process(ctx, owner, item)
	}
}

// errLeaseLost is the cause of a provisioner's context ending because another worker took its item.
var errLeaseLost = errors.New("the work item's lease was lost to another worker")

// holdLease renews owner's lease on item every leaseFor/3 while a provisioner works on it, so that a long
// create (an RDS instance, an EKS cluster) is not leased a second time by another worker or replica. The
// returned context ends with errLeaseLost if the lease is found held by someone else; stop ends the
// renewals and must be called once the provisioner has returned.
func (r *Reconciler) holdLease(ctx context.Context, owner string, item store.WorkItem) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(max(r.leaseFor/3, time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			err := r.store.RenewLease(ctx, item.RequestID, owner, r.now().Add(r.leaseFor))
			switch {
			case errors.Is(err, store.ErrLeaseLost):
				r.log.Warn("lease lost while provisioning; stopping this attempt", "request", item.RequestID, "err", err)
				cancel(errLeaseLost)
				return
			case err != nil && ctx.Err() == nil:
				r.log.Warn("renewing the lease", "request", item.RequestID, "err", err) // tried again at the next tick
			}
		}
	}()
	return ctx, func() {
		close(done)
		<-stopped
		cancel(nil)
	}
}

// idle waits until new work is signalled or the earliest queued item becomes due.
func (r *Reconciler) idle(ctx context.Context) {
	wait := r.resync
	if due, err := r.store.NextDue(ctx); err == nil && !due.IsZero() {
		wait = min(max(time.Until(due), 10*time.Millisecond), r.resync)
	}
	r.sleep(ctx, wait)
}

func (r *Reconciler) sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-r.wake:
	case <-t.C:
	}
}

// recorder writes steps to the request's timeline and calls the test hook.
type recorder struct {
	r      *Reconciler
	id     contract.ID
	action string
}

func (rc *recorder) Step(ctx context.Context, name string) error {
	if err := rc.boundary(ctx, name); err != nil {
		return err
	}
	rc.Event(ctx, "Step", name)
	return nil
}

// boundary is a point where the process may stop; the hook lets tests stop it there.
func (rc *recorder) boundary(ctx context.Context, name string) error {
	if rc.r.hook != nil {
		if err := rc.r.hook(ctx, rc.id, rc.action, name); err != nil {
			return err
		}
	}
	return ctx.Err()
}

func (rc *recorder) Event(ctx context.Context, reason, message string) {
	_, err := rc.r.store.UpdateRequest(ctx, string(rc.id), func(*store.Request) ([]store.Event, error) {
		return []store.Event{{Reason: reason, Message: message}}, nil
	})
	if err != nil {
		rc.r.log.Warn("recording event", "request", rc.id, "err", err)
	}
}

func (r *Reconciler) process(ctx context.Context, owner string, item store.WorkItem) {
	log := r.log.With("request", item.RequestID, "action", item.Action, "attempt", item.Attempts)
	rec, err := r.store.GetRequest(ctx, item.RequestID)
	if err != nil {
		log.Error("work item without a request record; dropping it", "err", err)
		_ = r.store.Complete(ctx, item.RequestID, item.Generation)
		return
	}
	cfg := r.cfg.Load()
	if cfg == nil {
		// No valid platform.yaml read yet (the first sync failed): try again once it is.
		_ = r.store.Retry(ctx, item.RequestID, item.Generation, r.now().Add(waitingRetry), "waiting for a valid platform.yaml on main")
		return
	}
	req, err := contract.ParseOne(rec.ID, []byte(rec.Spec))
	if err != nil {
		log.Error("cannot read the request's contract", "err", err)
		r.fail(ctx, item, rec, Permanent("InvalidContract", "the stored contract cannot be read: %v", err))
		return
	}
	prov := r.provisioner(cfg, req)
	if prov == nil {
		env, _ := cfg.Environment(req.Metadata.Environment)
		r.fail(ctx, item, rec, Permanent("NoProvisioner", "no %s provisioner for %s on backend %q", req.Kind, req.Metadata.Environment, env.Backend))
		return
	}
	rc := &recorder{r: r, id: req.ID(), action: item.Action}
	start := r.now()
	var out Outputs
	pctx, stop := r.holdLease(ctx, owner, item)
	if item.Action == store.ActionDelete {
		err = prov.Delete(pctx, req, cfg, rc)
	} else {
		out, err = prov.Apply(pctx, req, cfg, rc)
	}
	lost := errors.Is(context.Cause(pctx), errLeaseLost)
	stop()
	if ctx.Err() != nil {
		return // stopping: leave the lease; the next start releases it and the step repeats idempotently
	}
	if lost {
		// Another worker holds the item now and repeats the step idempotently: this attempt records nothing.
		log.Warn("lease lost; the outcome of this attempt is not recorded", "err", err)
		return
	}
	if err != nil {
		log.Warn("provisioning failed", "err", err)
		r.fail(ctx, item, rec, err)
		return
	}
	if err := rc.boundary(ctx, "record the outcome"); err != nil {
		return // stopped between the last step and recording its success
	}
	log.Info("provisioned", "took", r.now().Sub(start).Round(time.Millisecond))
	r.succeed(ctx, item, out)
}

func (r *Reconciler) succeed(ctx context.Context, item store.WorkItem, out Outputs) {
	_, err := r.store.UpdateRequest(ctx, item.RequestID, func(s *store.Request) ([]store.Event, error) {
		request.RemoveCondition(s, request.ConditionRetrying)
		if item.Action == store.ActionDelete {
			s.Phase, s.Outputs, s.ObservedHash = store.PhaseDeleted, nil, ""
			request.SetCondition(s, "Ready", "False", "Deleted", "the resource was deprovisioned")
			return []store.Event{{Reason: "Deleted", Message: "deprovisioned"}}, nil
		}
		s.ObservedHash, s.Outputs = item.SpecHash, out
		if s.SpecHash == item.SpecHash {
			s.Phase = store.PhaseReady
			request.SetCondition(s, "Ready", "True", "Provisioned", "the resource is ready")
		}
		return []store.Event{{Reason: "Ready", Message: "provisioned"}}, nil
	})
	if err == nil {
		err = r.store.Complete(ctx, item.RequestID, item.Generation)
	}
	if err != nil {
		r.log.Error("recording success", "request", item.RequestID, "err", err)
	}
}

func (r *Reconciler) fail(ctx context.Context, item store.WorkItem, rec store.Request, cause error) {
	e := classify(cause)
	var next time.Time
	phase := store.PhaseProvisioning
	if item.Action == store.ActionDelete {
		phase = store.PhaseDeleting
	}
	switch e.Class {
	case ClassPermanent:
		phase = store.PhaseFailed
	case ClassWaiting:
		next = r.now().Add(waitingRetry)
	default:
		next = r.now().Add(backoff(item.Attempts))
		if item.Attempts >= failAfter {
			phase = store.PhaseFailed
		}
	}
	msg := e.Error()
	if !next.IsZero() {
		msg += fmt.Sprintf(" (attempt %d; retrying at %s)", item.Attempts, next.UTC().Format(time.TimeOnly))
	}
	_, err := r.store.UpdateRequest(ctx, item.RequestID, func(s *store.Request) ([]store.Event, error) {
		s.Phase = phase
		request.SetCondition(s, "Ready", "False", e.Reason, msg)
		if next.IsZero() {
			request.RemoveCondition(s, request.ConditionRetrying)
		} else {
			request.SetCondition(s, request.ConditionRetrying, "True", e.Reason,
				fmt.Sprintf("attempt %d failed; the next one is at %s", item.Attempts, next.UTC().Format(time.RFC3339)))
		}
		return []store.Event{{Type: store.EventWarning, Reason: e.Reason, Message: msg}}, nil
	})
	if err == nil {
		if next.IsZero() {
			err = r.store.Complete(ctx, item.RequestID, item.Generation)
		} else {
			err = r.store.Retry(ctx, item.RequestID, item.Generation, next, msg)
		}
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		r.log.Error("recording failure", "request", item.RequestID, "err", err)
	}
}
