package catalog

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestStatusExplainsMissingEntities(t *testing.T) {
	ctx := context.Background()
	f := newFiles(t)
	f.set("/c.yaml", component("orders", "team-a")+"---\n"+strings.Replace(component("billing", "team-a"), "  lifecycle: production\n", "", 1))
	clk := &clock{now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	c, _ := openCatalog(t, f.read, Options{Now: clk.Now})
	loc, _, _, _ := c.AddLocation(ctx, "url", f.url("/c.yaml"), false)

	st, err := c.Status(ctx, loc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Location != loc || st.Entities != 1 || !st.RefreshedAt.Equal(clk.Now()) {
		t.Errorf("status = %+v, want %v with 1 entity refreshed at %s", st, loc, clk.Now())
	}
	if len(st.Problems) != 1 || !strings.Contains(st.Problems[0], "spec.lifecycle: is required") {
		t.Errorf("problems = %q, want billing's missing lifecycle", st.Problems)
	}

	clk.advance(time.Minute)
	f.remove("/c.yaml")
	c.Refresh(ctx, loc.ID)
	st, _ = c.Status(ctx, loc.ID)
	if len(st.Problems) != 1 || !strings.Contains(st.Problems[0], "404") || st.Entities != 1 || !st.RefreshedAt.Equal(clk.Now()) {
		t.Errorf("after the file vanished status = %+v, want the 404, the entity kept, and the new time", st)
	}

	f.set("/c.yaml", component("orders", "team-a"))
	c.Refresh(ctx, loc.ID)
	if st, _ = c.Status(ctx, loc.ID); len(st.Problems) != 0 {
		t.Errorf("after the fix problems = %q, want none", st.Problems)
	}
	if _, err := c.Status(ctx, "nope"); !errors.Is(err, ErrLocationNotFound) {
		t.Errorf("Status(unknown) = %v, want ErrLocationNotFound", err)
	}
}

func TestLocationOfAndLocationEntities(t *testing.T) {
	ctx := context.Background()
	f := newFiles(t)
	f.set("/a.yaml", component("orders", "team-a")+"---\n"+component("billing", "team-a"))
	c, _ := openCatalog(t, f.read, Options{})
	loc, _, _, _ := c.AddLocation(ctx, "url", f.url("/a.yaml"), false)
	got, err := c.LocationOf(ctx, Ref{"component", "default", "orders"})
	if err != nil || got != loc {
		t.Errorf("LocationOf(orders) = %v, %v; want %v", got, err, loc)
	}
	if _, err := c.LocationOf(ctx, Ref{"component", "default", "nope"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("LocationOf(missing) = %v, want ErrNotFound", err)
	}
	entities, err := c.LocationEntities(ctx, loc.ID)
	if err != nil || len(entities) != 2 || entities[0].Metadata.Name != "billing" {
		t.Errorf("LocationEntities = %v, %v; want billing and orders", names(entities), err)
	}
	if _, err := c.LocationEntities(ctx, "nope"); !errors.Is(err, ErrLocationNotFound) {
		t.Errorf("LocationEntities(unknown) = %v, want ErrLocationNotFound", err)
	}
}

func TestRunRefreshesAndPurges(t *testing.T) {
	f := newFiles(t)
	f.set("/c.yaml", component("orders", "team-a"))
	c, _ := openCatalog(t, f.read, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, _, _, err := c.AddLocation(ctx, "url", f.url("/c.yaml"), false); err != nil {
		t.Fatal(err)
	}
	if err := c.Run(ctx, 0); err == nil {
		t.Error("Run(0) = nil, want an interval error")
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, 10*time.Millisecond) }()
	f.set("/c.yaml", component("orders", "team-b"))
	deadline := time.Now().Add(5 * time.Second)
	for mustGet(t, c, "component:orders").Spec["owner"] != "team-b" {
		if time.Now().After(deadline) {
			t.Fatal("Run did not pick up the change within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run after cancel = %v, want nil", err)
	}
}

// A group with more members than one relation INSERT takes still gets all its relations.
func TestLargeGroupRelations(t *testing.T) {
	ctx := context.Background()
	f := newFiles(t)
	c, _ := openCatalog(t, f.read, Options{})
	members := make([]any, 3*relationRows+7)
	for i := range members {
		members[i] = fmt.Sprintf("user-%04d", i)
	}
	g := &Entity{APIVersion: "backstage.io/v1alpha1", Kind: "Group", Metadata: Metadata{Name: "everyone"},
		Spec: map[string]any{"type": "org", "children": []any{}, "members": members}}
	if err := c.Upsert(ctx, "goldenpath:org", []*Entity{g}); err != nil {
		t.Fatal(err)
	}
	if got := len(mustGet(t, c, "group:everyone").Relations); got != len(members) {
		t.Errorf("group has %d relations, want %d", got, len(members))
	}
	u := &Entity{APIVersion: "backstage.io/v1alpha1", Kind: "User", Metadata: Metadata{Name: "user-0500"}, Spec: map[string]any{"memberOf": []any{}}}
	if err := c.Upsert(ctx, "goldenpath:org", []*Entity{u}); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, c, "user:user-0500"); !hasRelation(got, RelationMemberOf, "group:default/everyone") {
		t.Errorf("user-0500 relations = %v, want memberOf everyone (from the group's side)", got.Relations)
	}
}
