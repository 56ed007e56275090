package catalog

// The request shapes Backstage's catalog client (@backstage/catalog-client) sends that goldenpath's own
// clients do not: predicate bodies with orderBy, offset and totalItems; POST /entity-facets; by-refs with a
// query; POST /locations/by-query; PUT /locations/{id}; dry runs that would not register cleanly and
// onConflict. test/e2e's TestBackstageCatalogClient drives them with the real client.

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestAPIPredicateQueryOrderOffsetTotal(t *testing.T) {
	a := newAPI(t, Options{})
	a.seed()
	query := rawJSON(`{"kind": "component", "spec.type": {"$in": ["service", "website"]}}`)
	var page queryPage
	r := a.call("POST", "/api/catalog/entities/by-query", map[string]any{"query": query, "limit": 2, "offset": 1,
		"orderBy": []map[string]string{{"field": "metadata.name", "order": "desc"}}, "fields": []string{"metadata.name"}})
	wantStatus(t, "predicate query with orderBy and offset", r, http.StatusOK)
	r.json(t, &page)
	// service or website: search, orders, Ledger (Service), frontend, docs-site, billing; by name descending.
	if got := wireNames(page.Items); !slices.Equal(got, []string{"orders", "Ledger"}) || page.TotalItems != 6 {
		t.Errorf("page = %v (total %d), want orders, Ledger of 6", got, page.TotalItems)
	}
	var rest queryPage
	a.call("GET", "/api/catalog/entities/by-query?limit=10&cursor="+page.PageInfo.NextCursor, nil).json(t, &rest)
	if got := wireNames(rest.Items); !slices.Equal(got, []string{"frontend", "docs-site", "billing"}) || rest.TotalItems != 6 {
		t.Errorf("next page = %v (total %d), want frontend, docs-site, billing", got, rest.TotalItems)
	}

	// totalItems: exclude skips the count (0, as in Backstage), include is the default.
	for _, tt := range []struct {
		mode string
		want int
	}{{"exclude", 0}, {"include", 6}} {
		var p queryPage
		r := a.call("POST", "/api/catalog/entities/by-query", map[string]any{"query": query, "totalItems": tt.mode})
		wantStatus(t, "totalItems "+tt.mode, r, http.StatusOK)
		r.json(t, &p)
		if len(p.Items) != 6 || p.TotalItems != tt.want {
			t.Errorf("totalItems %s: %d items, total %d; want 6 items, total %d", tt.mode, len(p.Items), p.TotalItems, tt.want)
		}
		a.get("/api/catalog/entities/by-query?filter=kind=component&totalItems="+tt.mode, &p)
		if want := map[string]int{"exclude": 0, "include": 7}[tt.mode]; p.TotalItems != want {
			t.Errorf("GET totalItems=%s: total %d, want %d", tt.mode, p.TotalItems, want)
		}
	}

	for _, bad := range []struct{ body, msg string }{
		{`{"query": {"kind": "component"}, "orderBy": [{"field": "metadata.name", "order": "up"}]}`, "orderBy[0].order: must be asc or desc"},
		{`{"orderBy": [{"field": " ", "order": "asc"}]}`, "orderBy[0].field"},
		{`{"orderBy": [{"field": "metadata.name", "order": "asc"}], "orderField": ["metadata.name,asc"]}`, "give one of them"},
		{`{"totalItems": "some"}`, "totalItems: \"some\": expected include or exclude"},
		{`{"offset": -2}`, "offset: must not be negative"},
	} {
		wantError(t, a.call("POST", "/api/catalog/entities/by-query", rawJSON(bad.body)), http.StatusBadRequest, "InputError", bad.msg)
	}
	wantError(t, a.call("GET", "/api/catalog/entities/by-query?totalItems=all", nil), http.StatusBadRequest, "InputError", "totalItems")
}

func TestAPIFacetsByPredicate(t *testing.T) {
	a := newAPI(t, Options{})
	a.seed()
	var got struct {
		Facets map[string][]FacetCount `json:"facets"`
	}
	r := a.call("POST", "/api/catalog/entity-facets", map[string]any{"facets": []string{"spec.type", ""},
		"query": rawJSON(`{"$all": [{"kind": "component"}, {"$not": {"spec.owner": "team-b"}}]}`)})
	wantStatus(t, "POST /entity-facets", r, http.StatusOK)
	r.json(t, &got)
	want := []FacetCount{{"Service", 1}, {"library", 1}, {"service", 2}}
	if len(got.Facets) != 1 || !slices.Equal(got.Facets["spec.type"], want) {
		t.Errorf("facets = %v, want only spec.type: %v", got.Facets, want)
	}
	r = a.call("POST", "/api/catalog/entity-facets", map[string]any{"facets": []string{"kind"}})
	wantStatus(t, "POST /entity-facets without a query", r, http.StatusOK)
	r.json(t, &got)
	if !slices.Equal(got.Facets["kind"], []FacetCount{{"API", 2}, {"Component", 7}, {"Group", 2}, {"System", 1}}) {
		t.Errorf("kinds = %v", got.Facets["kind"])
	}
	for _, bad := range []struct{ body, msg string }{
		{`{"facets": []}`, "facets: at least one facet is required"},
		{`{"facets": [""]}`, "facets: at least one facet is required"},
		{`{"facets": ["kind"], "query": {"kind": {"$like": "x"}}}`, "unknown operator $like"},
		{`{"facet": ["kind"]}`, "unknown field"},
	} {
		wantError(t, a.call("POST", "/api/catalog/entity-facets", rawJSON(bad.body)), http.StatusBadRequest, "InputError", bad.msg)
	}
}

func TestAPIByRefsWithQuery(t *testing.T) {
	a := newAPI(t, Options{})
	a.seed()
	var batch struct {
		Items []*wire `json:"items"`
	}
	refs := []string{"component:orders", "component:search", "component:frontend", "api:orders-api"}
	r := a.call("POST", "/api/catalog/entities/by-refs?filter=kind=component", map[string]any{"entityRefs": refs,
		"query": rawJSON(`{"metadata.tags": {"$contains": "java"}}`), "fields": []string{"metadata.name"}})
	wantStatus(t, "by-refs with a query", r, http.StatusOK)
	r.json(t, &batch)
	var got []string
	for _, e := range batch.Items {
		if e == nil {
			got = append(got, "-")
		} else {
			got = append(got, e.name())
		}
	}
	if !slices.Equal(got, []string{"orders", "search", "-", "-"}) {
		t.Errorf("by-refs = %v, want orders, search and nothing for frontend (no java) and orders-api (not a component)", got)
	}
	wantError(t, a.call("POST", "/api/catalog/entities/by-refs", rawJSON(`{"entityRefs": [], "query": ["kind"]}`)), http.StatusBadRequest, "InputError", "must be an object")
}

func TestAPIQueryLocations(t *testing.T) {
	a := newAPI(t, Options{})
	for _, p := range []string{"/teams/team-a/a.yaml", "/teams/team-a/b.yaml", "/teams/team-b/c.yaml"} {
		a.files.set(p, component(strings.TrimSuffix(p[len(p)-6:], ".yaml"), "team-a"))
		tok := a.dev
		if strings.Contains(p, "team-b") {
			tok = a.other
		}
		wantStatus(t, "registering "+p, a.register(p, tok), http.StatusCreated)
	}
	type page struct {
		Items      []Location `json:"items"`
		TotalItems int        `json:"totalItems"`
		PageInfo   struct {
			NextCursor string `json:"nextCursor"`
		} `json:"pageInfo"`
	}
	targets := func(p page) []string {
		var out []string
		for _, l := range p.Items {
			out = append(out, strings.TrimPrefix(l.Target, a.files.url("")))
		}
		return out
	}
	query := func(body any) page {
		t.Helper()
		var p page
		r := a.call("POST", "/api/catalog/locations/by-query", body)
		wantStatus(t, "POST /locations/by-query", r, http.StatusOK)
		r.json(t, &p)
		return p
	}
	idB := a.locationID("/teams/team-a/b.yaml")
	for _, tt := range []struct {
		name  string
		query string
		want  []string
	}{
		{"a prefix, in any case", `{"target": {"$hasPrefix": "` + strings.ToUpper(a.files.url("/teams/team-a/")) + `"}}`, []string{"/teams/team-a/a.yaml", "/teams/team-a/b.yaml"}},
		{"equality ignores case", `{"TYPE": "URL", "target": "` + strings.ToUpper(a.files.url("/teams/team-b/c.yaml")) + `"}`, []string{"/teams/team-b/c.yaml"}},
		{"ids in $in are exact", `{"id": {"$in": ["` + strings.ToUpper(idB) + `", "` + idB + `"]}}`, []string{"/teams/team-a/b.yaml"}},
		{"$not and $any", `{"$not": {"$any": [{"target": "` + a.files.url("/teams/team-a/a.yaml") + `"}, {"type": "file"}]}}`, []string{"/teams/team-a/b.yaml", "/teams/team-b/c.yaml"}},
		{"no entityRef", `{"entityRef": {"$exists": true}}`, nil},
		{"$contains on a field that is not an array", `{"target": {"$contains": "a"}}`, nil},
		{"an empty $all", `{"$all": []}`, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := query(map[string]any{"query": rawJSON(tt.query)})
			if got := targets(p); !sameSet(got, tt.want) || p.TotalItems != len(tt.want) || p.PageInfo.NextCursor != "" {
				t.Errorf("query %s = %v (total %d), want %v", tt.query, got, p.TotalItems, tt.want)
			}
		})
	}

	// Pages by id, with the query in the cursor; no body means every location.
	all := query(nil)
	if all.TotalItems != 3 || len(all.Items) != 3 || !slices.IsSortedFunc(all.Items, func(x, y Location) int { return strings.Compare(x.ID, y.ID) }) {
		t.Fatalf("every location = %+v, want 3 by id", all)
	}
	first := query(map[string]any{"limit": 2})
	second := query(map[string]any{"cursor": first.PageInfo.NextCursor})
	if got := append(slices.Clone(first.Items), second.Items...); !slices.Equal(got, all.Items) || first.TotalItems != 3 || second.PageInfo.NextCursor != "" {
		t.Errorf("pages = %+v then %+v, want the 3 locations by id", first, second)
	}
	for _, bad := range []struct{ body, msg string }{
		{`{"query": {"owner": "team-a"}}`, `unknown key "owner"`},
		{`{"query": {"target": {"$regex": "x"}}}`, "unknown operator $regex"},
		{`{"query": ["target"]}`, "must be an object"},
		{`{"limit": 0}`, "limit: must be at least 1"},
		{`{"cursor": ""}`, "cursor: must not be empty"},
		{`{"cursor": "bm90IGpzb24="}`, "invalid cursor"},
		{`{"where": {}}`, "unknown field"},
	} {
		wantError(t, a.call("POST", "/api/catalog/locations/by-query", rawJSON(bad.body)), http.StatusBadRequest, "InputError", bad.msg)
	}
}

// TestAPIUpdateLocation: PUT /locations/{id} moves a location to another target and reads it at once; it
// needs the rights to remove the location and to register the new target.
func TestAPIUpdateLocation(t *testing.T) {
	a := newAPI(t, Options{})
	a.files.set("/teams/team-a/old.yaml", component("orders", "team-a")+"---\n"+component("billing", "team-a"))
	a.files.set("/teams/team-a/new.yaml", component("orders", "team-a")+"---\n"+component("ledger", "team-a"))
	a.files.set("/teams/team-a/taken.yaml", component("wiki", "team-a"))
	a.files.set("/teams/team-b/theirs.yaml", component("search", "team-b"))
	wantStatus(t, "registering", a.register("/teams/team-a/old.yaml", a.dev), http.StatusCreated)
	wantStatus(t, "registering", a.register("/teams/team-a/taken.yaml", a.dev), http.StatusCreated)
	id := a.locationID("/teams/team-a/old.yaml")
	ordersUID := mustGet(t, a.c, "component:orders").Metadata.UID
	put := func(path, tok string) reply {
		return a.call("PUT", "/api/catalog/locations/"+id, map[string]string{"type": "url", "target": a.files.url(path)}, tok)
	}

	wantError(t, put("/teams/team-a/new.yaml", a.other), http.StatusForbidden, "NotAllowedError", "only team-a and admins may change it")
	wantError(t, put("/teams/team-b/theirs.yaml", a.dev), http.StatusForbidden, "NotAllowedError", "only team-b and admins may register it")
	wantError(t, put("/teams/team-a/taken.yaml", a.dev), http.StatusConflict, "ConflictError", "already exists")
	wantError(t, put("/teams/team-a/missing.yaml", a.dev), http.StatusBadRequest, "InputError", "missing.yaml")
	wantError(t, a.call("PUT", "/api/catalog/locations/"+id, map[string]string{"type": "file", "target": "/etc/passwd"}), http.StatusBadRequest, "InputError", "use url")
	wantError(t, a.call("PUT", "/api/catalog/locations/"+id, map[string]string{"target": "x"}), http.StatusBadRequest, "InputError", "type and target")
	wantError(t, a.call("PUT", "/api/catalog/locations/00000000-0000-4000-8000-000000000000", map[string]string{"type": "url", "target": a.files.url("/teams/team-a/new.yaml")}),
		http.StatusNotFound, "NotFoundError", "Found no location")
	if got := mustGet(t, a.c, "component:billing"); got.Metadata.Annotations["backstage.io/managed-by-location"] != "url:"+a.files.url("/teams/team-a/old.yaml") {
		t.Fatalf("after the refused changes billing is managed by %q, want the old file", got.Metadata.Annotations["backstage.io/managed-by-location"])
	}

	r := put("/teams/team-a/new.yaml", a.dev)
	wantStatus(t, "team-a moving its location", r, http.StatusOK)
	var moved Location
	r.json(t, &moved)
	if want := (Location{ID: id, Type: "url", Target: a.files.url("/teams/team-a/new.yaml")}); moved != want {
		t.Errorf("PUT = %+v, want %+v", moved, want)
	}
	if loc, err := a.c.Location(context.Background(), id); err != nil || loc != moved {
		t.Errorf("the location is now %+v (%v), want %+v", loc, err, moved)
	}
	orders := mustGet(t, a.c, "component:orders")
	if orders.Metadata.UID != ordersUID || orders.Metadata.Annotations["backstage.io/managed-by-location"] != "url:"+moved.Target {
		t.Errorf("orders = uid %s, managed by %q; want the same entity, managed by the new file", orders.Metadata.UID, orders.Metadata.Annotations["backstage.io/managed-by-location"])
	}
	mustGet(t, a.c, "component:ledger")
	if _, err := a.c.Get(context.Background(), mustRef(t, "component:billing")); !errors.Is(err, ErrNotFound) {
		t.Errorf("billing, only in the old file: %v, want it gone", err)
	}

	// goldenpath's own locations are not anyone's to move.
	if err := a.c.Upsert(context.Background(), "goldenpath:test", []*Entity{group("team-a")}); err != nil {
		t.Fatal(err)
	}
	var locs []struct{ Data Location }
	a.get("/api/catalog/locations", &locs)
	for _, l := range locs {
		if l.Data.Type != "url" {
			wantError(t, a.call("PUT", "/api/catalog/locations/"+l.Data.ID, map[string]string{"type": "url", "target": a.files.url("/teams/team-a/new2.yaml")}, a.admin),
				http.StatusForbidden, "NotAllowedError", "kept by goldenpath")
		}
	}
}

// TestAPIAddLocationDryRunProblemsAndOnConflict: a dry run that would not register cleanly fails with the
// problems, as Backstage's does; onConflict=refresh reads a registered location again instead of a 409.
func TestAPIAddLocationDryRunProblemsAndOnConflict(t *testing.T) {
	a := newAPI(t, Options{})
	a.files.set("/teams/team-a/catalog-info.yaml", component("orders", "team-a"))
	a.files.set("/teams/team-a/clash.yaml", component("orders", "team-b"))
	a.files.set("/teams/team-a/half.yaml", component("billing", "team-a")+"---\n"+strings.Replace(component("Bad Name", "team-a"), "Bad Name", "'Bad Name'", 1))
	wantStatus(t, "registering", a.register("/teams/team-a/catalog-info.yaml", a.dev), http.StatusCreated)

	dry := func(path string) reply {
		return a.call("POST", "/api/catalog/locations?dryRun=true", map[string]string{"type": "url", "target": a.files.url(path)})
	}
	wantError(t, dry("/teams/team-a/clash.yaml"), http.StatusBadRequest, "InputError", "component:default/orders")
	wantError(t, dry("/teams/team-a/half.yaml"), http.StatusBadRequest, "InputError", "metadata.name")
	// Registering for real keeps what it can and lists the problems, as before.
	r := a.register("/teams/team-a/half.yaml", a.dev)
	if r.status != http.StatusCreated || !strings.Contains(string(r.body), "metadata.name") {
		t.Fatalf("registering half.yaml = %d %s, want 201 listing the bad name", r.status, r.body)
	}
	mustGet(t, a.c, "component:billing")

	target := map[string]string{"type": "url", "target": a.files.url("/teams/team-a/catalog-info.yaml")}
	a.files.set("/teams/team-a/catalog-info.yaml", strings.Replace(component("orders", "team-a"), "production", "deprecated", 1))
	r = a.call("POST", "/api/catalog/locations?onConflict=refresh", target)
	wantStatus(t, "onConflict=refresh", r, http.StatusCreated)
	var out struct {
		Location Location `json:"location"`
		Entities []wire   `json:"entities"`
	}
	r.json(t, &out)
	if out.Location.ID != a.locationID("/teams/team-a/catalog-info.yaml") || len(out.Entities) != 1 || out.Entities[0].Spec["lifecycle"] != "deprecated" {
		t.Errorf("onConflict=refresh = %s, want the registered location and orders read again", r.body)
	}
	wantError(t, a.call("POST", "/api/catalog/locations?onConflict=reject", target), http.StatusConflict, "ConflictError", "already exists")
	wantError(t, a.call("POST", "/api/catalog/locations?onConflict=merge", target), http.StatusBadRequest, "InputError", "onConflict")
	wantError(t, a.call("POST", "/api/catalog/locations?onConflict=refresh", target, a.other), http.StatusForbidden, "NotAllowedError", "team-a")
}

func mustRef(t *testing.T, s string) Ref {
	t.Helper()
	r, err := ParseRef(s, "", "")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestAPIAnalyzeRepositoryFolder: Backstage's import analyzes a repository's folder URL; the file found
// there is named by its blob URL, as registering records it, and a repository without one suggests a
// Component named after the repository, not after the branch.
func TestAPIAnalyzeRepositoryFolder(t *testing.T) {
	a := newAPI(t, Options{})
	a.files.set("/teams/team-a/orders/blob/main/catalog-info.yaml", component("orders", "team-a"))
	wantStatus(t, "registering", a.register("/teams/team-a/orders/blob/main/catalog-info.yaml", a.dev), http.StatusCreated)
	analyze := func(path string) AnalyzeResult {
		t.Helper()
		var res AnalyzeResult
		r := a.call("POST", "/api/catalog/analyze-location", map[string]any{"location": map[string]string{"type": "url", "target": a.files.url(path)}})
		wantStatus(t, "analyze "+path, r, http.StatusOK)
		r.json(t, &res)
		return res
	}
	found := analyze("/teams/team-a/orders/tree/main")
	if len(found.ExistingEntityFiles) != 1 || !found.ExistingEntityFiles[0].IsRegistered ||
		found.ExistingEntityFiles[0].Location.Target != a.files.url("/teams/team-a/orders/blob/main/catalog-info.yaml") {
		t.Errorf("analyze of the folder = %+v, want the registered orders file by its blob URL", found.ExistingEntityFiles)
	}
	generated := analyze("/teams/team-a/ledger.git/tree/main/")
	if len(generated.GenerateEntities) != 1 || generated.GenerateEntities[0].Entity["metadata"].(map[string]any)["name"] != "ledger" {
		t.Errorf("analyze of a repository without a file = %+v, want a Component named ledger", generated.GenerateEntities)
	}
}
