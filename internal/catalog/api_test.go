package catalog

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestAPINeedsAToken(t *testing.T) {
	a := newAPI(t, Options{})
	a.seed()
	for _, tt := range []struct{ method, path string }{
		{"GET", "/api/catalog/entities"},
		{"GET", "/api/catalog/entities/by-query"},
		{"POST", "/api/catalog/entities/by-query"},
		{"GET", "/api/catalog/entities/by-name/component/default/orders"},
		{"GET", "/api/catalog/entities/by-name/component/default/orders/ancestry"},
		{"GET", "/api/catalog/entities/by-uid/x"},
		{"DELETE", "/api/catalog/entities/by-uid/x"},
		{"POST", "/api/catalog/entities/by-refs"},
		{"GET", "/api/catalog/entity-facets?facet=kind"},
		{"GET", "/api/catalog/locations"},
		{"POST", "/api/catalog/locations"},
		{"GET", "/api/catalog/locations/x"},
		{"DELETE", "/api/catalog/locations/x"},
		{"GET", "/api/catalog/locations/by-entity/component/default/orders"},
		{"POST", "/api/catalog/refresh"},
		{"POST", "/api/catalog/validate-entity"},
		{"POST", "/api/catalog/analyze-location"},
		{"GET", "/api/catalog/no-such-endpoint"},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := a.call(tt.method, tt.path, nil, "")
			wantError(t, r, http.StatusUnauthorized, "AuthenticationError", "token")
			if r.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without a WWW-Authenticate header")
			}
			bad := a.call(tt.method, tt.path, nil, "gp_notatoken")
			wantError(t, bad, http.StatusUnauthorized, "AuthenticationError", "")
		})
	}
}

// TestAPIFilters checks Backstage's filter semantics through every endpoint that takes filters: the list,
// the paged query with its total, and the facet counts.
func TestAPIFilters(t *testing.T) {
	a := newAPI(t, Options{})
	a.seed()
	for _, tt := range []struct {
		name   string
		params []string
		want   []string
	}{
		{"kind", []string{"filter=kind=component"},
			[]string{"orders", "billing", "Ledger", "frontend", "search", "worker", "docs-site"}},
		{"kind is case-insensitive", []string{"filter=kind=COMPONENT"},
			[]string{"orders", "billing", "Ledger", "frontend", "search", "worker", "docs-site"}},
		{"and inside one filter", []string{"filter=kind=component,spec.type=service"},
			[]string{"orders", "billing", "Ledger", "search"}},
		{"values are case-insensitive", []string{"filter=spec.type=SERVICE,metadata.name=ledger"}, []string{"Ledger"}},
		{"or across filters", []string{"filter=kind=api", "filter=spec.type=website"},
			[]string{"orders-api", "search-api", "frontend", "docs-site"}},
		{"the same key twice means either value", []string{"filter=spec.type=website,spec.type=library"},
			[]string{"frontend", "worker", "docs-site"}},
		{"owner relation", []string{"filter=relations.ownedBy=group:default/team-a"},
			[]string{"orders", "billing", "Ledger", "worker", "orders-api", "shop"}},
		{"relation with kind", []string{"filter=kind=component,relations.ownedby=group:default/team-b"},
			[]string{"frontend", "search", "docs-site"}},
		{"system relation", []string{"filter=relations.partOf=system:default/shop"},
			[]string{"orders", "billing", "frontend", "docs-site"}},
		{"inverse relation", []string{"filter=relations.ownerOf=component:default/search"}, []string{"team-b"}},
		{"array field matches any element", []string{"filter=metadata.tags=java"}, []string{"orders", "billing", "search"}},
		{"array element key", []string{"filter=metadata.tags.go"}, []string{"Ledger", "search"}},
		{"exists", []string{"filter=metadata.annotations.backstage.io/techdocs-ref"}, []string{"docs-site"}},
		{"exists or value", []string{"filter=metadata.title", "filter=metadata.tags=payments"}, []string{"docs-site", "orders"}},
		{"spec.owner as written", []string{"filter=spec.owner=team-b"}, []string{"frontend", "search", "docs-site", "search-api"}},
		{"no match", []string{"filter=kind=component,spec.type=nothing"}, nil},
		{"uid", []string{"filter=metadata.uid=" + "UIDOF:orders"}, []string{"orders"}},
	} {
		// Every filter both ways the planner finds entities: from candidates and by walking an index.
		for _, small := range []int{smallCandidates, 0} {
			a.c.smallCandidates = small
			t.Run(fmt.Sprintf("%s/candidates up to %d", tt.name, small), func(t *testing.T) {
				params := slices.Clone(tt.params)
				for i, p := range params {
					if _, name, ok := strings.Cut(p, "UIDOF:"); ok {
						params[i] = strings.Replace(p, "UIDOF:"+name, mustGet(t, a.c, "component:"+name).Metadata.UID, 1)
					}
					params[i] = "filter=" + url.QueryEscape(strings.TrimPrefix(params[i], "filter="))
				}
				var list []wire
				a.get("/api/catalog/entities"+q(params...), &list)
				if !sameSet(wireNames(list), tt.want) {
					t.Errorf("/entities = %v, want %v", wireNames(list), tt.want)
				}
				var page queryPage
				a.get("/api/catalog/entities/by-query"+q(append(params, "limit=100")...), &page)
				if !sameSet(wireNames(page.Items), tt.want) || page.TotalItems != len(tt.want) {
					t.Errorf("/entities/by-query = %v (totalItems %d), want %v (%d)", wireNames(page.Items), page.TotalItems, tt.want, len(tt.want))
				}
				var facets struct {
					Facets map[string][]FacetCount `json:"facets"`
				}
				a.get("/api/catalog/entity-facets"+q(append(params, "facet=metadata.namespace")...), &facets)
				total := 0
				for _, fc := range facets.Facets["metadata.namespace"] {
					total += fc.Count
				}
				if total != len(tt.want) {
					t.Errorf("facet counts add up to %d, want %d (%v)", total, len(tt.want), facets.Facets)
				}
			})
		}
	}
}

func TestAPIEntitiesCarryRelations(t *testing.T) {
	a := newAPI(t, Options{})
	a.seed()
	var team wire
	a.get("/api/catalog/entities/by-name/group/default/team-b", &team)
	var ownerOf []string
	for _, r := range team.Relations {
		if r.Type == RelationOwnerOf {
			ownerOf = append(ownerOf, r.TargetRef)
		}
	}
	want := []string{"api:default/search-api", "component:default/docs-site", "component:default/frontend", "component:default/search"}
	if !slices.Equal(ownerOf, want) {
		t.Errorf("team-b ownerOf = %v, want %v", ownerOf, want)
	}
	var worker wire
	a.get("/api/catalog/entities/by-name/Component/DEFAULT/Worker", &worker)
	if worker.name() != "worker" || worker.Metadata["uid"] == "" || worker.Metadata["etag"] == "" {
		t.Errorf("by-name (any case) = %+v, want worker with uid and etag", worker.Metadata)
	}
	if !slices.Contains(worker.Relations, Relation{Type: RelationOwnedBy, TargetRef: "group:default/team-a"}) {
		t.Errorf("worker relations = %v, want ownedBy team-a", worker.Relations)
	}
	r := a.call("GET", "/api/catalog/entities/by-name/component/default/nope", nil)
	wantError(t, r, http.StatusNotFound, "NotFoundError", "No entity named 'nope' found, with kind 'component' in namespace 'default'")
}

func TestAPIFields(t *testing.T) {
	a := newAPI(t, Options{})
	a.seed()
	for _, tt := range []struct {
		name, fields string
		want         string
	}{
		{"top level and nested", "kind,metadata.name", `{"kind":"Component","metadata":{"name":"docs-site"}}`},
		{"an annotation key with dots", "metadata.annotations.backstage.io/techdocs-ref",
			`{"metadata":{"annotations":{"backstage.io/techdocs-ref":"dir:."}}}`},
		{"a whole object", "spec", `{"spec":{"lifecycle":"production","owner":"team-b","system":"shop","type":"website"}}`},
		{"missing fields add nothing", "metadata.name,spec.nothing", `{"metadata":{"name":"docs-site"}}`},
		{"repeated parameters", "kind&fields=spec.type", `{"kind":"Component","spec":{"type":"website"}}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{
				"/api/catalog/entities?filter=metadata.name=docs-site&fields=" + tt.fields,
				"/api/catalog/entities/by-query?filter=metadata.name=docs-site&fields=" + tt.fields,
			} {
				r := a.get(path, nil)
				body := strings.TrimSpace(string(r.body))
				if !strings.Contains(body, tt.want) {
					t.Errorf("GET %s = %s, want the entity as %s", path, body, tt.want)
				}
			}
		})
	}
	wantError(t, a.call("GET", "/api/catalog/entities?fields=metadata.tags[0]", nil), http.StatusBadRequest, "InputError", "array")
}

func TestAPIOrder(t *testing.T) {
	a := newAPI(t, Options{})
	a.seed()
	components := "filter=kind=component"
	for _, tt := range []struct {
		name, path string
		want       []string
	}{
		{"by ref by default", "/api/catalog/entities?" + components,
			[]string{"billing", "docs-site", "frontend", "Ledger", "orders", "search", "worker"}},
		{"by name descending", "/api/catalog/entities?" + components + "&order=desc:metadata.name",
			[]string{"worker", "search", "orders", "Ledger", "frontend", "docs-site", "billing"}},
		{"by type then name", "/api/catalog/entities?" + components + "&order=asc:spec.type&order=desc:metadata.name",
			[]string{"worker", "search", "orders", "Ledger", "billing", "frontend", "docs-site"}},
		{"by-query by name", "/api/catalog/entities/by-query?" + components + "&orderField=metadata.name,asc",
			[]string{"billing", "docs-site", "frontend", "Ledger", "orders", "search", "worker"}},
		{"by-query by title, entities without one last", "/api/catalog/entities/by-query?" + components + "&orderField=metadata.title,desc",
			[]string{"docs-site"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := a.get(tt.path, nil)
			var got []wire
			if strings.Contains(tt.path, "by-query") {
				var page queryPage
				r.json(t, &page)
				got = page.Items
			} else {
				r.json(t, &got)
			}
			if n := wireNames(got); !slices.Equal(n[:len(tt.want)], tt.want) {
				t.Errorf("order = %v, want it to start %v", n, tt.want)
			}
		})
	}
	wantError(t, a.call("GET", "/api/catalog/entities?order=up:metadata.name", nil), http.StatusBadRequest, "InputError", "order")
	wantError(t, a.call("GET", "/api/catalog/entities/by-query?orderField=metadata.name,up", nil), http.StatusBadRequest, "InputError", "asc or desc")
}

func TestAPIEntitiesPagesWithLinks(t *testing.T) {
	a := newAPI(t, Options{})
	a.seed()
	path := "/api/catalog/entities?filter=kind=component&limit=3&offset=1"
	var seen []string
	for pages := 0; path != ""; pages++ {
		if pages > 5 {
			t.Fatal("paging did not end")
		}
		var list []wire
		r := a.get(path, &list)
		seen = append(seen, wireNames(list)...)
		path = ""
		if link := r.header.Get("Link"); link != "" {
			target, rel, _ := strings.Cut(link, ">; ")
			if rel != `rel="next"` || !strings.HasPrefix(target, "</api/catalog/entities?") {
				t.Fatalf("Link = %q, want <...>; rel=\"next\"", link)
			}
			path = strings.TrimPrefix(target, "<")
		}
	}
	want := []string{"docs-site", "frontend", "Ledger", "orders", "search", "worker"}
	if !slices.Equal(seen, want) {
		t.Errorf("pages = %v, want %v (offset 1 skips billing)", seen, want)
	}
}

func TestAPIQueryCursors(t *testing.T) {
	a := newAPI(t, Options{})
	a.seed()
	all := []string{"billing", "docs-site", "frontend", "Ledger", "orders", "search", "worker"}
	var first queryPage
	a.get("/api/catalog/entities/by-query?filter=kind=component&orderField=metadata.name,asc&limit=3", &first)
	if first.TotalItems != 7 || !slices.Equal(wireNames(first.Items), all[:3]) || first.PageInfo.PrevCursor != "" || first.PageInfo.NextCursor == "" {
		t.Fatalf("first page = %v total %d, cursors %+v; want %v of 7 and only a next cursor", wireNames(first.Items), first.TotalItems, first.PageInfo, all[:3])
	}
	var second queryPage
	// A cursor overrides the query: a different filter alongside it is ignored, as in Backstage.
	a.get("/api/catalog/entities/by-query?filter=kind=api&limit=3&cursor="+url.QueryEscape(first.PageInfo.NextCursor), &second)
	if !slices.Equal(wireNames(second.Items), all[3:6]) || second.TotalItems != 7 || second.PageInfo.PrevCursor == "" {
		t.Fatalf("second page = %v (total %d, prev %q), want %v of 7 with a previous cursor", wireNames(second.Items), second.TotalItems, second.PageInfo.PrevCursor, all[3:6])
	}
	var third queryPage
	a.get("/api/catalog/entities/by-query?limit=3&cursor="+url.QueryEscape(second.PageInfo.NextCursor), &third)
	if !slices.Equal(wireNames(third.Items), all[6:]) || third.PageInfo.NextCursor != "" {
		t.Fatalf("last page = %v, next %q; want %v and no next cursor", wireNames(third.Items), third.PageInfo.NextCursor, all[6:])
	}
	var back queryPage
	a.get("/api/catalog/entities/by-query?limit=3&cursor="+url.QueryEscape(third.PageInfo.PrevCursor), &back)
	if !slices.Equal(wireNames(back.Items), all[3:6]) || back.PageInfo.NextCursor == "" {
		t.Fatalf("previous page = %v, want %v with a next cursor", wireNames(back.Items), all[3:6])
	}
	var backToFirst queryPage
	a.get("/api/catalog/entities/by-query?limit=3&cursor="+url.QueryEscape(back.PageInfo.PrevCursor), &backToFirst)
	if !slices.Equal(wireNames(backToFirst.Items), all[:3]) || backToFirst.PageInfo.PrevCursor != "" {
		t.Fatalf("first page again = %v (prev %q), want %v and no previous cursor", wireNames(backToFirst.Items), backToFirst.PageInfo.PrevCursor, all[:3])
	}
	var countOnly queryPage
	a.get("/api/catalog/entities/by-query?filter=kind=component&limit=0", &countOnly)
	if len(countOnly.Items) != 0 || countOnly.TotalItems != 7 || countOnly.PageInfo.NextCursor != "" {
		t.Errorf("limit=0 = %d items, total %d; want none and 7", len(countOnly.Items), countOnly.TotalItems)
	}
	var text queryPage
	a.get("/api/catalog/entities/by-query?fullTextFilterTerm=EDG&fullTextFilterFields=metadata.name&orderField=metadata.name,asc", &text)
	if !slices.Equal(wireNames(text.Items), []string{"Ledger"}) || text.TotalItems != 1 {
		t.Errorf("full text EDG = %v (total %d), want Ledger", wireNames(text.Items), text.TotalItems)
	}
	for _, bad := range []string{"not-base64!", "bm90IGpzb24=", "eyJmaWx0ZXIiOnsiJGJhZCI6MX19"} {
		wantError(t, a.call("GET", "/api/catalog/entities/by-query?cursor="+url.QueryEscape(bad), nil), http.StatusBadRequest, "InputError", "cursor")
	}
}

func TestAPIQueryByPredicate(t *testing.T) {
	a := newAPI(t, Options{})
	a.seed()
	for _, tt := range []struct {
		name  string
		query string
		want  []string
	}{
		{"field", `{"kind": "API"}`, []string{"orders-api", "search-api"}},
		{"$all", `{"$all": [{"kind": "component"}, {"spec.type": "website"}]}`, []string{"frontend", "docs-site"}},
		{"$any", `{"$any": [{"kind": "system"}, {"metadata.name": "worker"}]}`, []string{"shop", "worker"}},
		{"empty $all matches nothing", `{"$all": []}`, nil},
		{"$not of a field", `{"$all": [{"kind": "component"}, {"$not": {"spec.type": "service"}}]}`,
			[]string{"frontend", "worker", "docs-site"}},
		{"$exists", `{"metadata.annotations.backstage.io/techdocs-ref": {"$exists": true}}`, []string{"docs-site"}},
		{"$exists false", `{"kind": "component", "metadata.tags": {"$exists": false}}`, []string{"worker"}},
		{"$in", `{"spec.type": {"$in": ["library", "WEBSITE"]}}`, []string{"frontend", "worker", "docs-site"}},
		{"$hasPrefix", `{"metadata.name": {"$hasPrefix": "ORD"}}`, []string{"orders", "orders-api"}},
		{"$contains on an array", `{"metadata.tags": {"$contains": "go"}}`, []string{"Ledger", "search"}},
		{"$contains on relations", `{"relations": {"$contains": {"type": "ownedBy", "targetRef": "group:default/team-b"}}, "kind": "api"}`,
			[]string{"search-api"}},
		{"empty object", `{}`, []string{"team-a", "team-b", "orders", "billing", "Ledger", "frontend", "search", "worker", "docs-site", "orders-api", "search-api", "shop"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var page queryPage
			r := a.call("POST", "/api/catalog/entities/by-query", map[string]any{"query": rawJSON(tt.query), "limit": 50})
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			r.json(t, &page)
			if !sameSet(wireNames(page.Items), tt.want) || page.TotalItems != len(tt.want) {
				t.Errorf("query %s = %v (total %d), want %v", tt.query, wireNames(page.Items), page.TotalItems, tt.want)
			}
		})
	}
	// Paging a predicate query with its cursor, in the body.
	var first, second queryPage
	a.call("POST", "/api/catalog/entities/by-query", map[string]any{"query": rawJSON(`{"kind": "component"}`), "limit": 4,
		"orderField": []string{"metadata.name,desc"}, "fields": []string{"metadata.name"}}).json(t, &first)
	a.call("POST", "/api/catalog/entities/by-query", map[string]any{"cursor": first.PageInfo.NextCursor, "limit": 4}).json(t, &second)
	if got := append(wireNames(first.Items), wireNames(second.Items)...); !slices.Equal(got, []string{"worker", "search", "orders", "Ledger", "frontend", "docs-site", "billing"}) {
		t.Errorf("predicate pages = %v, want all seven components by name descending", got)
	}
	for _, bad := range []struct{ body, msg string }{
		{`{"query": "component"}`, "must be an object"},
		{`{"query": {"$all": {"kind": "x"}}}`, "$all: must be an array"},
		{`{"query": {"kind": {"$regex": "x"}}}`, "unknown operator $regex"},
		{`{"query": {"$not": {"kind": "x"}, "spec.type": "y"}}`, "only key"},
		{`{"query": {"spec": {"$contains": {"a": 1}}}}`, "$contains"},
		{`{"query": {"kind": "x"}, "limit": -1}`, "limit"},
		{`{"query": {"kind": "x"}, "unknown": 1}`, "unknown"},
	} {
		r := a.call("POST", "/api/catalog/entities/by-query", rawJSON(bad.body))
		wantError(t, r, http.StatusBadRequest, "InputError", bad.msg)
	}
}

// rawJSON is a literal JSON value inside a request body.
type rawJSON string

func (r rawJSON) MarshalJSON() ([]byte, error) { return []byte(r), nil }

func TestAPIByUIDAndRefs(t *testing.T) {
	a := newAPI(t, Options{})
	a.seed()
	uid := mustGet(t, a.c, "component:search").Metadata.UID
	var got wire
	a.get("/api/catalog/entities/by-uid/"+uid, &got)
	if got.name() != "search" {
		t.Errorf("by-uid = %s, want search", got.name())
	}
	var batch struct {
		Items []*wire `json:"items"`
	}
	r := a.call("POST", "/api/catalog/entities/by-refs?fields=metadata.name", map[string]any{
		"entityRefs": []string{"component:default/worker", "component:default/missing", "Group:Default/Team-A", "not a ref"}})
	if r.status != http.StatusOK {
		t.Fatalf("by-refs = %d %s", r.status, r.body)
	}
	r.json(t, &batch)
	if len(batch.Items) != 4 || batch.Items[0] == nil || batch.Items[0].name() != "worker" || batch.Items[1] != nil ||
		batch.Items[2] == nil || batch.Items[2].name() != "team-a" || batch.Items[3] != nil || batch.Items[0].Kind != "" {
		t.Errorf("by-refs = %s, want worker, null, team-a, null with only metadata.name", r.body)
	}
	// search is goldenpath's own (seeded by Upsert): nobody deletes it through the API.
	wantError(t, a.call("DELETE", "/api/catalog/entities/by-uid/"+uid, nil, a.admin), http.StatusForbidden, "NotAllowedError", "not even by an admin")

	// A registered one is deleted by its team.
	a.files.set("/teams/team-b/catalog-info.yaml", component("indexer", "team-b"))
	if r := a.call("POST", "/api/catalog/locations", map[string]string{"type": "url", "target": a.files.url("/teams/team-b/catalog-info.yaml")}, a.other); r.status != http.StatusCreated {
		t.Fatalf("registering = %d %s", r.status, r.body)
	}
	uid = mustGet(t, a.c, "component:indexer").Metadata.UID
	a.files.set("/teams/team-b/catalog-info.yaml", component("crawler", "team-b")) // else it would be read again at once
	if r := a.call("DELETE", "/api/catalog/entities/by-uid/"+uid, nil, a.other); r.status != http.StatusNoContent {
		t.Fatalf("DELETE by-uid = %d %s, want 204", r.status, r.body)
	}
	wantError(t, a.call("GET", "/api/catalog/entities/by-uid/"+uid, nil), http.StatusNotFound, "NotFoundError", uid)
	wantError(t, a.call("DELETE", "/api/catalog/entities/by-uid/"+uid, nil), http.StatusNotFound, "NotFoundError", uid)
	var team wire
	a.get("/api/catalog/entities/by-name/group/default/team-b", &team)
	if slices.Contains(team.Relations, Relation{Type: RelationOwnerOf, TargetRef: "component:default/indexer"}) {
		t.Errorf("team-b still owns the deleted indexer: %v", team.Relations)
	}
	wantError(t, a.call("POST", "/api/catalog/entities/by-refs", map[string]any{}), http.StatusBadRequest, "InputError", "entityRefs")
}

func TestAPIFacets(t *testing.T) {
	a := newAPI(t, Options{})
	a.seed()
	for _, tt := range []struct {
		name   string
		params string
		facet  string
		want   []FacetCount
	}{
		{"all kinds", "", "kind", []FacetCount{{"API", 2}, {"Component", 7}, {"Group", 2}, {"System", 1}}},
		{"types of components, spellings kept apart", "filter=kind=component", "spec.type",
			[]FacetCount{{"Service", 1}, {"library", 1}, {"service", 3}, {"website", 2}}},
		{"owners of components", "filter=kind=component", "relations.ownedBy",
			[]FacetCount{{"group:default/team-a", 4}, {"group:default/team-b", 3}}},
		{"tags under another filter", "filter=relations.ownedBy=group:default/team-a", "metadata.tags",
			[]FacetCount{{"go", 1}, {"java", 2}, {"payments", 1}}},
		{"an uncounted key", "filter=kind=component,spec.type=website", "metadata.name",
			[]FacetCount{{"docs-site", 1}, {"frontend", 1}}},
		{"nothing matches", "filter=kind=nothing", "spec.type", []FacetCount{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got struct {
				Facets map[string][]FacetCount `json:"facets"`
			}
			a.get("/api/catalog/entity-facets?facet="+url.QueryEscape(tt.facet)+"&"+tt.params, &got)
			if !slices.Equal(got.Facets[tt.facet], tt.want) {
				t.Errorf("facet %s = %v, want %v", tt.facet, got.Facets[tt.facet], tt.want)
			}
		})
	}
	wantError(t, a.call("GET", "/api/catalog/entity-facets", nil), http.StatusBadRequest, "InputError", "facet")
	wantError(t, a.call("GET", "/api/catalog/entity-facets?facet=kind&filter=%3Dx", nil), http.StatusBadRequest, "InputError", "filter")
}

func TestAPIErrorShapes(t *testing.T) {
	a := newAPI(t, Options{})
	a.seed()
	r := a.call("GET", "/api/catalog/nothing-here?x=1", nil)
	wantError(t, r, http.StatusNotFound, "NotFoundError", "")
	var e backstageError
	r.json(t, &e)
	if e.Request.URL != "/api/catalog/nothing-here?x=1" || e.Request.Method != "GET" {
		t.Errorf("request in the error = %+v, want GET /api/catalog/nothing-here?x=1", e.Request)
	}
	wantError(t, a.call("GET", "/api/catalog/entities?limit=ten", nil), http.StatusBadRequest, "InputError", "limit")
	wantError(t, a.call("GET", "/api/catalog/entities/by-query?offset=-1", nil), http.StatusBadRequest, "InputError", "offset")
	wantError(t, a.call("POST", "/api/catalog/entities/by-refs", []byte(`{"entityRefs": [`)), http.StatusBadRequest, "InputError", "not valid")
}
