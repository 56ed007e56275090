package request

import (
	"context"
	"fmt"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/store"
)

var nowFunc = func() time.Time { return time.Now().UTC() }

// ChangeMerged records the merge on the requests of c; the reconciler takes it from there.
func (s *Service) ChangeMerged(ctx context.Context, c store.Change) {
	s.event(ctx, c, c.ClosedBy, "Merged", fmt.Sprintf("change request #%d merged by %s", c.Number, c.ClosedBy), nil)
}

// ChangeReviewed records an approval on the requests of c.
func (s *Service) ChangeReviewed(ctx context.Context, c store.Change, r store.Review) {
	s.event(ctx, c, r.Reviewer, "Approved", fmt.Sprintf("change request #%d approved by %s", c.Number, r.Reviewer), nil)
}

// ChangeClosed marks requests that were only proposed by c as rejected. A request is rejected only by
// closing the change request that filed it: another change request that merely touches it (perhaps
// another team's) cannot end it.
func (s *Service) ChangeClosed(ctx context.Context, c store.Change) {
	msg := fmt.Sprintf("change request #%d %s by %s", c.Number, c.State, c.ClosedBy)
	if c.CloseReason != "" {
		msg += ": " + c.CloseReason
	}
	s.event(ctx, c, c.ClosedBy, "ChangeRequest"+title(c.State), msg, func(rec *store.Request) {
		if rec.Phase == store.PhasePending && rec.Change == c.Number {
			rec.Phase = store.PhaseRejected
			SetCondition(rec, "Ready", "False", "ChangeRequest"+title(c.State), msg)
		}
	})
}

func title(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

func (s *Service) event(ctx context.Context, c store.Change, actor, reason, msg string, mutate func(*store.Request)) {
	for _, id := range c.RequestIDs {
		_, _ = s.store.UpdateRequest(ctx, id, func(rec *store.Request) ([]store.Event, error) {
			if rec.Phase == "" {
				return nil, errNoRecord // requests merged straight from a pushed branch get their record from the reconciler
			}
			if mutate != nil {
				mutate(rec)
			}
			return []store.Event{{Reason: reason, Message: msg, Actor: actor}}, nil
		})
	}
}

var errNoRecord = fmt.Errorf("no record")
