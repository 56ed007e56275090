package change

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/goldenpathidp/goldenpath/internal/auth"
	"github.com/goldenpathidp/goldenpath/internal/forge"
	"github.com/goldenpathidp/goldenpath/internal/problem"
	"github.com/goldenpathidp/goldenpath/internal/store"
)

// MaxCommentBytes bounds a comment or a reason.
const MaxCommentBytes = 16 << 10

func (s *Service) getOpen(ctx context.Context, number int64, verb string) (store.Change, error) {
	c, err := s.Get(ctx, number)
	if err != nil {
		return c, err
	}
	if c.State != store.ChangeOpen {
		return c, problem.New(problem.Conflict, "cannot %s change request #%d: it is already %s", verb, number, c.State)
	}
	return c, nil
}

// Approve records p's approval of the change request's current head.
func (s *Service) Approve(ctx context.Context, p auth.Principal, number int64, comment string) (store.Review, error) {
	if !p.Is(store.RoleApprover) {
		return store.Review{}, problem.New(problem.Forbidden, "approving needs the approver role; %s does not have it", p.Name)
	}
	if len(comment) > MaxCommentBytes {
		return store.Review{}, problem.Field("comment", "is longer than %d bytes", MaxCommentBytes)
	}
	c, err := s.getOpen(ctx, number, "approve")
	if err != nil {
		return store.Review{}, err
	}
	if c.Author == p.Name {
		return store.Review{}, problem.New(problem.Forbidden, "%s opened change request #%d and cannot approve it: another approver must", p.Name, number)
	}
	ev, err := s.Evaluate(ctx, c)
	if err != nil {
		return store.Review{}, err
	}
	r := store.Review{Change: number, Reviewer: p.Name, Verdict: store.VerdictApproved, HeadSHA: ev.HeadSHA, Comment: comment, CreatedAt: s.now().UTC()}
	if err := s.store.AddReview(ctx, r); errors.Is(err, store.ErrExists) {
		return store.Review{}, problem.New(problem.Conflict, "%s has already approved change request #%d at %s", p.Name, number, short(ev.HeadSHA))
	} else if err != nil {
		return store.Review{}, err
	}
	s.audit(ctx, p.Name, "change.approve", c, ev.HeadSHA)
	if s.hooks.Reviewed != nil {
		s.hooks.Reviewed(ctx, c, r)
	}
	return r, nil
}

func short(sha string) string {
	if len(sha) > 10 {
		return sha[:10]
	}
	return sha
}

// Reject closes the change request without merging it.
func (s *Service) Reject(ctx context.Context, p auth.Principal, number int64, reason string) (store.Change, error) {
	if !p.Is(store.RoleApprover) {
		return store.Change{}, problem.New(problem.Forbidden, "rejecting needs the approver role; %s does not have it", p.Name)
	}
	return s.close(ctx, p, number, store.ChangeRejected, reason)
}

// Close withdraws the change request; only its author or an admin may.
func (s *Service) Close(ctx context.Context, p auth.Principal, number int64, reason string) (store.Change, error) {
	c, err := s.Get(ctx, number)
	if err != nil {
		return c, err
	}
	if c.Author != p.Name && !p.Is(store.RoleAdmin) {
		return c, problem.New(problem.Forbidden, "only the author (%s) or an admin can close change request #%d", c.Author, number)
	}
	return s.close(ctx, p, number, store.ChangeClosed, reason)
}

func (s *Service) close(ctx context.Context, p auth.Principal, number int64, state, reason string) (store.Change, error) {
	if len(reason) > MaxCommentBytes {
		return store.Change{}, problem.Field("reason", "is longer than %d bytes", MaxCommentBytes)
	}
	s.mergeMu.Lock()
	defer s.mergeMu.Unlock()
	c, err := s.getOpen(ctx, number, strings.TrimSuffix(state, "ed"))
	if err != nil {
		return c, err
	}
	closed := c
	closed.State, closed.ClosedBy, closed.CloseReason, closed.UpdatedAt = state, p.Name, reason, s.now().UTC()
	if err := s.store.UpdateChange(ctx, closed, c.State, c.HeadSHA); errors.Is(err, store.ErrConflict) {
		return c, problem.New(problem.Conflict, "change request #%d changed while it was being %s; look again", number, state)
	} else if err != nil {
		return c, err
	}
	s.audit(ctx, p.Name, "change."+state, c, reason)
	if s.hooks.Closed != nil {
		s.hooks.Closed(ctx, closed)
	}
	return closed, nil
}

// Merge merges the change request into main if its checks pass and it has the approvals it needs.
func (s *Service) Merge(ctx context.Context, p auth.Principal, number int64) (store.Change, error) {
	s.mergeMu.Lock()
	defer s.mergeMu.Unlock()
	for attempt := 0; ; attempt++ {
		c, err := s.getOpen(ctx, number, "merge")
		if err != nil {
			return c, err
		}
		if c.Author != p.Name && !p.Is(store.RoleApprover) {
			return c, problem.New(problem.Forbidden, "only the author or an approver can merge change request #%d", number)
		}
		if err := s.mayOpen(ctx, p, "merging"); err != nil {
			return c, err
		}
		ev, err := s.Evaluate(ctx, c)
		if err != nil {
			return c, err
		}
		if !ev.Mergeable {
			return c, problem.New(problem.Precondition, "change request #%d cannot be merged: %s", number, strings.Join(ev.Blockers, "; ")).WithReasons(ev.Blockers)
		}
		msg := fmt.Sprintf("Merge change request #%d: %s\n\nApproved-by: %s", number, c.Title, strings.Join(ev.Approvers, ", "))
		sha, err := s.repo.Merge(ctx, MainBranch, ev.MainSHA, ev.HeadSHA, msg, s.signature(p))
		var conflict *forge.MergeConflictError
		switch {
		case errors.Is(err, forge.ErrConflict) && attempt < 5:
			continue // main moved between evaluation and merge: evaluate again
		case errors.As(err, &conflict):
			reasons := []string{"conflicts with main in: " + strings.Join(conflict.Paths, ", ") + "; update the branch from main"}
			return c, problem.New(problem.Precondition, "change request #%d cannot be merged: %s", number, reasons[0]).WithReasons(reasons)
		case err != nil:
			return c, fmt.Errorf("merging change request #%d: %w", number, err)
		}
		return s.markMerged(ctx, p.Name, c, ev.HeadSHA, sha)
	}
}

func (s *Service) markMerged(ctx context.Context, actor string, c store.Change, head, sha string) (store.Change, error) {
	merged := c
	merged.State, merged.MergedSHA, merged.HeadSHA, merged.ClosedBy, merged.UpdatedAt = store.ChangeMerged, sha, head, actor, s.now().UTC()
	if err := s.store.UpdateChange(ctx, merged, c.State, c.HeadSHA); err != nil {
		return c, fmt.Errorf("recording the merge of change request #%d (merged as %s): %w", c.Number, short(sha), err)
	}
	s.audit(ctx, actor, "change.merge", c, sha)
	s.log.Info("change request merged", "change", c.Number, "by", actor, "commit", short(sha))
	if s.hooks.Merged != nil {
		s.hooks.Merged(ctx, merged)
	}
	return merged, nil
}

// Comment adds a comment.
func (s *Service) Comment(ctx context.Context, p auth.Principal, number int64, body string) (store.Comment, error) {
	if strings.TrimSpace(body) == "" {
		return store.Comment{}, problem.Field("body", "is required")
	}
	if len(body) > MaxCommentBytes {
		return store.Comment{}, problem.Field("body", "is longer than %d bytes", MaxCommentBytes)
	}
	if _, err := s.Get(ctx, number); err != nil {
		return store.Comment{}, err
	}
	cm := store.Comment{Change: number, Author: p.Name, Body: body, CreatedAt: s.now().UTC()}
	return cm, s.store.AddComment(ctx, &cm)
}

// Recover finishes merges that reached git but not the store (the process stopped in between): an open
// change request whose head is already part of main is marked merged.
func (s *Service) Recover(ctx context.Context) error {
	open, err := s.List(ctx, store.ChangeFilter{State: store.ChangeOpen})
	if err != nil {
		return err
	}
	mainSHA, err := s.repo.ResolveRef(ctx, MainBranch)
	if err != nil {
		return err
	}
	for _, c := range open {
		head, err := s.repo.ResolveRef(ctx, "refs/heads/"+c.Branch)
		if err != nil {
			continue
		}
		if mb, err := s.repo.MergeBase(ctx, head, mainSHA); err == nil && mb == head && head != mainSHA {
			if _, err := s.markMerged(ctx, c.Author, c, head, mainSHA); err != nil {
				return err
			}
		}
	}
	return nil
}

// View is a change request with everything a reviewer looks at.
type View struct {
	store.Change
	Reviews    []store.Review   `json:"reviews"`
	Comments   []store.Comment  `json:"comments"`
	Evaluation *Evaluation      `json:"evaluation"`
	Diff       []forge.FileDiff `json:"diff,omitempty"`
}

// View gathers a change request, its reviews, comments, evaluation and (when withDiff) file patches.
func (s *Service) View(ctx context.Context, number int64, withDiff bool) (*View, error) {
	c, err := s.Get(ctx, number)
	if err != nil {
		return nil, err
	}
	ev, err := s.Evaluate(ctx, c)
	if err != nil {
		return nil, err
	}
	if c, err = s.Get(ctx, number); err != nil { // Evaluate may have recorded a new head
		return nil, err
	}
	v := &View{Change: c, Evaluation: ev}
	if v.Reviews, err = s.store.Reviews(ctx, number); err != nil {
		return nil, err
	}
	if v.Comments, err = s.store.Comments(ctx, number); err != nil {
		return nil, err
	}
	if withDiff {
		base := ev.MainSHA
		if c.State == store.ChangeMerged {
			if base, err = s.beforeMerge(ctx, c.MergedSHA); err != nil {
				return nil, err
			}
		}
		if v.Diff, err = s.repo.Diff(ctx, base, ev.HeadSHA); err != nil {
			return nil, err
		}
	}
	return v, nil
}
