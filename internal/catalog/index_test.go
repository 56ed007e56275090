package catalog

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// checkIndex compares what the catalog maintains incrementally with a recomputation from the stored
// entities: relation rows and how many entities state each, and facet counts (fast path vs a scan).
func checkIndex(t *testing.T, c *Catalog) {
	t.Helper()
	ctx := context.Background()
	all, err := c.List(ctx, "", "", maxListLimit)
	if err != nil {
		t.Fatal(err)
	}
	want := map[relKey]int{}
	for _, e := range all {
		own, inverse := Relations(e)
		self := e.Ref().String()
		for _, r := range own {
			want[relKey{self, r.Type, r.TargetRef}]++
		}
		for target, rs := range inverse {
			for _, r := range rs {
				want[relKey{target.String(), r.Type, r.TargetRef}]++
			}
		}
	}
	got := map[relKey]int{}
	rows, err := c.db.QueryContext(ctx, `SELECT source_ref, type, target_ref, n FROM relations`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k relKey
		var n int
		if err := rows.Scan(&k.source, &k.typ, &k.target, &n); err != nil {
			t.Fatal(err)
		}
		got[k] = n
	}
	rows.Close()
	if !maps.Equal(got, want) {
		t.Errorf("relation rows differ from the entities' relations:\n got %v\nwant %v", got, want)
	}
	facets := []string{"kind", "spec.type", "relations.ownedBy", "relations.memberOf", "relations.childOf",
		"relations.partOf", "metadata.tags", "spec.lifecycle", "metadata.namespace"}
	for _, f := range []*Filter{nil, Where("kind", "component"), Where("kind", "user", "group")} {
		fast, err := c.Facets(ctx, f, facets)
		if err != nil {
			t.Fatal(err)
		}
		slow, err := c.computedFacets(ctx, and(f, everything()), facets)
		if err != nil {
			t.Fatal(err)
		}
		for _, facet := range facets {
			if !slices.Equal(fast[facet], slow[facet]) {
				t.Errorf("facet %s under %s: maintained %v, recomputed %v", facet, f, fast[facet], slow[facet])
			}
		}
	}
	for _, f := range []*Filter{
		nil, Where("kind", "component"), AllOf(Where("kind", "user"), Where("relations.memberof", "group:default/g1")),
		Where("relations.childof", "group:default/g0"), Where("spec.type", "service", "website"),
	} {
		fast, err := c.Count(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		slow := 0
		if err := c.scan(ctx, f, false, func(*candidate) { slow++ }); err != nil {
			t.Fatal(err)
		}
		if fast != slow {
			t.Errorf("count of %s: %d, a scan finds %d", f, fast, slow)
		}
	}
}

// TestIndexStaysConsistent applies random writes — both sides of group membership and hierarchy stating
// the same relations, entities appearing after the relations naming them, updates, deletions, orphans
// and purges — and checks the maintained index after each.
func TestIndexStaysConsistent(t *testing.T) {
	ctx := context.Background()
	clk := &clock{now: time.Unix(1_700_000_000, 0)}
	f := newFiles(t)
	c, _ := openCatalog(t, f.read, Options{OrphanGrace: time.Hour, Now: clk.Now})
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(n int) int { return rng.IntN(n) }
	// Groups list members and users list groups, and groups name parents and children: both sides state the
	// same relations.
	entity := func(i int) *Entity {
		switch i % 4 {
		case 0:
			k := (i / 4) % 8
			members := []any{}
			for j := k; j < 24; j += 8 {
				if pick(2) == 0 {
					members = append(members, fmt.Sprintf("u%d", j))
				}
			}
			g := group(fmt.Sprintf("g%d", k))
			g.Spec["members"] = members
			if k != 0 {
				g.Spec["parent"] = "g0"
			} else {
				g.Spec["children"] = []any{"g4"}
			}
			return g
		case 1:
			j := (i / 4) % 24
			return &Entity{APIVersion: "backstage.io/v1alpha1", Kind: "User", Metadata: Metadata{Name: fmt.Sprintf("u%d", j)},
				Spec: map[string]any{"memberOf": []any{fmt.Sprintf("g%d", j%8)}}}
		}
		types := []string{"service", "website", "Service"}
		return comp(fmt.Sprintf("c%d", i%40), types[pick(3)], fmt.Sprintf("g%d", pick(8)), []string{"", "s1"}[pick(2)],
			[]string{"a", "b", "c"}[:pick(3)]...)
	}
	sources := []string{"test:one", "test:two"}
	var seen struct{ entities, orphans, shared int }
	for step := range 80 {
		source := sources[pick(2)]
		var err error
		switch pick(9) {
		case 0, 1, 2, 3, 4:
			var batch []*Entity
			seen := map[string]bool{}
			for range 1 + pick(12) {
				e := entity(pick(200))
				if !seen[e.Ref().String()] {
					seen[e.Ref().String()] = true
					batch = append(batch, e)
				}
			}
			err = c.Upsert(ctx, source, batch)
			if err != nil && errorsIsConflict(err) {
				err = nil // the other source has some of them
			}
		case 5:
			var batch []*Entity
			for i := range 8 {
				batch = append(batch, entity(pick(200)+i*200))
			}
			err = c.ReplaceSource(ctx, source, uniqueRefs(batch))
			if err != nil && errorsIsConflict(err) {
				err = nil
			}
		case 6:
			all, _ := c.List(ctx, "", "", 100)
			if len(all) > 0 {
				err = c.Delete(ctx, all[pick(len(all))].Ref())
			}
		case 7, 8:
			clk.advance(20 * time.Minute)
			_, err = c.PurgeOrphans(ctx)
		}
		if err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		checkIndex(t, c)
		if t.Failed() {
			t.Fatalf("index inconsistent after step %d", step)
		}
		var n, orphans, shared int
		c.db.QueryRow(`SELECT count(*), count(CASE WHEN orphaned_at <> 0 THEN 1 END) FROM entities`).Scan(&n, &orphans)
		c.db.QueryRow(`SELECT count(*) FROM relations WHERE n > 1`).Scan(&shared)
		seen.entities, seen.orphans, seen.shared = max(seen.entities, n), max(seen.orphans, orphans), max(seen.shared, shared)
	}
	// The run must have exercised what it is about.
	if seen.entities < 30 || seen.orphans == 0 || seen.shared == 0 {
		t.Errorf("the run reached at most %d entities, %d orphans, %d relations stated from both sides; want more of each", seen.entities, seen.orphans, seen.shared)
	}
}

func uniqueRefs(es []*Entity) []*Entity {
	seen := map[Ref]bool{}
	return slices.DeleteFunc(es, func(e *Entity) bool {
		if seen[e.Ref()] {
			return true
		}
		seen[e.Ref()] = true
		return false
	})
}

func errorsIsConflict(err error) bool {
	var list EntityErrors
	if !asEntityErrors(err, &list) {
		return false
	}
	for _, e := range list {
		if ee, ok := e.(*EntityError); !ok || ee.Err != ErrConflict {
			return false
		}
	}
	return true
}

func asEntityErrors(err error, list *EntityErrors) bool {
	l, ok := err.(EntityErrors)
	*list = l
	return ok
}

// TestIndexRebuild checks that a catalog opened with an older index version rebuilds it from the stored
// entities and answers the same.
func TestIndexRebuild(t *testing.T) {
	ctx := context.Background()
	f := newFiles(t)
	c, path := openCatalog(t, f.read, Options{})
	a := &api{t: t, c: c}
	a.seed()
	before, err := c.Facets(ctx, Where("kind", "component"), []string{"spec.type", "relations.ownedBy"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.db.ExecContext(ctx, `UPDATE catalog_meta SET value = '0' WHERE name = 'index_version'`); err != nil {
		t.Fatal(err)
	}
	if _, err := c.db.ExecContext(ctx, `DELETE FROM facets`); err != nil {
		t.Fatal(err)
	}
	c.Close()
	c2, err := Open(ctx, path, f.read, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	after, err := c2.Facets(ctx, Where("kind", "component"), []string{"spec.type", "relations.ownedBy"})
	if err != nil {
		t.Fatal(err)
	}
	if !maps.EqualFunc(before, after, slices.Equal) {
		t.Errorf("after a rebuild facets = %v, want %v", after, before)
	}
	checkIndex(t, c2)
}
