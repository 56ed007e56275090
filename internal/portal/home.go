package portal

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/goldenpathidp/goldenpath/internal/auth"
	"github.com/goldenpathidp/goldenpath/internal/catalog"
	"github.com/goldenpathidp/goldenpath/internal/store"
)

// homeLimit bounds each list on the home page; the sections link to the full lists.
const homeLimit = 20

type homeData struct {
	Components []*catalog.Entity
	Requests   []store.Request
	Tasks      []taskRow
	Waiting    []store.Change
	Mine       []store.Change
}

func (s *Server) home(w http.ResponseWriter, r *http.Request, v *visitor) error {
	ctx := r.Context()
	var d homeData
	var err error
	if d.Components, err = s.ownedEntities(ctx, v.p); err != nil {
		return err
	}
	if d.Requests, err = s.myRequests(ctx, v.p); err != nil {
		return err
	}
	tasks, _, err := s.o.Tasks.ListTasks(ctx, taskUser(v), store.TaskFilter{CreatedBy: userRef(v.p.Name), Limit: 10})
	if err != nil {
		return err
	}
	d.Tasks = taskRows(tasks)
	open, err := s.o.Store.ListChanges(ctx, store.ChangeFilter{State: store.ChangeOpen, Limit: 200})
	if err != nil {
		return err
	}
	for _, c := range open {
		switch {
		case c.Author == v.p.Name:
			d.Mine = append(d.Mine, c)
		case v.p.Is(store.RoleApprover):
			d.Waiting = append(d.Waiting, c)
		}
	}
	s.render(w, r, http.StatusOK, "home", v, "Home", d)
	return nil
}

func userRef(name string) string { return "user:default/" + name }

// ownedEntities lists catalog entities owned by the user or one of their teams (Users and Groups left out:
// they are people, not things one owns).
func (s *Server) ownedEntities(ctx context.Context, p auth.Principal) ([]*catalog.Entity, error) {
	owners := []catalog.Ref{{Kind: "user", Namespace: "default", Name: p.Name}}
	for _, t := range p.Teams {
		owners = append(owners, catalog.Ref{Kind: "group", Namespace: "default", Name: t})
	}
	var out []*catalog.Entity
	for _, o := range owners {
		list, err := s.o.Catalog.ListByOwner(ctx, o, "", 200)
		if err != nil {
			return nil, err
		}
		for _, e := range list {
			if e.Kind != "User" && e.Kind != "Group" && e.Kind != "Template" {
				out = append(out, e)
			}
		}
	}
	slices.SortFunc(out, func(a, b *catalog.Entity) int {
		if a.Kind != b.Kind {
			return kindOrder(a.Kind) - kindOrder(b.Kind)
		}
		return strings.Compare(a.Metadata.Name, b.Metadata.Name)
	})
	return out, nil
}

// kindOrder puts what developers build before what they use.
func kindOrder(kind string) int {
	for i, k := range []string{"System", "Component", "API", "Resource"} {
		if strings.EqualFold(k, kind) {
			return i
		}
	}
	return 10
}

// myRequests lists the active requests the user owns, directly or through a team.
func (s *Server) myRequests(ctx context.Context, p auth.Principal) ([]store.Request, error) {
	all, err := s.o.Store.ListRequests(ctx, store.RequestFilter{Active: true})
	if err != nil {
		return nil, err
	}
	var out []store.Request
	for _, r := range all {
		if r.Owner == p.Name || slices.Contains(p.Teams, r.Team) {
			out = append(out, r)
		}
	}
	return out, nil
}
