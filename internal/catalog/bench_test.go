package catalog

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// BenchmarkCatalog100k loads 100,000 entities (components, APIs and their owning groups, with relations)
// and measures what a portal does most: look one up by ref, and page through a kind.
//
//	go test -run '^$' -bench Catalog100k -benchtime 2000x -v ./internal/catalog/
func BenchmarkCatalog100k(b *testing.B) {
	const total, groups, batch = 100_000, 1_000, 5_000
	ctx := context.Background()
	c, err := Open(ctx, filepath.Join(b.TempDir(), "catalog.db"), func(context.Context, string) ([]byte, error) {
		return nil, fmt.Errorf("no locations in this benchmark")
	}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()

	start := time.Now()
	var entities []*Entity
	for i := range total {
		entities = append(entities, benchEntity(i, groups))
		if len(entities) == batch {
			if err := c.Upsert(ctx, "bench:load", entities); err != nil {
				b.Fatal(err)
			}
			entities = entities[:0]
		}
	}
	b.Logf("loaded %d entities in %s (%.0f entities/s)", total, time.Since(start).Round(time.Millisecond), total/time.Since(start).Seconds())

	refs := make([]Ref, 1000)
	for i := range refs {
		refs[i] = benchEntity(i*97%total, groups).Ref()
	}
	b.Logf("lookup by ref: %s", latencies(b, len(refs), func(i int) error { _, err := c.Get(ctx, refs[i]); return err }))
	b.Logf("list page of 20 components: %s", latencies(b, 200, func(i int) error {
		_, err := c.List(ctx, "component", fmt.Sprintf("component:default/svc-%06d", i*397%total), 20)
		return err
	}))
	b.Logf("page of 20 owned by a group: %s", latencies(b, 200, func(i int) error {
		_, err := c.ListByOwner(ctx, Ref{"group", "default", fmt.Sprintf("team-%04d", i)}, "", 20)
		return err
	}))

	b.Run("GetByRef", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, err := c.Get(ctx, refs[i%len(refs)]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ListPage20", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, err := c.List(ctx, "component", fmt.Sprintf("component:default/svc-%06d", i*397%total), 20); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchEntity is entity i of the benchmark catalog: a group for the first few, then 90% components and
// 10% APIs, each owned by one of the groups and part of one of 100 systems.
func benchEntity(i, groups int) *Entity {
	if i < groups {
		return &Entity{APIVersion: "backstage.io/v1alpha1", Kind: "Group", Metadata: Metadata{Name: fmt.Sprintf("team-%04d", i)},
			Spec: map[string]any{"type": "team", "children": []any{}}}
	}
	owner, system := fmt.Sprintf("team-%04d", i%groups), fmt.Sprintf("system-%03d", i%100)
	if i%10 == 0 {
		return &Entity{APIVersion: "backstage.io/v1alpha1", Kind: "API", Metadata: Metadata{Name: fmt.Sprintf("api-%06d", i)},
			Spec: map[string]any{"type": "openapi", "lifecycle": "production", "owner": owner, "system": system, "definition": "openapi: 3.0.0"}}
	}
	return &Entity{APIVersion: "backstage.io/v1alpha1", Kind: "Component",
		Metadata: Metadata{Name: fmt.Sprintf("svc-%06d", i), Description: "A service of the benchmark catalog", Tags: []string{"go", "tier-2"},
			Annotations: map[string]string{"github.com/project-slug": fmt.Sprintf("acme/svc-%06d", i)}},
		Spec: map[string]any{"type": "service", "lifecycle": "production", "owner": owner, "system": system,
			"providesApis": []any{fmt.Sprintf("api-%06d", i-i%10)}}}
}

// latencies runs fn n times and summarises the distribution.
func latencies(b *testing.B, n int, fn func(i int) error) string {
	b.Helper()
	d := make([]time.Duration, n)
	for i := range n {
		start := time.Now()
		if err := fn(i); err != nil {
			b.Fatal(err)
		}
		d[i] = time.Since(start)
	}
	slices.Sort(d)
	return fmt.Sprintf("p50 %s, p99 %s, max %s", d[n/2], d[n*99/100], d[n-1])
}
