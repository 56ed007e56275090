package portal

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/goldenpathidp/goldenpath/internal/change"
	"github.com/goldenpathidp/goldenpath/internal/problem"
	"github.com/goldenpathidp/goldenpath/internal/store"
)

var changeStates = []string{store.ChangeOpen, store.ChangeMerged, store.ChangeRejected, store.ChangeClosed}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func (s *Server) changeList(w http.ResponseWriter, r *http.Request, v *visitor) error {
	q := r.URL.Query()
	state := q.Get("state")
	if !q.Has("state") {
		state = store.ChangeOpen
	}
	if state != "" && !slices.Contains(changeStates, state) {
		return problem.Field("state", "must be open, merged, rejected or closed, got %q", state)
	}
	list, err := s.o.Store.ListChanges(r.Context(), store.ChangeFilter{State: state, Author: q.Get("author"), Limit: 200})
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "changes", v, "Change requests", map[string]any{"State": state, "Author": q.Get("author"),
		"States": changeStates, "Changes": list})
	return nil
}

type changeData struct {
	V           *change.View
	Problem     *problem.Error
	CanApprove  bool
	CanReject   bool
	CanMerge    bool
	CanClose    bool
	Approved    bool // the visitor approved the current head
	DiffMissing bool
}

func isNotFound(err error) bool {
	var p *problem.Error
	return errors.As(err, &p) && p.Code == problem.NotFound
}

func changeNumber(r *http.Request) (int64, error) {
	raw := strings.TrimPrefix(r.PathValue("number"), "#")
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n <= 0 {
		return 0, problem.New(problem.NotFound, "there is no change request %q: it must be a positive number", raw)
	}
	return n, nil
}

func (s *Server) changePage(w http.ResponseWriter, r *http.Request, v *visitor) error {
	n, err := changeNumber(r)
	if err != nil {
		return err
	}
	return s.showChange(w, r, v, n, http.StatusOK, nil)
}

// showChange renders a change request, with the problem an action ran into, if any.
func (s *Server) showChange(w http.ResponseWriter, r *http.Request, v *visitor, n int64, status int, p *problem.Error) error {
	view, err := s.o.Changes.View(r.Context(), n, true)
	diffMissing := false
	if err != nil && !isNotFound(err) {
		// Without its patches the page is still worth showing: the files, checks and reviews.
		s.log.Warn("reading a change request's diff", "change", n, "err", err)
		view, err = s.o.Changes.View(r.Context(), n, false)
		diffMissing = true
	}
	if err != nil {
		return err
	}
	open := view.State == store.ChangeOpen
	author := view.Author == v.p.Name
	d := changeData{V: view, Problem: p, DiffMissing: diffMissing,
		CanApprove: open && !author && v.p.Is(store.RoleApprover),
		CanReject:  open && !author && v.p.Is(store.RoleApprover),
		CanMerge:   open && (author || v.p.Is(store.RoleApprover)),
		CanClose:   open && (author || v.p.Is(store.RoleAdmin))}
	for _, rev := range view.Reviews {
		if rev.Reviewer == v.p.Name && rev.Verdict == store.VerdictApproved && view.Evaluation != nil && rev.HeadSHA == view.Evaluation.HeadSHA {
			d.Approved, d.CanApprove = true, false
		}
	}
	s.render(w, r, status, "change", v, "#"+itoa(n)+" "+view.Title, d)
	return nil
}

// changeAction approves, rejects, merges, closes or comments. A refusal (not an approver, merge blocked)
// is shown on the change request's page with the reasons, with the problem's status.
func (s *Server) changeAction(w http.ResponseWriter, r *http.Request, v *visitor) error {
	n, err := changeNumber(r)
	if err != nil {
		return err
	}
	ctx, text := r.Context(), strings.TrimSpace(r.PostFormValue("text"))
	var flash string
	switch r.PathValue("verb") {
	case "approve":
		_, err = s.o.Changes.Approve(ctx, v.p, n, text)
		flash = "Approved."
	case "reject":
		_, err = s.o.Changes.Reject(ctx, v.p, n, text)
		flash = "Rejected."
	case "close":
		_, err = s.o.Changes.Close(ctx, v.p, n, text)
		flash = "Closed."
	case "merge":
		_, err = s.o.Changes.Merge(ctx, v.p, n)
		flash = "Merged: the reconciler is provisioning what it asked for."
	case "comment":
		_, err = s.o.Changes.Comment(ctx, v.p, n, text)
		flash = "Comment added."
	default:
		return problem.New(problem.NotFound, "there is no action %q on change requests", r.PathValue("verb"))
	}
	if err != nil {
		var p *problem.Error
		if errors.As(err, &p) && p.Code != problem.Internal && p.Code != problem.NotFound {
			return s.showChange(w, r, v, n, p.Code.Status(), p)
		}
		return err
	}
	return redirect(w, r, v, "/changes/"+itoa(n), flash)
}
