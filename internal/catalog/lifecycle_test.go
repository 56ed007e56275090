package catalog

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLocationEntitiesAreFollowed(t *testing.T) {
	ctx := context.Background()
	f := newFiles(t)
	f.set("/org/catalog-info.yaml", `apiVersion: backstage.io/v1alpha1
kind: Location
metadata:
  name: org
spec:
  targets:
    - ./services/orders.yaml
    - `+f.url("/other/payments.yaml")+`
`)
	f.set("/org/services/orders.yaml", component("orders", "team-a")+`---
apiVersion: backstage.io/v1alpha1
kind: Location
metadata:
  name: back-to-root
spec:
  target: ../catalog-info.yaml
`)
	f.set("/other/payments.yaml", component("payments", "team-b"))
	c, _ := openCatalog(t, f.read, Options{})
	root := f.url("/org/catalog-info.yaml")
	_, entities, _, err := c.AddLocation(ctx, "url", root, false)
	if err != nil {
		t.Fatalf("AddLocation: %v", err)
	}
	if got := names(entities); len(got) != 4 {
		t.Fatalf("entities = %v, want org, orders, back-to-root, payments", got)
	}
	orders := mustGet(t, c, "component:orders")
	if got, want := orders.Metadata.Annotations[AnnotationManagedByLocation], "url:"+f.url("/org/services/orders.yaml"); got != want {
		t.Errorf("orders managed-by-location = %q, want %q (its own file)", got, want)
	}
	if got, want := orders.Metadata.Annotations[AnnotationManagedByOriginLocation], "url:"+root; got != want {
		t.Errorf("orders managed-by-origin-location = %q, want %q (the registered location)", got, want)
	}
	mustGet(t, c, "component:payments")
	mustGet(t, c, "location:org")
	if n := f.reads["/org/catalog-info.yaml"]; n != 1 {
		t.Errorf("root read %d times, want once despite the cycle back to it", n)
	}
}

func TestFollowingIsBounded(t *testing.T) {
	ctx := context.Background()
	f := newFiles(t)
	for i := range 10 {
		f.set(fmt.Sprintf("/chain/%d.yaml", i), fmt.Sprintf(`apiVersion: backstage.io/v1alpha1
kind: Location
metadata:
  name: hop-%d
spec:
  target: ./%d.yaml
`, i, i+1))
	}
	c, _ := openCatalog(t, f.read, Options{MaxFiles: 3})
	_, entities, _, err := c.AddLocation(ctx, "url", f.url("/chain/0.yaml"), false)
	if len(entities) != 3 {
		t.Errorf("got %d entities, want 3 (one per file read)", len(entities))
	}
	if err == nil || !strings.Contains(err.Error(), "more than 3 files") {
		t.Errorf("error = %v, want the file limit named", err)
	}
}

func TestRefreshUpdatesEntityAndEtag(t *testing.T) {
	ctx := context.Background()
	f := newFiles(t)
	f.set("/c.yaml", component("orders", "team-a"))
	c, _ := openCatalog(t, f.read, Options{})
	loc, _, _, err := c.AddLocation(ctx, "url", f.url("/c.yaml"), false)
	if err != nil {
		t.Fatal(err)
	}
	before := mustGet(t, c, "component:orders")

	if err := c.Refresh(ctx, loc.ID); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	same := mustGet(t, c, "component:orders")
	if same.Metadata.Etag != before.Metadata.Etag {
		t.Errorf("etag changed from %s to %s on a refresh that changed nothing", before.Metadata.Etag, same.Metadata.Etag)
	}

	f.set("/c.yaml", component("orders", "team-b"))
	if err := c.Refresh(ctx, loc.ID); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	after := mustGet(t, c, "component:orders")
	if after.Metadata.Etag == before.Metadata.Etag {
		t.Errorf("etag %s did not change when the owner did", after.Metadata.Etag)
	}
	if after.Metadata.UID != before.Metadata.UID {
		t.Errorf("uid changed from %s to %s; it must be stable", before.Metadata.UID, after.Metadata.UID)
	}
	if after.Spec["owner"] != "team-b" || !hasRelation(after, RelationOwnedBy, "group:default/team-b") || hasRelation(after, RelationOwnedBy, "group:default/team-a") {
		t.Errorf("after refresh owner = %v, relations = %v; want team-b only", after.Spec["owner"], after.Relations)
	}
	if _, err := c.Get(ctx, Ref{"group", "default", "team-a"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(team-a) = %v, want ErrNotFound (groups are not invented)", err)
	}
}

func TestRemovedEntityIsOrphanedThenRemoved(t *testing.T) {
	ctx := context.Background()
	f := newFiles(t)
	f.set("/c.yaml", component("orders", "team-a")+"---\n"+component("legacy", "team-a"))
	clk := &clock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	c, _ := openCatalog(t, f.read, Options{OrphanGrace: time.Hour, Now: clk.Now})
	loc, _, _, err := c.AddLocation(ctx, "url", f.url("/c.yaml"), false)
	if err != nil {
		t.Fatal(err)
	}
	uid := mustGet(t, c, "component:legacy").Metadata.UID

	f.set("/c.yaml", component("orders", "team-a"))
	if err := c.Refresh(ctx, loc.ID); err != nil {
		t.Fatal(err)
	}
	legacy := mustGet(t, c, "component:legacy")
	if legacy.Metadata.Annotations[AnnotationOrphan] != "true" {
		t.Errorf("legacy annotations = %v, want backstage.io/orphan: true", legacy.Metadata.Annotations)
	}
	if _, ok := mustGet(t, c, "component:orders").Metadata.Annotations[AnnotationOrphan]; ok {
		t.Error("orders is marked orphan, but it is still in the file")
	}
	if n, err := c.PurgeOrphans(ctx); err != nil || n != 0 {
		t.Errorf("PurgeOrphans within the grace period = %d, %v; want 0", n, err)
	}

	clk.advance(2 * time.Hour)
	if n, err := c.PurgeOrphans(ctx); err != nil || n != 1 {
		t.Errorf("PurgeOrphans after the grace period = %d, %v; want 1", n, err)
	}
	if _, err := c.Get(ctx, Ref{"component", "default", "legacy"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(legacy) = %v, want ErrNotFound", err)
	}

	// Back in the file: a new entity (the old one is gone), not an orphan.
	f.set("/c.yaml", component("orders", "team-a")+"---\n"+component("legacy", "team-a"))
	if err := c.Refresh(ctx, loc.ID); err != nil {
		t.Fatal(err)
	}
	back := mustGet(t, c, "component:legacy")
	if back.Metadata.UID == uid || back.Metadata.Annotations[AnnotationOrphan] != "" {
		t.Errorf("re-added legacy: uid %s (old %s), orphan %q; want a new uid and no orphan mark", back.Metadata.UID, uid, back.Metadata.Annotations[AnnotationOrphan])
	}
}

func TestOrphanThatReturnsKeepsItsUID(t *testing.T) {
	ctx := context.Background()
	f := newFiles(t)
	f.set("/c.yaml", component("orders", "team-a"))
	c, _ := openCatalog(t, f.read, Options{OrphanGrace: time.Hour})
	loc, _, _, _ := c.AddLocation(ctx, "url", f.url("/c.yaml"), false)
	uid := mustGet(t, c, "component:orders").Metadata.UID
	f.set("/c.yaml", component("other", "team-a"))
	c.Refresh(ctx, loc.ID)
	f.set("/c.yaml", component("orders", "team-a"))
	if err := c.Refresh(ctx, loc.ID); err != nil {
		t.Fatal(err)
	}
	got := mustGet(t, c, "component:orders")
	if got.Metadata.UID != uid || got.Metadata.Annotations[AnnotationOrphan] != "" {
		t.Errorf("returned entity uid %s orphan %q, want uid %s and no orphan mark", got.Metadata.UID, got.Metadata.Annotations[AnnotationOrphan], uid)
	}
}

func TestWithoutGraceRemovedEntitiesGoAtOnce(t *testing.T) {
	ctx := context.Background()
	f := newFiles(t)
	f.set("/c.yaml", component("orders", "team-a")+"---\n"+component("legacy", "team-a"))
	c, _ := openCatalog(t, f.read, Options{})
	loc, _, _, _ := c.AddLocation(ctx, "url", f.url("/c.yaml"), false)
	f.set("/c.yaml", component("orders", "team-a"))
	if err := c.Refresh(ctx, loc.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, Ref{"component", "default", "legacy"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(legacy) = %v, want ErrNotFound", err)
	}
	team := &Entity{APIVersion: "backstage.io/v1alpha1", Kind: "Group", Metadata: Metadata{Name: "team-a"}, Spec: map[string]any{"type": "team", "children": []any{}}}
	if err := c.Upsert(ctx, "goldenpath:org", []*Entity{team}); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, c, "group:team-a"); hasRelation(got, RelationOwnerOf, "component:default/legacy") || !hasRelation(got, RelationOwnerOf, "component:default/orders") {
		t.Errorf("team-a relations = %v, want ownerOf orders only (legacy's relations go with it)", got.Relations)
	}
}

func TestBrokenEditsKeepStoredEntities(t *testing.T) {
	ctx := context.Background()
	f := newFiles(t)
	f.set("/root.yaml", component("orders", "team-a")+`---
apiVersion: backstage.io/v1alpha1
kind: Location
metadata:
  name: more
spec:
  target: ./more.yaml
`)
	f.set("/more.yaml", component("payments", "team-a")+"---\n"+component("billing", "team-a"))
	c, _ := openCatalog(t, f.read, Options{})
	loc, _, _, err := c.AddLocation(ctx, "url", f.url("/root.yaml"), false)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		edit  func()
		fatal bool // Refresh fails as a whole
	}{
		{name: "an entity becomes invalid", edit: func() {
			f.set("/root.yaml", strings.Replace(component("orders", "team-a"), "  owner: team-a\n", "", 1)+"---\napiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: more\nspec:\n  target: ./more.yaml\n")
		}},
		{name: "a followed file disappears", edit: func() { f.remove("/more.yaml") }},
		{name: "a followed file stops being YAML", edit: func() { f.set("/more.yaml", "apiVersion: [oops\n") }},
		{name: "the root file disappears", edit: func() { f.remove("/root.yaml") }, fatal: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.edit()
			err := c.Refresh(ctx, loc.ID)
			var list EntityErrors
			if tt.fatal && (err == nil || errors.As(err, &list)) {
				t.Errorf("Refresh = %v, want a fatal error", err)
			}
			if !tt.fatal && !errors.As(err, &list) {
				t.Errorf("Refresh = %v, want EntityErrors", err)
			}
			for _, ref := range []string{"component:orders", "component:payments", "component:billing"} {
				e := mustGet(t, c, ref)
				if e.Metadata.Annotations[AnnotationOrphan] != "" {
					t.Errorf("%s is marked orphan", ref)
				}
			}
			if got := mustGet(t, c, "component:orders").Spec["owner"]; got != "team-a" {
				t.Errorf("orders owner = %v, want the last valid version's team-a", got)
			}
		})
	}
}

func TestConflictsBetweenLocations(t *testing.T) {
	ctx := context.Background()
	f := newFiles(t)
	f.set("/a.yaml", component("orders", "team-a"))
	f.set("/b.yaml", component("Orders", "team-b")+"---\n"+component("billing", "team-b"))
	c, _ := openCatalog(t, f.read, Options{})
	locA, _, _, err := c.AddLocation(ctx, "url", f.url("/a.yaml"), false)
	if err != nil {
		t.Fatal(err)
	}
	locB, entities, _, err := c.AddLocation(ctx, "url", f.url("/b.yaml"), false)
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "component:default/orders") || !strings.Contains(err.Error(), f.url("/a.yaml")) {
		t.Fatalf("AddLocation(b) error = %v, want a conflict on component:default/orders naming a.yaml", err)
	}
	if len(entities) != 1 || entities[0].Metadata.Name != "billing" {
		t.Errorf("b stored %v, want only billing", names(entities))
	}
	if got := mustGet(t, c, "component:orders"); got.Spec["owner"] != "team-a" {
		t.Errorf("orders owner = %v, want team-a (the first location keeps it)", got.Spec["owner"])
	}
	if err := c.Refresh(ctx, locB.ID); !errors.Is(err, ErrConflict) {
		t.Errorf("Refresh(b) = %v, want the conflict again", err)
	}

	// Once a lets go, b's next refresh takes the entity over.
	if err := c.RemoveLocation(ctx, locA.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.Refresh(ctx, locB.ID); err != nil {
		t.Fatalf("Refresh(b) after a was removed: %v", err)
	}
	if got := mustGet(t, c, "component:orders"); got.Spec["owner"] != "team-b" || got.Metadata.Name != "Orders" {
		t.Errorf("orders = %s owned by %v, want b's Orders owned by team-b", got.Metadata.Name, got.Spec["owner"])
	}

	// goldenpath's own entities are the exception: a registered file that claimed one of their names first
	// does not keep goldenpath from stating it, and the file's location reports the conflict from then on.
	err = c.Upsert(ctx, "goldenpath:requests", []*Entity{{APIVersion: "backstage.io/v1alpha1", Kind: "Component",
		Metadata: Metadata{Name: "billing"}, Spec: map[string]any{"type": "s", "lifecycle": "l", "owner": "o"}}})
	if err != nil {
		t.Fatalf("Upsert(billing) = %v, want goldenpath's billing stored", err)
	}
	if got := mustGet(t, c, "component:billing"); got.Spec["owner"] != "o" || got.Metadata.Annotations[AnnotationManagedByLocation] != "goldenpath:requests" {
		t.Errorf("billing = owned by %v from %s, want goldenpath's", got.Spec["owner"], got.Metadata.Annotations[AnnotationManagedByLocation])
	}
	if err := c.Refresh(ctx, locB.ID); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "goldenpath:requests") {
		t.Errorf("Refresh(b) = %v, want a conflict on billing naming goldenpath:requests", err)
	}
	if got := mustGet(t, c, "component:billing"); got.Spec["owner"] != "o" {
		t.Errorf("after b's refresh billing is owned by %v, want goldenpath's o", got.Spec["owner"])
	}
}

func TestConflictInsideOneLocation(t *testing.T) {
	ctx := context.Background()
	f := newFiles(t)
	f.set("/c.yaml", component("orders", "team-a")+"---\n"+component("orders", "team-b"))
	c, _ := openCatalog(t, f.read, Options{})
	_, entities, _, err := c.AddLocation(ctx, "url", f.url("/c.yaml"), false)
	if !errors.Is(err, ErrConflict) || len(entities) != 1 || entities[0].Spec["owner"] != "team-a" {
		t.Errorf("AddLocation = %d entities, %v; want the first orders and a conflict for the second", len(entities), err)
	}
}

func TestRemoveLocation(t *testing.T) {
	ctx := context.Background()
	f := newFiles(t)
	f.set("/a.yaml", component("orders", "team-a"))
	f.set("/b.yaml", component("billing", "team-a"))
	clk := &clock{now: time.Unix(1_700_000_000, 0)}
	c, _ := openCatalog(t, f.read, Options{OrphanGrace: time.Minute, Now: clk.Now})
	locA, _, _, _ := c.AddLocation(ctx, "url", f.url("/a.yaml"), false)
	locB, _, _, _ := c.AddLocation(ctx, "url", f.url("/b.yaml"), false)
	if err := c.RemoveLocation(ctx, locA.ID); err != nil {
		t.Fatalf("RemoveLocation: %v", err)
	}
	if got := mustGet(t, c, "component:orders"); got.Metadata.Annotations[AnnotationOrphan] != "true" {
		t.Errorf("orders after its location was removed: annotations %v, want orphan", got.Metadata.Annotations)
	}
	clk.advance(time.Hour)
	c.PurgeOrphans(ctx)
	if _, err := c.Get(ctx, Ref{"component", "default", "orders"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(orders) = %v, want ErrNotFound after the grace period", err)
	}
	mustGet(t, c, "component:billing")
	locs, err := c.Locations(ctx)
	if err != nil || len(locs) != 1 || locs[0] != locB {
		t.Errorf("Locations = %v, %v; want only %v", locs, err, locB)
	}
	if err := c.RemoveLocation(ctx, locA.ID); !errors.Is(err, ErrLocationNotFound) {
		t.Errorf("second RemoveLocation = %v, want ErrLocationNotFound", err)
	}
	if err := c.Refresh(ctx, locA.ID); !errors.Is(err, ErrLocationNotFound) {
		t.Errorf("Refresh(removed) = %v, want ErrLocationNotFound", err)
	}
}

func TestRefreshTarget(t *testing.T) {
	ctx := context.Background()
	f := newFiles(t)
	f.set("/git/acme/orders/catalog-info.yaml", component("orders", "team-a"))
	f.set("/git/acme/orders-v2/catalog-info.yaml", component("orders-v2", "team-a"))
	f.set("/git/acme/billing/catalog-info.yaml", component("billing", "team-a"))
	c, _ := openCatalog(t, f.read, Options{})
	for _, p := range []string{"/git/acme/orders/catalog-info.yaml", "/git/acme/orders-v2/catalog-info.yaml", "/git/acme/billing/catalog-info.yaml"} {
		if _, _, _, err := c.AddLocation(ctx, "url", f.url(p), false); err != nil {
			t.Fatal(err)
		}
	}
	f.set("/git/acme/orders/catalog-info.yaml", component("orders", "team-z"))
	if err := c.RefreshTarget(ctx, f.url("/git/acme/orders/")); err != nil {
		t.Fatalf("RefreshTarget: %v", err)
	}
	if got := mustGet(t, c, "component:orders").Spec["owner"]; got != "team-z" {
		t.Errorf("orders owner = %v, want team-z", got)
	}
	for path, want := range map[string]int{"/git/acme/orders/catalog-info.yaml": 2, "/git/acme/orders-v2/catalog-info.yaml": 1, "/git/acme/billing/catalog-info.yaml": 1} {
		if got := f.reads[path]; got != want {
			t.Errorf("%s read %d times, want %d", path, got, want)
		}
	}
	if err := c.RefreshTarget(ctx, ""); err == nil {
		t.Error("RefreshTarget(\"\") = nil, want an error (it would refresh everything)")
	}
}

func TestPlaceholdersAreResolved(t *testing.T) {
	ctx := context.Background()
	f := newFiles(t)
	f.set("/api/catalog-info.yaml", `apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: orders-api
spec:
  type: openapi
  lifecycle: production
  owner: team-a
  definition:
    $text: ./openapi.yaml
  extra:
    $json: ./extra.json
`)
	f.set("/api/openapi.yaml", "openapi: 3.0.0\ninfo:\n  title: Orders\n")
	f.set("/api/extra.json", `{"rateLimit": 10}`)
	c, _ := openCatalog(t, f.read, Options{})
	if _, _, _, err := c.AddLocation(ctx, "url", f.url("/api/catalog-info.yaml"), false); err != nil {
		t.Fatal(err)
	}
	got := mustGet(t, c, "api:orders-api")
	if got.Spec["definition"] != "openapi: 3.0.0\ninfo:\n  title: Orders\n" {
		t.Errorf("definition = %q, want the content of openapi.yaml", got.Spec["definition"])
	}
	if extra, _ := got.Spec["extra"].(map[string]any); extra["rateLimit"] != float64(10) {
		t.Errorf("extra = %v, want the decoded extra.json", got.Spec["extra"])
	}
}

func TestPersistenceAcrossOpen(t *testing.T) {
	ctx := context.Background()
	f := newFiles(t)
	f.set("/c.yaml", component("orders", "team-a"))
	c, path := openCatalog(t, f.read, Options{})
	loc, _, _, _ := c.AddLocation(ctx, "url", f.url("/c.yaml"), false)
	team := &Entity{APIVersion: "backstage.io/v1alpha1", Kind: "Group", Metadata: Metadata{Name: "team-a"}, Spec: map[string]any{"type": "team", "children": []any{}}}
	if err := c.Upsert(ctx, "goldenpath:org", []*Entity{team}); err != nil {
		t.Fatal(err)
	}
	before := mustGet(t, c, "component:orders")
	c.Close()

	c2, err := Open(ctx, path, f.read, nil)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer c2.Close()
	after := mustGet(t, c2, "component:orders")
	if after.Metadata.UID != before.Metadata.UID || after.Metadata.Etag != before.Metadata.Etag {
		t.Errorf("after reopen uid/etag = %s/%s, want %s/%s", after.Metadata.UID, after.Metadata.Etag, before.Metadata.UID, before.Metadata.Etag)
	}
	if !hasRelation(mustGet(t, c2, "group:team-a"), RelationOwnerOf, "component:default/orders") {
		t.Error("relations did not survive the reopen")
	}
	locs, _ := c2.Locations(ctx)
	if len(locs) != 2 || locs[0] != loc || locs[1].Type != "goldenpath" || locs[1].Target != "org" {
		t.Errorf("Locations after reopen = %v, want %v and goldenpath:org", locs, loc)
	}
	_, _, exists, err := c2.AddLocation(ctx, "url", f.url("/c.yaml"), false)
	if err != nil || !exists {
		t.Errorf("AddLocation after reopen: exists=%v, %v; want exists", exists, err)
	}
}

func TestUpsertReplaceAndDelete(t *testing.T) {
	ctx := context.Background()
	f := newFiles(t)
	c, _ := openCatalog(t, f.read, Options{})
	res := func(name string) *Entity {
		return &Entity{APIVersion: "backstage.io/v1alpha1", Kind: "Resource", Metadata: Metadata{Name: name},
			Spec: map[string]any{"type": "s3-bucket", "owner": "team-a"}}
	}
	if err := c.Upsert(ctx, "goldenpath:requests", []*Entity{res("a"), res("b")}); err != nil {
		t.Fatal(err)
	}
	uid := mustGet(t, c, "resource:a").Metadata.UID
	if err := c.Upsert(ctx, "goldenpath:requests", []*Entity{res("c")}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"resource:a", "resource:b", "resource:c"} {
		mustGet(t, c, r)
	}
	if err := c.ReplaceSource(ctx, "goldenpath:requests", []*Entity{res("a")}); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, c, "resource:a").Metadata.UID; got != uid {
		t.Errorf("uid of a changed from %s to %s", uid, got)
	}
	for _, r := range []Ref{{"resource", "default", "b"}, {"resource", "default", "c"}} {
		if _, err := c.Get(ctx, r); !errors.Is(err, ErrNotFound) {
			t.Errorf("after ReplaceSource Get(%s) = %v, want ErrNotFound", r, err)
		}
	}
	if err := c.Delete(ctx, Ref{"resource", "default", "a"}); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if err := c.Delete(ctx, Ref{"resource", "default", "a"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Delete = %v, want ErrNotFound", err)
	}

	bad := []struct {
		source string
		batch  []*Entity
		errHas string
	}{
		{"requests", []*Entity{res("a")}, "type:target"},
		{"url:https://x", []*Entity{res("a")}, "type url is for registered locations"},
		{"goldenpath:requests", []*Entity{res("a"), res("A")}, "appears twice"},
		{"goldenpath:requests", []*Entity{res("a"), nil}, "must not be nil"},
	}
	for _, b := range bad {
		if err := c.Upsert(ctx, b.source, b.batch); err == nil || !strings.Contains(err.Error(), b.errHas) {
			t.Errorf("Upsert(%q) = %v, want an error containing %q", b.source, err, b.errHas)
		}
	}
	if _, err := c.Get(ctx, Ref{"resource", "default", "a"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("a failed Upsert stored something: Get(a) = %v", err)
	}
}

func TestList(t *testing.T) {
	ctx := context.Background()
	f := newFiles(t)
	c, _ := openCatalog(t, f.read, Options{})
	var batch []*Entity
	for i := range 25 {
		owner := "team-a"
		if i%2 == 1 {
			owner = "team-b"
		}
		batch = append(batch, &Entity{APIVersion: "backstage.io/v1alpha1", Kind: "Component", Metadata: Metadata{Name: fmt.Sprintf("svc-%02d", i)},
			Spec: map[string]any{"type": "service", "lifecycle": "production", "owner": owner}})
	}
	batch = append(batch, &Entity{APIVersion: "backstage.io/v1alpha1", Kind: "System", Metadata: Metadata{Name: "shop"}, Spec: map[string]any{"owner": "team-a"}})
	if err := c.Upsert(ctx, "goldenpath:test", batch); err != nil {
		t.Fatal(err)
	}
	var all []string
	after := ""
	for {
		page, err := c.List(ctx, "Component", after, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			all = append(all, e.Metadata.Name)
		}
		after = page[len(page)-1].Ref().String()
	}
	if len(all) != 25 || all[0] != "svc-00" || all[24] != "svc-24" {
		t.Errorf("paged components = %v, want svc-00..svc-24 in order", all)
	}
	everything, _ := c.List(ctx, "", "", 0)
	if len(everything) != 26 || everything[25].Kind != "System" {
		t.Errorf("List(all) = %d entities ending in %s, want 26 ending in the system", len(everything), everything[len(everything)-1].Kind)
	}
	if first, _ := c.List(ctx, "component", "", 1); len(first) != 1 || !hasRelation(first[0], RelationOwnedBy, "group:default/team-a") {
		t.Errorf("List entities carry relations %v, want ownedBy team-a", first[0].Relations)
	}
	owned, err := c.ListByOwner(ctx, Ref{"group", "default", "team-b"}, "", 100)
	if err != nil || len(owned) != 12 {
		t.Errorf("ListByOwner(team-b) = %d, %v; want 12", len(owned), err)
	}
	for _, limit := range []int{-1, maxListLimit + 1} {
		if _, err := c.List(ctx, "", "", limit); err == nil || !strings.Contains(err.Error(), "limit") {
			t.Errorf("List(limit %d) = %v, want a limit error", limit, err)
		}
	}
}

func TestConcurrentRegistrationAndRefresh(t *testing.T) {
	ctx := context.Background()
	f := newFiles(t)
	f.set("/c.yaml", component("orders", "team-a"))
	c, _ := openCatalog(t, f.read, Options{})
	var wg sync.WaitGroup
	ids := make([]string, 8)
	errs := make([]error, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			loc, _, _, err := c.AddLocation(ctx, "url", f.url("/c.yaml"), false)
			ids[i], errs[i] = loc.ID, err
			if err == nil {
				errs[i] = c.Refresh(ctx, loc.ID)
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("goroutine %d: %v", i, err)
		}
		if ids[i] != ids[0] {
			t.Errorf("goroutine %d got location %s, want %s (one location per target)", i, ids[i], ids[0])
		}
	}
	if locs, _ := c.Locations(ctx); len(locs) != 1 {
		t.Errorf("Locations = %v, want exactly one", locs)
	}
}

func TestAddLocationBadInput(t *testing.T) {
	f := newFiles(t)
	c, _ := openCatalog(t, f.read, Options{})
	for _, tt := range []struct{ typ, target, errHas string }{
		{"file", "/etc/passwd", `type "file" is not supported`},
		{"url", "  ", "target: must not be empty"},
	} {
		if _, _, _, err := c.AddLocation(context.Background(), tt.typ, tt.target, false); err == nil || !strings.Contains(err.Error(), tt.errHas) {
			t.Errorf("AddLocation(%q, %q) = %v, want an error containing %q", tt.typ, tt.target, err, tt.errHas)
		}
	}
}

func TestOpenBadInput(t *testing.T) {
	ctx := context.Background()
	f := newFiles(t)
	if _, err := Open(ctx, "", f.read, nil); err == nil || !strings.Contains(err.Error(), "path") {
		t.Errorf("Open(\"\") = %v, want a path error", err)
	}
	if _, err := Open(ctx, t.TempDir()+"/c.db", nil, nil); err == nil || !strings.Contains(err.Error(), "read") {
		t.Errorf("Open(nil reader) = %v, want a read error", err)
	}
	if _, err := OpenWith(ctx, t.TempDir()+"/c.db", f.read, nil, Options{OrphanGrace: -1}); err == nil || !strings.Contains(err.Error(), "OrphanGrace") {
		t.Errorf("OpenWith(negative grace) = %v, want an OrphanGrace error", err)
	}
}

func TestUnresolvablePlaceholderKeepsLastVersion(t *testing.T) {
	ctx := context.Background()
	f := newFiles(t)
	api := func(definition string) string {
		return "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: orders-api\nspec:\n  type: openapi\n  lifecycle: production\n  owner: team-a\n  definition:\n    $text: " + definition + "\n"
	}
	f.set("/api/openapi.yaml", "openapi: 3.0.0\n")
	f.set("/api/catalog-info.yaml", api("./openapi.yaml"))
	c, _ := openCatalog(t, f.read, Options{})
	loc, _, _, err := c.AddLocation(ctx, "url", f.url("/api/catalog-info.yaml"), false)
	if err != nil {
		t.Fatal(err)
	}
	f.set("/api/catalog-info.yaml", api("./missing.yaml"))
	err = c.Refresh(ctx, loc.ID)
	if err == nil || !strings.Contains(err.Error(), "spec.definition") || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("Refresh = %v, want an error on spec.definition naming missing.yaml", err)
	}
	if got := mustGet(t, c, "api:orders-api").Spec["definition"]; got != "openapi: 3.0.0\n" {
		t.Errorf("definition = %v, want the last resolved text", got)
	}
}
