package e2e

import (
	"context"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/forge"
)

// TestCatalogAPI drives Backstage's catalog API as the running program serves it: goldenpath's own
// entities, a location registered from a repository of the embedded forge and read again on request,
// filters across both, and Backstage's error shape.
func TestCatalogAPI(t *testing.T) {
	e := start(t, startOptions{})
	tm := cast(e)
	ctx := context.Background()

	r := e.call("GET", "/api/catalog/entities", "", nil)
	if r.status != 401 || r.field(t, "error", "name") != "AuthenticationError" || r.field(t, "response", "statusCode") != float64(401) {
		t.Fatalf("without a token: %d %s, want 401 with Backstage's error body", r.status, r.body)
	}

	// goldenpath's own entities are there: templates, users, groups.
	for _, path := range []string{"template/default/app-template", "group/default/payments", "user/default/alice"} {
		deadline := time.Now().Add(10 * time.Second)
		for e.call("GET", "/api/catalog/entities/by-name/"+path, tm.alice, nil).status != 200 {
			if time.Now().After(deadline) {
				t.Fatalf("%s never appeared in the catalog API", path)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	repo := "payments/orders"
	file := func(owner, lifecycle string) []forge.Change {
		return []forge.Change{{Path: "catalog-info.yaml", Content: []byte(`apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: orders
  tags: [java]
spec:
  type: service
  lifecycle: ` + lifecycle + `
  owner: ` + owner + `
`)}}
	}
	author := forge.Signature{Name: "alice", Email: "alice@localhost"}
	sha, _, err := e.app.Forge.CreateRepoWithCommit(ctx, repo, "main", forge.CommitOptions{Message: "catalog", Author: author, Changes: file("payments", "production")})
	if err != nil {
		t.Fatal(err)
	}
	target := e.app.URL() + "/git/" + repo + "/blob/main/catalog-info.yaml"
	added := e.must(201, "POST", "/api/catalog/locations", tm.alice, map[string]string{"type": "url", "target": target})
	id, _ := added.field(t, "location", "id").(string)
	if r := e.call("POST", "/api/catalog/locations", tm.alice, map[string]string{"type": "url", "target": target}); r.status != 409 {
		t.Errorf("registering again: %d %s, want 409", r.status, r.body)
	}

	var orders struct {
		Spec      map[string]any `json:"spec"`
		Relations []struct {
			Type      string `json:"type"`
			TargetRef string `json:"targetRef"`
		} `json:"relations"`
	}
	e.must(200, "GET", "/api/catalog/entities/by-name/component/default/orders", tm.alice, nil).json(t, &orders)
	if len(orders.Relations) == 0 || orders.Relations[0].Type != "ownedBy" || orders.Relations[0].TargetRef != "group:default/payments" {
		t.Errorf("orders relations = %+v, want ownedBy group:default/payments", orders.Relations)
	}
	// The team's Group, which goldenpath keeps, now owns the registered component.
	var team struct {
		Relations []struct {
			Type      string `json:"type"`
			TargetRef string `json:"targetRef"`
		} `json:"relations"`
	}
	e.must(200, "GET", "/api/catalog/entities/by-name/group/default/payments", tm.alice, nil).json(t, &team)
	if !slices.ContainsFunc(team.Relations, func(r struct {
		Type      string `json:"type"`
		TargetRef string `json:"targetRef"`
	}) bool {
		return r.Type == "ownerOf" && r.TargetRef == "component:default/orders"
	}) {
		t.Errorf("payments relations = %+v, want ownerOf component:default/orders", team.Relations)
	}

	var page struct {
		Items      []map[string]any `json:"items"`
		TotalItems int              `json:"totalItems"`
	}
	e.must(200, "GET", "/api/catalog/entities/by-query?filter="+url.QueryEscape("kind=component,relations.ownedBy=group:default/payments")+
		"&filter="+url.QueryEscape("kind=user,metadata.name=alice")+"&fields=kind,metadata.name", tm.alice, nil).json(t, &page)
	if page.TotalItems != 2 || len(page.Items) != 2 {
		t.Errorf("by-query = %+v, want orders and alice", page)
	}
	var facets struct {
		Facets map[string][]struct {
			Value string `json:"value"`
			Count int    `json:"count"`
		} `json:"facets"`
	}
	e.must(200, "GET", "/api/catalog/entity-facets?facet=kind&facet=metadata.tags", tm.alice, nil).json(t, &facets)
	kinds := map[string]int{}
	for _, f := range facets.Facets["kind"] {
		kinds[f.Value] = f.Count
	}
	if kinds["Component"] != 1 || kinds["Template"] == 0 || kinds["User"] == 0 || kinds["Group"] == 0 {
		t.Errorf("kind facet = %v, want one Component and goldenpath's templates, users and groups", kinds)
	}

	// An edit is read on request.
	r2, err := e.app.Forge.Repo(repo)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r2.Commit(ctx, forge.CommitOptions{Branch: "main", Parent: sha, Message: "retire", Author: author, Changes: file("platform", "deprecated")}); err != nil {
		t.Fatal(err)
	}
	e.must(200, "POST", "/api/catalog/refresh", tm.alice, map[string]string{"entityRef": "component:default/orders"})
	e.must(200, "GET", "/api/catalog/entities/by-name/component/default/orders", tm.alice, nil).json(t, &orders)
	if orders.Spec["lifecycle"] != "deprecated" || orders.Relations[0].TargetRef != "group:default/platform" {
		t.Errorf("after refresh: spec %v, relations %+v; want deprecated, owned by platform", orders.Spec, orders.Relations)
	}

	e.must(204, "DELETE", "/api/catalog/locations/"+id, tm.alice, nil)
	if r := e.call("GET", "/api/catalog/entities/by-name/component/default/orders", tm.alice, nil); r.status != 404 || r.field(t, "error", "name") != "NotFoundError" {
		t.Errorf("after removing the location: %d %s, want 404 NotFoundError", r.status, r.body)
	}
}
