package portal

import (
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"

	"github.com/goldenpathidp/goldenpath/internal/contract"
	"github.com/goldenpathidp/goldenpath/internal/problem"
	"github.com/goldenpathidp/goldenpath/internal/store"
)

type requestFilter struct {
	Kind, Environment, Phase, Scope string
	All                             bool
}

func (s *Server) requestList(w http.ResponseWriter, r *http.Request, v *visitor) error {
	q := r.URL.Query()
	f := requestFilter{Kind: q.Get("kind"), Environment: q.Get("environment"), Phase: q.Get("phase"), Scope: q.Get("scope"),
		All: q.Get("all") == "true"}
	sf := store.RequestFilter{Environment: f.Environment, Phase: f.Phase, Active: !f.All}
	if f.Kind != "" {
		info, err := contract.LookupKind(f.Kind)
		if err != nil {
			return problem.Field("kind", "%v", err)
		}
		sf.Kind = string(info.Kind)
	}
	list, err := s.o.Store.ListRequests(r.Context(), sf)
	if err != nil {
		return err
	}
	if f.Scope == "mine" {
		mine := list[:0]
		for _, rec := range list {
			if rec.Owner == v.p.Name || slices.Contains(v.p.Teams, rec.Team) {
				mine = append(mine, rec)
			}
		}
		list = mine
	}
	kinds := make([]string, 0)
	for _, k := range contract.Kinds() {
		kinds = append(kinds, string(k.Kind))
	}
	phases := []string{store.PhasePending, store.PhaseProvisioning, store.PhaseReady, store.PhaseFailed, store.PhaseDeleting,
		store.PhaseDeleted, store.PhaseRejected}
	s.render(w, r, http.StatusOK, "requests", v, "Requests", map[string]any{"Filter": f, "Requests": list, "Kinds": kinds, "Phases": phases})
	return nil
}

type requestData struct {
	R         store.Request
	Events    []store.Event
	Changes   []store.Change
	Owns      bool
	CanDelete bool
	Kind      string
}

func (s *Server) lookupRequest(r *http.Request) (store.Request, error) {
	id := r.PathValue("id")
	if _, _, _, err := contract.ParseID(id); err != nil {
		return store.Request{}, problem.New(problem.NotFound, "there is no request %q: %v", id, err)
	}
	rec, err := s.o.Store.GetRequest(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return rec, problem.New(problem.NotFound, "request %s does not exist", id)
	}
	return rec, err
}

func (s *Server) requestPage(w http.ResponseWriter, r *http.Request, v *visitor) error {
	rec, err := s.lookupRequest(r)
	if err != nil {
		return err
	}
	d := requestData{R: rec, Owns: v.p.Owns(rec.Owner, rec.Team)}
	if info, ok := contract.Kind(rec.Kind).Info(); ok {
		d.Kind = info.Title
	}
	if d.Events, err = s.o.Store.Events(r.Context(), rec.ID, 500); err != nil {
		return err
	}
	if d.Changes, err = s.o.Store.ListChanges(r.Context(), store.ChangeFilter{RequestID: rec.ID}); err != nil {
		return err
	}
	d.CanDelete = d.Owns && s.o.Requests != nil && v.p.Is(store.RoleDeveloper) &&
		(rec.Phase == store.PhaseReady || rec.Phase == store.PhaseFailed || rec.Phase == store.PhaseProvisioning)
	s.render(w, r, http.StatusOK, "request", v, "Request "+rec.ID, d)
	return nil
}

// credentialsPage shows a request's outputs and secret outputs to its owner, its team and admins, the same
// rule as the API's credentials endpoint; every view is audited.
func (s *Server) credentialsPage(w http.ResponseWriter, r *http.Request, v *visitor) error {
	rec, err := s.lookupRequest(r)
	if err != nil {
		return err
	}
	if !v.p.Owns(rec.Owner, rec.Team) {
		return problem.New(problem.Forbidden, "only the owner (%s), members of team %s and admins can read the credentials of %s", rec.Owner, rec.Team, rec.ID)
	}
	secrets := map[string]string{}
	if s.o.Credentials != nil {
		if secrets, err = s.o.Credentials.Secrets(r.Context(), rec); err != nil {
			return err
		}
	}
	_ = s.o.Store.Audit(r.Context(), store.AuditEntry{Time: s.o.now().UTC(), Actor: v.p.Name, Action: "request.credentials", Target: rec.ID, Detail: "portal"})
	s.render(w, r, http.StatusOK, "credentials", v, "Credentials of "+rec.ID, map[string]any{
		"R": rec, "Outputs": sortedPairs(rec.Outputs), "Secrets": sortedPairs(secrets),
	})
	return nil
}

func sortedPairs(m map[string]string) []kv {
	out := make([]kv, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(boolKeys(m))) {
		out = append(out, kv{k, m[k]})
	}
	return out
}

func boolKeys(m map[string]string) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

// requestDelete proposes deleting a request; the change request it opens needs an approver like any other.
func (s *Server) requestDelete(w http.ResponseWriter, r *http.Request, v *visitor) error {
	if s.o.Requests == nil {
		return problem.New(problem.Unavailable, "deleting requests is not available in this portal; use `goldenpath request delete`")
	}
	rec, err := s.lookupRequest(r)
	if err != nil {
		return err
	}
	filed, err := s.o.Requests.Delete(r.Context(), v.p, contract.ID(rec.ID))
	if err != nil {
		return err
	}
	return redirect(w, r, v, "/changes/"+url.PathEscape(itoa(filed.Change.Number)),
		"Deletion proposed: an approver must approve and merge this change request.")
}
