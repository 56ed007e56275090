package catalog

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// TestAPICursorPagingUnderWrites pages through queries while entities are inserted, deleted and updated
// between page fetches. A consistent reader must see every entity that exists throughout exactly once,
// and nothing that never matched.
func TestAPICursorPagingUnderWrites(t *testing.T) {
	for _, tt := range []struct {
		name  string
		first func(a *api) string // the first page's request
		owner string              // only this owner's components match; "" for all
		back  bool                // page forward to the end, then back with the previous cursors
	}{
		{name: "by id", first: byQuery("filter=kind=component")},
		{name: "by name", first: byQuery("filter=kind=component", "orderField=metadata.name,asc")},
		{name: "by name descending", first: byQuery("filter=kind=component", "orderField=metadata.name,desc")},
		{name: "by name, every kind", first: byQuery("orderField=metadata.name,asc")},
		{name: "by type, sorted in memory", first: byQuery("filter=kind=component", "orderField=spec.type,asc")},
		{name: "an owner's, from the relations index", owner: "team-1",
			first: byQuery("filter=kind=component,relations.ownedBy=group:default/team-1", "orderField=metadata.name,asc")},
		{name: "an owner's by id", owner: "team-1", first: byQuery("filter=relations.ownedBy=group:default/team-1")},
		{name: "/entities of an owner", owner: "team-1", first: func(*api) string {
			return "/api/catalog/entities?filter=relations.ownedBy=group:default/team-1&limit=7"
		}},
		{name: "full text", first: byQuery("filter=kind=component", "fullTextFilterTerm=C-", "fullTextFilterFields=metadata.name")},
		{name: "backwards by name", back: true, first: byQuery("filter=kind=component", "orderField=metadata.name,asc")},
		{name: "backwards in memory", back: true, first: byQuery("filter=kind=component", "orderField=spec.type,desc")},
		{name: "/entities with Link headers", first: func(*api) string { return "/api/catalog/entities?filter=kind=component&limit=7" }},
		{name: "/entities by name with Link headers", first: func(*api) string {
			return "/api/catalog/entities?filter=kind=component&limit=7&order=desc:metadata.name"
		}},
	} {
		for _, plan := range []struct {
			name  string
			small int
		}{{"walking an index", 0}, {"reading candidates", smallCandidates}} {
			t.Run(tt.name+"/"+plan.name, func(t *testing.T) {
				a := newAPI(t, Options{})
				a.c.smallCandidates = plan.small
				pageThrough(t, a, tt.first(a), tt.owner, tt.back)
			})
		}
	}
}

func pageThrough(t *testing.T, a *api, first, owner string, back bool) {
	t.Helper()
	w := newWriter(t, a, owner)
	if back {
		pageBackward(t, a, w, first)
		return
	}
	seen := map[string]int{}
	path := first
	for page := 0; path != ""; page++ {
		if page > 100 {
			t.Fatal("paging does not end")
		}
		items, next, _ := a.pageOf(path)
		for _, n := range items {
			seen[n]++
		}
		path = next
		w.churn()
	}
	w.check(seen)
}

// pageBackward goes to the last page without writes, then back to the first with the previous cursors
// while the catalog changes: every entity before the last page that exists throughout is seen once.
func pageBackward(t *testing.T, a *api, w *writer, first string) {
	var last []string
	var cursor string
	for path := first; path != ""; {
		items, next, prev := a.pageOf(path)
		last, cursor, path = items, prev, next
	}
	if cursor == "" {
		t.Fatal("the last page has no previous cursor")
	}
	w.reset()
	seen := map[string]int{}
	for page := 0; cursor != ""; page++ {
		if page > 100 {
			t.Fatal("paging back does not end")
		}
		items, _, prev := a.pageOf("/api/catalog/entities/by-query?limit=7&cursor=" + url.QueryEscape(cursor))
		for _, n := range items {
			seen[n]++
		}
		cursor = prev
		w.churn()
	}
	for n, times := range seen {
		if times > 1 {
			t.Errorf("%s seen %d times going back", n, times)
		}
		if slices.Contains(last, n) {
			t.Errorf("%s of the last page seen again going back", n)
		}
	}
	required := 0
	for n := range w.initial {
		if !w.deleted[n] && !slices.Contains(last, n) {
			required++
			if seen[n] == 0 {
				t.Errorf("%s existed throughout but was skipped going back", n)
			}
		}
	}
	if required < 20 {
		t.Errorf("only %d entities had to be seen going back; the test needs more", required)
	}
}

func byQuery(params ...string) func(*api) string {
	return func(*api) string { return "/api/catalog/entities/by-query?limit=7&" + strings.Join(params, "&") }
}

// pageOf fetches a page of /entities/by-query or /entities and returns its names and the next and
// previous requests (or cursors).
func (a *api) pageOf(path string) (names []string, next, prev string) {
	a.t.Helper()
	if strings.HasPrefix(path, "/api/catalog/entities?") {
		var list []wire
		r := a.get(path, &list)
		if link := r.header.Get("Link"); link != "" {
			next = strings.TrimPrefix(strings.TrimSuffix(link, `>; rel="next"`), "<")
		}
		return wireNames(list), next, ""
	}
	var p queryPage
	a.get(path, &p)
	if p.PageInfo.NextCursor != "" {
		next = "/api/catalog/entities/by-query?limit=7&cursor=" + url.QueryEscape(p.PageInfo.NextCursor)
	}
	return wireNames(p.Items), next, p.PageInfo.PrevCursor
}

// writer changes the catalog between pages and remembers what existed throughout.
type writer struct {
	t       *testing.T
	a       *api
	owner   string
	rng     *rand.Rand
	initial map[string]bool // matching entities present at the start of the pass
	deleted map[string]bool
	added   map[string]bool
	n       int
}

func newWriter(t *testing.T, a *api, owner string) *writer {
	w := &writer{t: t, a: a, owner: owner, rng: rand.New(rand.NewPCG(7, 9))}
	var batch []*Entity
	for i := range 60 {
		batch = append(batch, w.entity(fmt.Sprintf("c-%03d", i*10), i))
	}
	if err := a.c.Upsert(context.Background(), "test:paging", batch); err != nil {
		t.Fatal(err)
	}
	w.reset()
	return w
}

func (w *writer) entity(name string, i int) *Entity {
	return comp(name, []string{"service", "website", "library"}[i%3], fmt.Sprintf("team-%d", i%2), "")
}

// reset starts a pass: what matches now is what must be seen, unless it is deleted meanwhile.
func (w *writer) reset() {
	w.initial, w.deleted, w.added = map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, n := range w.present() {
		w.initial[n] = true
	}
}

// present lists the matching entities now.
func (w *writer) present() []string {
	f := Where("kind", "component")
	if w.owner != "" {
		f = AllOf(f, Where("relations.ownedby", "group:default/"+w.owner))
	}
	var out []string
	if err := w.a.c.scan(context.Background(), f, true, func(c *candidate) { out = append(out, c.name) }); err != nil {
		w.t.Fatal(err)
	}
	return out
}

// churn deletes two entities, adds two between existing names, and retags (not reorders) one.
func (w *writer) churn() {
	ctx := context.Background()
	all, err := w.a.c.List(ctx, "component", "", 1000)
	if err != nil {
		w.t.Fatal(err)
	}
	for range 2 {
		if len(all) == 0 {
			break
		}
		i := w.rng.IntN(len(all))
		if err := w.a.c.Delete(ctx, all[i].Ref()); err != nil {
			w.t.Fatal(err)
		}
		w.deleted[all[i].Metadata.Name] = true
		all = slices.Delete(all, i, i+1)
	}
	var batch []*Entity
	for range 2 {
		w.n++
		name := fmt.Sprintf("c-%03d", w.rng.IntN(600)) + fmt.Sprintf("-new%d", w.n)
		batch = append(batch, w.entity(name, w.rng.IntN(6)))
		w.added[name] = true
	}
	if len(all) > 0 {
		e := all[w.rng.IntN(len(all))]
		e.Metadata.Tags = append(e.Metadata.Tags, fmt.Sprintf("t%d", w.n))
		e.Metadata.UID, e.Metadata.Etag, e.Relations = "", "", nil
		delete(e.Metadata.Annotations, AnnotationManagedByLocation)
		delete(e.Metadata.Annotations, AnnotationManagedByOriginLocation)
		batch = append(batch, e)
	}
	if err := w.a.c.Upsert(ctx, "test:paging", batch); err != nil {
		w.t.Fatal(err)
	}
}

// check asserts a pass saw every entity present throughout once, and only entities that matched.
func (w *writer) check(seen map[string]int) {
	w.t.Helper()
	for n, times := range seen {
		if times > 1 {
			w.t.Errorf("%s seen %d times", n, times)
		}
		if !w.initial[n] && !w.added[n] {
			w.t.Errorf("%s seen but it never matched", n)
		}
	}
	missing := 0
	for n := range w.initial {
		if !w.deleted[n] && seen[n] == 0 {
			w.t.Errorf("%s existed throughout but was skipped", n)
			missing++
		}
	}
	stable := 0
	for n := range w.initial {
		if !w.deleted[n] {
			stable++
		}
	}
	if stable < 20 {
		w.t.Errorf("only %d entities existed throughout; the test needs more to mean anything", stable)
	}
}
