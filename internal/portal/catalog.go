package portal

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/goldenpathidp/goldenpath/internal/catalog"
	"github.com/goldenpathidp/goldenpath/internal/problem"
	"github.com/goldenpathidp/goldenpath/internal/store"
)

// Catalog pages read at most catalogScan entities per view and show at most catalogShow of the matches.
// Filtering happens here until the catalog offers filtered queries; the limits keep a large catalog's page
// fast and say so on the page when they cut.
const (
	catalogScan = 5000
	catalogPage = 500
	catalogShow = 200
)

type catalogFilter struct {
	Kind, Owner, Tag, Lifecycle, Text string
}

type catalogData struct {
	Filter     catalogFilter
	Entities   []*catalog.Entity
	Matched    int
	Truncated  bool // more matches than shown
	ScanCut    bool // the catalog has more entities than were read
	Kinds      []string
	Owners     []string
	Tags       []string
	Lifecycles []string
}

func (s *Server) catalogList(w http.ResponseWriter, r *http.Request, v *visitor) error {
	q := r.URL.Query()
	f := catalogFilter{Kind: q.Get("kind"), Owner: q.Get("owner"), Tag: q.Get("tag"), Lifecycle: q.Get("lifecycle"),
		Text: strings.TrimSpace(q.Get("q"))}
	all, cut, err := s.scanCatalog(r.Context())
	if err != nil {
		return err
	}
	d := catalogData{Filter: f, ScanCut: cut}
	facets := map[string]map[string]bool{"kind": {}, "owner": {}, "tag": {}, "lifecycle": {}}
	for _, e := range all {
		facets["kind"][e.Kind] = true
		if o := specString(e, "owner"); o != "" {
			facets["owner"][o] = true
		}
		for _, t := range e.Metadata.Tags {
			facets["tag"][t] = true
		}
		if l := specString(e, "lifecycle"); l != "" {
			facets["lifecycle"][l] = true
		}
		if f.matches(e) {
			d.Matched++
			if len(d.Entities) < catalogShow {
				d.Entities = append(d.Entities, e)
			}
		}
	}
	d.Truncated = d.Matched > len(d.Entities)
	d.Kinds, d.Owners, d.Tags, d.Lifecycles = slices.Sorted(maps.Keys(facets["kind"])), slices.Sorted(maps.Keys(facets["owner"])), slices.Sorted(maps.Keys(facets["tag"])), slices.Sorted(maps.Keys(facets["lifecycle"]))
	s.render(w, r, http.StatusOK, "catalog", v, "Catalog", d)
	return nil
}

// scanCatalog reads up to catalogScan entities, page by page.
func (s *Server) scanCatalog(ctx context.Context) ([]*catalog.Entity, bool, error) {
	var all []*catalog.Entity
	after := ""
	for len(all) < catalogScan {
		page, err := s.o.Catalog.List(ctx, "", after, catalogPage)
		if err != nil {
			return nil, false, err
		}
		all = append(all, page...)
		if len(page) < catalogPage {
			return all, false, nil
		}
		after = page[len(page)-1].Ref().String()
	}
	return all, true, nil
}

func (f catalogFilter) matches(e *catalog.Entity) bool {
	if f.Kind != "" && !strings.EqualFold(e.Kind, f.Kind) {
		return false
	}
	if f.Owner != "" && !sameRef(specString(e, "owner"), f.Owner) {
		return false
	}
	if f.Tag != "" && !slices.Contains(e.Metadata.Tags, f.Tag) {
		return false
	}
	if f.Lifecycle != "" && !strings.EqualFold(specString(e, "lifecycle"), f.Lifecycle) {
		return false
	}
	if f.Text != "" {
		text := strings.ToLower(strings.Join([]string{e.Metadata.Name, e.Metadata.Title, e.Metadata.Description,
			strings.Join(e.Metadata.Tags, " "), specString(e, "type")}, " "))
		for _, word := range strings.Fields(strings.ToLower(f.Text)) {
			if !strings.Contains(text, word) {
				return false
			}
		}
	}
	return true
}

// sameRef compares owner refs written with or without their default kind and namespace.
func sameRef(a, b string) bool {
	ra, errA := catalog.ParseRef(a, "group", "default")
	rb, errB := catalog.ParseRef(b, "group", "default")
	if errA != nil || errB != nil {
		return strings.EqualFold(a, b)
	}
	return ra == rb
}

func specString(e *catalog.Entity, key string) string {
	s, _ := e.Spec[key].(string)
	return s
}

// entityURL is the portal page of an entity ref ("component:default/orders"; a bare name is a Component).
func entityURL(ref string) string {
	r, err := catalog.ParseRef(ref, "component", "default")
	if err != nil {
		return ""
	}
	return "/catalog/" + url.PathEscape(r.Kind) + "/" + url.PathEscape(r.Namespace) + "/" + url.PathEscape(r.Name)
}

// ownerURL is the portal page of an owner ref (a bare name is a Group).
func ownerURL(ref string) string {
	r, err := catalog.ParseRef(ref, "group", "default")
	if err != nil {
		return ""
	}
	return entityURL(r.String())
}

type relationGroup struct {
	Type    string
	Targets []string
}

type usedResource struct {
	ID      string
	Request *store.Request // nil when goldenpath has no such request
}

type entityData struct {
	E         *catalog.Entity
	Ref       string
	Owner     string
	Relations []relationGroup
	Links     []catalog.Link
	Resources []usedResource
	RequestID string // a Resource goldenpath made for a request
	Repo      string
	Spec      []kv
}

type kv struct{ Key, Value string }

func (s *Server) entityPage(w http.ResponseWriter, r *http.Request, v *visitor) error {
	ref, err := catalog.ParseRef(r.PathValue("kind")+":"+r.PathValue("namespace")+"/"+r.PathValue("name"), "", "")
	if err != nil {
		return problem.New(problem.NotFound, "there is no entity %s/%s/%s: %v", r.PathValue("kind"), r.PathValue("namespace"), r.PathValue("name"), err)
	}
	e, err := s.o.Catalog.Get(r.Context(), ref)
	if errors.Is(err, catalog.ErrNotFound) {
		return problem.New(problem.NotFound, "the catalog has no entity %s", ref)
	}
	if err != nil {
		return err
	}
	d := entityData{E: e, Ref: ref.String(), Owner: specString(e, "owner"), Relations: groupRelations(e.Relations),
		RequestID: e.Metadata.Annotations["goldenpath.io/request-id"], Repo: e.Metadata.Annotations["goldenpath.io/repository"]}
	for _, l := range e.Metadata.Links {
		if isWebURL(l.URL) {
			d.Links = append(d.Links, l)
		}
	}
	for _, k := range []string{"type", "lifecycle", "system", "domain"} {
		if s := specString(e, k); s != "" {
			d.Spec = append(d.Spec, kv{k, s})
		}
	}
	if d.Resources, err = s.usedResources(r.Context(), e); err != nil {
		return err
	}
	title := e.Metadata.Title
	if title == "" {
		title = e.Metadata.Name
	}
	s.render(w, r, http.StatusOK, "entity", v, title+" — "+e.Kind, d)
	return nil
}

func groupRelations(rels []catalog.Relation) []relationGroup {
	var out []relationGroup
	for _, rel := range rels {
		if n := len(out); n > 0 && out[n-1].Type == rel.Type {
			out[n-1].Targets = append(out[n-1].Targets, rel.TargetRef)
			continue
		}
		out = append(out, relationGroup{Type: rel.Type, Targets: []string{rel.TargetRef}})
	}
	return out
}

// usedResources finds the requests an entity uses: the Resources it depends on that goldenpath provisions,
// and the requests named after it (the golden-path templates name a service's registry and database after
// the service).
func (s *Server) usedResources(ctx context.Context, e *catalog.Entity) ([]usedResource, error) {
	if e.Kind != "Component" && e.Kind != "System" {
		return nil, nil
	}
	ids := map[string]bool{}
	for _, rel := range e.Relations {
		if rel.Type != "dependsOn" {
			continue
		}
		target, err := catalog.ParseRef(rel.TargetRef, "", "")
		if err != nil || target.Kind != "resource" {
			continue
		}
		dep, err := s.o.Catalog.Get(ctx, target)
		if err == nil && dep.Metadata.Annotations["goldenpath.io/request-id"] != "" {
			ids[dep.Metadata.Annotations["goldenpath.io/request-id"]] = true
		}
	}
	all, err := s.o.Store.ListRequests(ctx, store.RequestFilter{Active: true})
	if err != nil {
		return nil, err
	}
	byID := map[string]*store.Request{}
	for i := range all {
		byID[all[i].ID] = &all[i]
		if strings.EqualFold(all[i].Name, e.Metadata.Name) {
			ids[all[i].ID] = true
		}
	}
	out := make([]usedResource, 0, len(ids))
	for _, id := range slices.Sorted(maps.Keys(ids)) {
		out = append(out, usedResource{ID: id, Request: byID[id]})
	}
	return out, nil
}

// isWebURL accepts only http(s) links, so an entity's links cannot run script in the portal.
func isWebURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
