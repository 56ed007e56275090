package catalog

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// register posts a location as the user with token tok and returns the reply.
func (a *api) register(path, tok string) reply {
	a.t.Helper()
	return a.call("POST", "/api/catalog/locations", map[string]string{"type": "url", "target": a.files.url(path)}, tok)
}

func (a *api) locationID(path string) string {
	a.t.Helper()
	loc, err := a.c.locationBy(context.Background(), `type = 'url' AND target = ?`, a.files.url(path))
	if err != nil {
		a.t.Fatalf("location %s: %v", path, err)
	}
	return loc.ID
}

// wantStatus fails the test unless r, the reply to what, has status.
func wantStatus(t *testing.T, what string, r reply, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s = %d %s, want %d", what, r.status, r.body, status)
	}
}

// TestAPIDeleteNeedsTheOwner: team-b's developer can neither delete team-a's entity nor, with a file of
// their own naming it, take it over; team-a's developer and admins delete it.
func TestAPIDeleteNeedsTheOwner(t *testing.T) {
	a := newAPI(t, Options{})
	a.files.set("/teams/team-a/catalog-info.yaml", component("orders", "team-a")+"---\n"+component("ledger", "user:default/alice"))
	wantStatus(t, "team-a registering its file", a.register("/teams/team-a/catalog-info.yaml", a.dev), http.StatusCreated)
	orders := mustGet(t, a.c, "component:orders")

	r := a.call("DELETE", "/api/catalog/entities/by-uid/"+orders.Metadata.UID, nil, a.other)
	wantError(t, r, http.StatusForbidden, "NotAllowedError", "owned by group:default/team-a; only members of team-a and admins may delete it")
	if got := mustGet(t, a.c, "component:orders"); got.Metadata.UID != orders.Metadata.UID {
		t.Fatalf("orders changed after a refused delete: uid %s, want %s", got.Metadata.UID, orders.Metadata.UID)
	}

	// The name stays team-a's: team-b's own file claiming it is a conflict, now and on every refresh.
	a.files.set("/teams/team-b/catalog-info.yaml", component("orders", "team-b")+"---\n"+component("search", "team-b"))
	r = a.register("/teams/team-b/catalog-info.yaml", a.other)
	if r.status != http.StatusCreated || !strings.Contains(string(r.body), "component:default/orders") || !strings.Contains(string(r.body), "which keeps it") {
		t.Fatalf("team-b registering a file claiming orders = %d %s, want 201 with a conflict on orders", r.status, r.body)
	}
	wantStatus(t, "team-b refreshing its location", a.call("POST", "/api/catalog/refresh", map[string]string{"entityRef": "component:default/search"}, a.other), http.StatusOK)
	if got := mustGet(t, a.c, "component:orders"); got.Metadata.UID != orders.Metadata.UID || got.Spec["owner"] != "team-a" {
		t.Fatalf("orders = uid %s owned by %v, want team-a's (uid %s)", got.Metadata.UID, got.Spec["owner"], orders.Metadata.UID)
	}

	// An entity owned by a user: that user (alice) deletes it; so do the owners of the file it comes from.
	ledger := mustGet(t, a.c, "component:ledger").Metadata.UID
	wantError(t, a.call("DELETE", "/api/catalog/entities/by-uid/"+ledger, nil, a.other), http.StatusForbidden, "NotAllowedError", "owned by user:default/alice; only alice")
	wantStatus(t, "alice deleting her ledger", a.call("DELETE", "/api/catalog/entities/by-uid/"+ledger, nil, a.dev), http.StatusNoContent)
	// Deleting an entity its file still holds: it is read again at once (a new uid), still team-a's, and
	// team-b's file claiming the name gets no moment to take it.
	wantStatus(t, "an admin deleting orders", a.call("DELETE", "/api/catalog/entities/by-uid/"+orders.Metadata.UID, nil, a.admin), http.StatusNoContent)
	if got := mustGet(t, a.c, "component:orders"); got.Metadata.UID == orders.Metadata.UID || got.Spec["owner"] != "team-a" {
		t.Fatalf("after the delete orders = uid %s owned by %v, want team-a's file read again (a new uid)", got.Metadata.UID, got.Spec["owner"])
	}
	wantStatus(t, "team-b refreshing its location", a.call("POST", "/api/catalog/refresh", map[string]string{"entityRef": "component:default/search"}, a.other), http.StatusOK)
	if got := mustGet(t, a.c, "component:orders"); got.Spec["owner"] != "team-a" {
		t.Fatalf("orders owned by %v after team-b's refresh, want team-a", got.Spec["owner"])
	}
	search := mustGet(t, a.c, "component:search").Metadata.UID
	wantStatus(t, "team-b deleting its search", a.call("DELETE", "/api/catalog/entities/by-uid/"+search, nil, a.other), http.StatusNoContent)
}

// TestAPIGoldenpathEntitiesCannotBeDeleted: entities goldenpath states itself are refused to everyone,
// admins included, with the reason; once goldenpath no longer states one (an orphan), its owner may delete it.
func TestAPIGoldenpathEntitiesCannotBeDeleted(t *testing.T) {
	clk := &clock{now: time.Now()}
	a := newAPI(t, Options{OrphanGrace: time.Hour, Now: clk.Now})
	ctx := context.Background()
	res := func(name string) *Entity {
		return &Entity{APIVersion: "backstage.io/v1alpha1", Kind: "Resource", Metadata: Metadata{Name: name},
			Spec: map[string]any{"type": "database", "owner": "group:default/team-a"}}
	}
	if err := a.c.ReplaceSource(ctx, "goldenpath:requests", []*Entity{res("rds.dev.orders"), res("rds.dev.billing")}); err != nil {
		t.Fatal(err)
	}
	if err := a.c.ReplaceSource(ctx, "goldenpath:org", []*Entity{group("team-a")}); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"resource:rds.dev.orders", "group:team-a"} {
		uid := mustGet(t, a.c, ref).Metadata.UID
		for _, tok := range []string{a.dev, a.other, a.admin} {
			wantError(t, a.call("DELETE", "/api/catalog/entities/by-uid/"+uid, nil, tok), http.StatusForbidden, "NotAllowedError",
				"cannot be deleted through the API, not even by an admin")
		}
		mustGet(t, a.c, ref)
	}
	// goldenpath stops stating billing (its request was deleted): an orphan, which its team may clear.
	if err := a.c.ReplaceSource(ctx, "goldenpath:requests", []*Entity{res("rds.dev.orders")}); err != nil {
		t.Fatal(err)
	}
	billing := mustGet(t, a.c, "resource:rds.dev.billing").Metadata.UID
	wantError(t, a.call("DELETE", "/api/catalog/entities/by-uid/"+billing, nil, a.other), http.StatusForbidden, "NotAllowedError", "group:default/team-a")
	wantStatus(t, "team-a deleting its orphan", a.call("DELETE", "/api/catalog/entities/by-uid/"+billing, nil, a.dev), http.StatusNoContent)
}

// TestAPILocationChangesNeedTheRepositoryOwner: registering, removing and refreshing a location belong to
// the team owning its repository (or, for a repository no one owns, whoever registered it) and admins.
func TestAPILocationChangesNeedTheRepositoryOwner(t *testing.T) {
	a := newAPI(t, Options{})
	a.files.set("/teams/team-a/catalog-info.yaml", component("orders", "team-a"))

	// team-b may look (dry run) but not register team-a's file.
	wantStatus(t, "team-b's dry run", a.call("POST", "/api/catalog/locations?dryRun=true", map[string]string{"type": "url", "target": a.files.url("/teams/team-a/catalog-info.yaml")}, a.other), http.StatusCreated)
	wantError(t, a.register("/teams/team-a/catalog-info.yaml", a.other), http.StatusForbidden, "NotAllowedError",
		"is in a repository of team-a; only team-a and admins may register it")
	wantStatus(t, "team-a registering", a.register("/teams/team-a/catalog-info.yaml", a.dev), http.StatusCreated)
	id := a.locationID("/teams/team-a/catalog-info.yaml")
	wantError(t, a.call("DELETE", "/api/catalog/locations/"+id, nil, a.other), http.StatusForbidden, "NotAllowedError", "only team-a and admins may remove it")

	// Anyone may refresh when nothing changes; a refresh that would change the catalog is team-a's.
	refresh := map[string]string{"entityRef": "component:default/orders"}
	wantStatus(t, "team-b's refresh changing nothing", a.call("POST", "/api/catalog/refresh", refresh, a.other), http.StatusOK)
	a.files.set("/teams/team-a/catalog-info.yaml", strings.Replace(component("orders", "team-a"), "production", "deprecated", 1))
	wantError(t, a.call("POST", "/api/catalog/refresh", refresh, a.other), http.StatusForbidden, "NotAllowedError", "the refresh would change 1 entity")
	if got := mustGet(t, a.c, "component:orders").Spec["lifecycle"]; got != "production" {
		t.Errorf("after team-b's refused refresh lifecycle = %v, want production", got)
	}
	wantStatus(t, "team-a's refresh", a.call("POST", "/api/catalog/refresh", refresh, a.dev), http.StatusOK)
	if got := mustGet(t, a.c, "component:orders").Spec["lifecycle"]; got != "deprecated" {
		t.Errorf("after team-a's refresh lifecycle = %v, want deprecated", got)
	}
	wantStatus(t, "team-a removing its location", a.call("DELETE", "/api/catalog/locations/"+id, nil, a.dev), http.StatusNoContent)

	// A repository no one owns: the registrant's, and admins'.
	a.files.set("/shared/catalog-info.yaml", component("wiki", "team-b"))
	wantStatus(t, "bob registering a shared file", a.register("/shared/catalog-info.yaml", a.other), http.StatusCreated)
	shared := a.locationID("/shared/catalog-info.yaml")
	wantError(t, a.call("DELETE", "/api/catalog/locations/"+shared, nil, a.dev), http.StatusForbidden, "NotAllowedError", "registered by bob; only they and admins may remove it")
	wantStatus(t, "an admin removing the shared location", a.call("DELETE", "/api/catalog/locations/"+shared, nil, a.admin), http.StatusNoContent)
}

// TestLocationTargetsStayWithTheirOwner: a Location entity cannot lead into another owner's repository,
// which would register that team's files (and keep their names) without the team.
func TestLocationTargetsStayWithTheirOwner(t *testing.T) {
	a := newAPI(t, Options{})
	a.files.set("/teams/team-a/catalog-info.yaml", component("orders", "team-a"))
	a.files.set("/teams/team-b/more.yaml", component("search", "team-b"))
	a.files.set("/teams/team-b/catalog-info.yaml", `apiVersion: backstage.io/v1alpha1
kind: Location
metadata:
  name: everything
spec:
  targets: [./more.yaml, ../team-a/catalog-info.yaml]
`)
	r := a.register("/teams/team-b/catalog-info.yaml", a.other)
	if r.status != http.StatusCreated || !strings.Contains(string(r.body), "is in a repository owned by team-a, not by team-b") {
		t.Fatalf("registering = %d %s, want 201 with the target in team-a's repository refused", r.status, r.body)
	}
	mustGet(t, a.c, "component:search")
	wantError(t, a.call("GET", "/api/catalog/entities/by-name/component/default/orders", nil), http.StatusNotFound, "NotFoundError", "orders")
	if r := a.register("/teams/team-a/catalog-info.yaml", a.dev); r.status != http.StatusCreated || strings.Contains(string(r.body), "problems") {
		t.Fatalf("team-a registering its own file afterwards = %d %s, want it registered without problems", r.status, r.body)
	}
}
