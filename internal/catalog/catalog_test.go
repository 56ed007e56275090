package catalog

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAddLocationStoresEntitiesWithRelations(t *testing.T) {
	ctx := context.Background()
	f := newFiles(t)
	f.set("/orders/catalog-info.yaml", component("orders", "team-a")+`---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-a
spec:
  type: team
  children: []
`)
	c, _ := openCatalog(t, f.read, Options{})
	target := f.url("/orders/catalog-info.yaml")
	loc, entities, exists, err := c.AddLocation(ctx, "url", target, false)
	if err != nil {
		t.Fatalf("AddLocation: %v", err)
	}
	if exists || loc.ID == "" || loc.Type != "url" || loc.Target != target {
		t.Fatalf("AddLocation = %+v exists=%v, want a new url location for %s", loc, exists, target)
	}
	if len(entities) != 2 {
		t.Fatalf("got %d entities, want 2", len(entities))
	}
	orders := mustGet(t, c, "component:default/orders")
	if orders.Metadata.UID == "" || orders.Metadata.Etag == "" {
		t.Errorf("uid = %q, etag = %q; want both set", orders.Metadata.UID, orders.Metadata.Etag)
	}
	if got, want := orders.Metadata.Annotations[AnnotationManagedByLocation], "url:"+target; got != want {
		t.Errorf("managed-by-location = %q, want %q", got, want)
	}
	if got, want := orders.Metadata.Annotations[AnnotationManagedByOriginLocation], "url:"+target; got != want {
		t.Errorf("managed-by-origin-location = %q, want %q", got, want)
	}
	if !hasRelation(orders, RelationOwnedBy, "group:default/team-a") {
		t.Errorf("orders relations = %v, want ownedBy group:default/team-a", orders.Relations)
	}
	team := mustGet(t, c, "group:default/team-a")
	if !hasRelation(team, RelationOwnerOf, "component:default/orders") {
		t.Errorf("team-a relations = %v, want ownerOf component:default/orders", team.Relations)
	}
	byUID, err := c.GetByUID(ctx, orders.Metadata.UID)
	if err != nil || byUID.Metadata.Name != "orders" {
		t.Errorf("GetByUID(%s) = %v, %v; want orders", orders.Metadata.UID, byUID, err)
	}

	again, entities, exists, err := c.AddLocation(ctx, "url", target, false)
	if err != nil || !exists || again.ID != loc.ID || len(entities) != 2 {
		t.Errorf("second AddLocation = %+v, %d entities, exists=%v, %v; want the same location, 2 entities, exists", again, len(entities), exists, err)
	}
}

func TestGetMissing(t *testing.T) {
	f := newFiles(t)
	c, _ := openCatalog(t, f.read, Options{})
	_, err := c.Get(context.Background(), Ref{"component", "default", "nope"})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(missing) error = %v, want ErrNotFound", err)
	}
	_, err = c.GetByUID(context.Background(), "no-such-uid")
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("GetByUID(missing) error = %v, want ErrNotFound", err)
	}
}

func TestAddLocationKeepsValidEntitiesOfABadFile(t *testing.T) {
	ctx := context.Background()
	f := newFiles(t)
	f.set("/repo/catalog-info.yaml", component("good-one", "team-a")+"---\n"+component("bad_", "team-a")+"---\n"+component("good-two", "team-a"))
	c, _ := openCatalog(t, f.read, Options{})
	_, entities, _, err := c.AddLocation(ctx, "url", f.url("/repo/catalog-info.yaml"), false)
	var list EntityErrors
	if !errors.As(err, &list) || len(list) != 1 {
		t.Fatalf("AddLocation error = %v, want one entity error", err)
	}
	if msg := list[0].Error(); !strings.Contains(msg, "document 2") || !strings.Contains(msg, "metadata.name") {
		t.Errorf("error %q should name document 2 and metadata.name", msg)
	}
	if len(entities) != 2 {
		t.Errorf("got %d entities, want the 2 valid ones", len(entities))
	}
	mustGet(t, c, "component:good-one")
	mustGet(t, c, "component:good-two")
}

func TestAddLocationUnreadableIsNotRegistered(t *testing.T) {
	ctx := context.Background()
	f := newFiles(t)
	c, _ := openCatalog(t, f.read, Options{})
	_, _, _, err := c.AddLocation(ctx, "url", f.url("/missing.yaml"), false)
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("AddLocation(missing) error = %v, want the 404", err)
	}
	if locs, _ := c.Locations(ctx); len(locs) != 0 {
		t.Errorf("Locations = %v, want none", locs)
	}
}

func TestAddLocationDryRunStoresNothing(t *testing.T) {
	ctx := context.Background()
	f := newFiles(t)
	f.set("/c.yaml", component("orders", "team-a"))
	c, _ := openCatalog(t, f.read, Options{})
	_, entities, _, err := c.AddLocation(ctx, "url", f.url("/c.yaml"), true)
	if err != nil || len(entities) != 1 || entities[0].Metadata.Name != "orders" {
		t.Fatalf("dry run = %v, %v; want the orders entity", entities, err)
	}
	if entities[0].Metadata.UID != "" {
		t.Errorf("dry-run entity has uid %q, want none", entities[0].Metadata.UID)
	}
	if _, err := c.Get(ctx, Ref{"component", "default", "orders"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("after dry run Get = %v, want ErrNotFound", err)
	}
	if locs, _ := c.Locations(ctx); len(locs) != 0 {
		t.Errorf("after dry run Locations = %v, want none", locs)
	}
}

func TestUpsert(t *testing.T) {
	ctx := context.Background()
	f := newFiles(t)
	c, _ := openCatalog(t, f.read, Options{})
	res := &Entity{APIVersion: "backstage.io/v1alpha1", Kind: "Resource",
		Metadata: Metadata{Name: "orders-db", Labels: map[string]string{"goldenpath.dev/request": "rds-1"}},
		Spec:     map[string]any{"type": "database", "owner": "team-a", "system": "shop"}}
	if err := c.Upsert(ctx, "goldenpath:requests", []*Entity{res}); err != nil {
		t.Fatalf("Upsert: %v", err)
	}
	got := mustGet(t, c, "resource:orders-db")
	if got.Metadata.Annotations[AnnotationManagedByLocation] != "goldenpath:requests" {
		t.Errorf("managed-by-location = %q, want goldenpath:requests", got.Metadata.Annotations[AnnotationManagedByLocation])
	}
	if !hasRelation(got, RelationPartOf, "system:default/shop") {
		t.Errorf("relations = %v, want partOf system:default/shop", got.Relations)
	}
	if res.Metadata.Annotations != nil {
		t.Errorf("Upsert changed the caller's entity: annotations = %v", res.Metadata.Annotations)
	}
	bad := &Entity{APIVersion: "backstage.io/v1alpha1", Kind: "Resource", Metadata: Metadata{Name: "x"}, Spec: map[string]any{"type": "db"}}
	err := c.Upsert(ctx, "goldenpath:requests", []*Entity{bad})
	if err == nil || !strings.Contains(err.Error(), "spec.owner") {
		t.Errorf("Upsert(invalid) error = %v, want one naming spec.owner", err)
	}
}

// TestCatalogFilesArePrivate: catalog.db and its -wal and -shm files are readable only by goldenpath's user,
// from the first open, after writes, and after a reopen of files an older version left 0644.
func TestCatalogFilesArePrivate(t *testing.T) {
	ctx := context.Background()
	f := newFiles(t)
	f.set("/orders/catalog-info.yaml", component("orders", "team-a"))
	path := filepath.Join(t.TempDir(), "catalog.db")
	c, err := Open(ctx, path, f.read, nil)
	if err != nil {
		t.Fatal(err)
	}
	files := []string{path, path + "-wal", path + "-shm"}
	wantPrivate(t, "after open", files...)
	if _, _, _, err := c.AddLocation(ctx, "url", f.url("/orders/catalog-info.yaml"), false); err != nil {
		t.Fatal(err)
	}
	wantPrivate(t, "after writes", files...)
	c.Close()
	for _, name := range files[:1] {
		if err := os.Chmod(name, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c, err = Open(ctx, path, f.read, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	mustGet(t, c, "component:default/orders")
	wantPrivate(t, "after reopening a 0644 catalog", files...)
}

func wantPrivate(t *testing.T, when string, names ...string) {
	t.Helper()
	for _, name := range names {
		info, err := os.Stat(name)
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if got := info.Mode().Perm(); got != 0o600 {
			t.Errorf("%s: %s has mode %o, want 600", when, filepath.Base(name), got)
		}
	}
}
