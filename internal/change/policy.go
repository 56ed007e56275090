package change

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/goldenpathidp/goldenpath/internal/auth"
	"github.com/goldenpathidp/goldenpath/internal/contract"
	"github.com/goldenpathidp/goldenpath/internal/forge"
	"github.com/goldenpathidp/goldenpath/internal/plan"
	"github.com/goldenpathidp/goldenpath/internal/problem"
	"github.com/goldenpathidp/goldenpath/internal/store"
	"github.com/goldenpathidp/goldenpath/internal/strictyaml"
)

// The trust rules of change requests, beside the checks on their content:
//   - four eyes: an approval counts only from someone who pushed none of the commits the change request
//     adds (the forge records the authenticated pusher of every commit; git's author fields are not
//     trusted), and never from its author;
//   - ownership: a contract on main belongs to its owner and team; a change to it (an update, a deletion,
//     a transfer to another owner or team) by anyone else needs their consent, an approval from the owner
//     or a member of the team; a new contract must name its author or one of the author's teams;
//   - a change request's branch is its author's: only they and admins push to it while it is open.

// principal reads a user's current roles and teams; a user who no longer exists holds none.
func (s *Service) principal(ctx context.Context, name string) (auth.Principal, error) {
	u, err := s.store.GetUser(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return auth.Principal{Name: name}, nil
	}
	if err != nil {
		return auth.Principal{}, err
	}
	return auth.Principal{Name: u.Name, Roles: u.Roles, Teams: u.Teams}, nil
}

// pushers maps everyone who pushed a commit that head adds to base to the first such commit.
func (s *Service) pushers(ctx context.Context, base, head string) (map[string]string, error) {
	shas, err := s.repo.Commits(ctx, base, head)
	if err != nil {
		return nil, err
	}
	by, err := s.store.Pushers(ctx, s.repo.Name(), shas)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for i := len(shas) - 1; i >= 0; i-- { // oldest first, so each pusher maps to their first commit
		if p, ok := by[shas[i]]; ok {
			if _, seen := out[p]; !seen {
				out[p] = shas[i]
			}
		}
	}
	return out, nil
}

// ownership is the check that everyone whose contracts the change touches agreed to it.
func (s *Service) ownership(ctx context.Context, c store.Change, ev *Evaluation, before, after state) (Check, error) {
	chk := Check{Name: "ownership", Passed: true, Summary: "the author may change everything touched"}
	if s.generic {
		return chk, nil
	}
	author, err := s.principal(ctx, c.Author)
	if err != nil {
		return chk, err
	}
	var consenting []auth.Principal
	for _, name := range ev.Approvers {
		p, err := s.principal(ctx, name)
		if err != nil {
			return chk, err
		}
		consenting = append(consenting, p)
	}
	consented := func(owner, team string) bool {
		if author.Owns(owner, team) {
			return true
		}
		for _, p := range consenting {
			if p.Owns(owner, team) {
				return true
			}
		}
		return false
	}
	var transfers []string
	for _, e := range ev.Plan {
		var old, cur *contract.Request
		if before.set != nil {
			old = before.set.Requests[e.RequestID]
		}
		if after.set != nil {
			cur = after.set.Requests[e.RequestID]
		}
		switch {
		case old != nil:
			if !consented(old.Metadata.Owner, old.Metadata.Team) {
				chk.Errors = append(chk.Errors, consentError(old, cur, e, c.Author))
			}
			if cur != nil && (cur.Metadata.Owner != old.Metadata.Owner || cur.Metadata.Team != old.Metadata.Team) {
				transfers = append(transfers, fmt.Sprintf("%s from %s (team %s) to %s (team %s)", e.RequestID,
					old.Metadata.Owner, old.Metadata.Team, cur.Metadata.Owner, cur.Metadata.Team))
			}
		case cur != nil && !author.Owns(cur.Metadata.Owner, cur.Metadata.Team):
			chk.Errors = append(chk.Errors, cur.Errorf("metadata.team",
				"%s may only request resources owned by themselves or a team they belong to (%s), not by %s of team %s",
				c.Author, teams(author), cur.Metadata.Owner, cur.Metadata.Team))
		}
	}
	owned, err := s.ownedFiles(ctx, ev.Files)
	if err != nil {
		return chk, err
	}
	for _, f := range owned {
		if !consented(f.owner, f.owner) {
			chk.Errors = append(chk.Errors, &strictyaml.FieldError{File: f.path,
				Rule: fmt.Sprintf("belongs to %s: a change by %s needs their consent, an approval from %s", f.owner, c.Author, f.owner)})
		}
	}
	if len(chk.Errors) > 0 {
		chk.Passed, chk.Summary = false, fmt.Sprintf("%d contract(s) or file(s) belong to someone else and need their consent", len(chk.Errors))
	} else if len(transfers) > 0 {
		chk.Summary = "ownership transfer with the current owners' consent (every credential is rotated): " + strings.Join(transfers, "; ")
	}
	return chk, nil
}

type ownedFile struct{ path, owner string }

// ownedFiles lists the files the change touches (both names of a renamed one) that PathOwner says belong
// to someone.
func (s *Service) ownedFiles(ctx context.Context, files []forge.FileDiff) ([]ownedFile, error) {
	if s.owner == nil {
		return nil, nil
	}
	var out []ownedFile
	for _, f := range files {
		for _, p := range []string{f.Path, f.OldPath} {
			if p == "" {
				continue
			}
			owner, ok, err := s.owner(ctx, p)
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, ownedFile{p, owner})
			}
		}
	}
	return out, nil
}

func consentError(old, cur *contract.Request, e plan.Entry, author string) *strictyaml.FieldError {
	what := "changing"
	switch {
	case e.Action == plan.Delete:
		what = "deleting"
	case cur != nil && (cur.Metadata.Owner != old.Metadata.Owner || cur.Metadata.Team != old.Metadata.Team):
		what = fmt.Sprintf("transferring it to %s of team %s", cur.Metadata.Owner, cur.Metadata.Team)
	}
	doc := old
	if cur != nil {
		doc = cur
	}
	return doc.Errorf("metadata.team", "%s belongs to %s of team %s: %s by %s needs their consent, an approval from %s or a member of team %s",
		e.RequestID, old.Metadata.Owner, old.Metadata.Team, what, author, old.Metadata.Owner, old.Metadata.Team)
}

func teams(p auth.Principal) string {
	if len(p.Teams) == 0 {
		return "none"
	}
	return strings.Join(p.Teams, ", ")
}

// countApprovals keeps the approvals that count on the current head: not the author's, not from anyone
// who pushed a commit of the change, one per reviewer. Approvals set aside are explained in ev.Ignored.
func (s *Service) countApprovals(ctx context.Context, c store.Change, ev *Evaluation, base string) error {
	reviews, err := s.store.Reviews(ctx, c.Number)
	if err != nil {
		return err
	}
	pushed, err := s.pushers(ctx, base, ev.HeadSHA)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, r := range reviews {
		if r.Verdict != store.VerdictApproved || r.HeadSHA != ev.HeadSHA || r.Reviewer == c.Author || seen[r.Reviewer] {
			continue
		}
		seen[r.Reviewer] = true
		if sha, ok := pushed[r.Reviewer]; ok {
			ev.Ignored = append(ev.Ignored, fmt.Sprintf("%s's approval does not count: they pushed commit %s of this change request", r.Reviewer, short(sha)))
			continue
		}
		ev.Approvers = append(ev.Approvers, r.Reviewer)
	}
	return nil
}

// GuardBranchPush refuses p's push to (or deletion of) a branch of repo that belongs to someone else's
// open change request: only its author and admins move it, so an approver cannot slip commits into a
// change they then approve, and nobody rewrites what a reviewer is looking at.
func GuardBranchPush(ctx context.Context, st store.Store, repo string, p auth.Principal, branch string) error {
	if p.Is(store.RoleAdmin) {
		return nil
	}
	open, err := st.ListChanges(ctx, store.ChangeFilter{Repo: repo, State: store.ChangeOpen})
	if err != nil {
		return err
	}
	sort.Slice(open, func(i, j int) bool { return open[i].Number < open[j].Number })
	for _, c := range open {
		if c.Branch == branch && c.Author != p.Name {
			return problem.New(problem.Forbidden, "branch %s belongs to open change request #%d by %s: only %s or an admin may push to it; push your own branch and open a change request for it",
				branch, c.Number, c.Author, c.Author)
		}
	}
	return nil
}

// linkRequests adds the requests the change touches now (commits pushed after it was opened may touch
// more) to its list, so each one's timeline shows it, with an event saying so.
func (s *Service) linkRequests(ctx context.Context, c store.Change, ev *Evaluation) error {
	known := map[string]bool{}
	for _, id := range c.RequestIDs {
		known[id] = true
	}
	var added []string
	for _, id := range ev.RequestIDs() {
		if !known[id] {
			known[id] = true
			added = append(added, id)
		}
	}
	if len(added) == 0 {
		return nil
	}
	linked := c
	linked.HeadSHA, linked.RequestIDs, linked.UpdatedAt = ev.HeadSHA, append(append([]string{}, c.RequestIDs...), added...), s.now().UTC()
	if err := s.store.UpdateChange(ctx, linked, store.ChangeOpen, ev.HeadSHA); errors.Is(err, store.ErrConflict) {
		return nil // it moved again or closed meanwhile; the next evaluation links what it touches then
	} else if err != nil {
		return err
	}
	for _, id := range added {
		_, err := s.store.UpdateRequest(ctx, id, func(rec *store.Request) ([]store.Event, error) {
			if rec.Phase == "" {
				return nil, errNoRecord // a request the change creates gets its record when it merges
			}
			return []store.Event{{Reason: "ChangeRequestTouches", Actor: c.Author,
				Message: fmt.Sprintf("change request #%d by %s now touches this request (commit %s)", c.Number, c.Author, short(ev.HeadSHA))}}, nil
		})
		if err != nil && !errors.Is(err, errNoRecord) {
			return err
		}
	}
	return nil
}

var errNoRecord = errors.New("no request record")
