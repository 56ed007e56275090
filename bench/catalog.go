package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"syscall"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/auth"
	"github.com/goldenpathidp/goldenpath/internal/catalog"
)

// catalogBench loads synthetic catalogs (components owned by ~1,000 groups, in systems, providing APIs,
// with tags and annotations) and times what Backstage's catalog API is asked most, at the storage level
// (the Catalog methods the API handler calls, producing the JSON it serves) and, for two of them, over
// HTTP on loopback. Sizes are components; groups, systems and APIs come on top.
func catalogBench(ctx context.Context, million bool) error {
	sizes := []int{10_000, 100_000}
	if million {
		sizes = append(sizes, 900_000) // with its 90,000 APIs, 9,000 systems and 1,000 groups: 1,000,000 entities
	}
	for _, n := range sizes {
		if err := catalogSize(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

// synthetic is the benchmark catalog: entity i of it, deterministically.
type synthetic struct{ components, groups, systems, apis int }

func newSynthetic(components int) synthetic {
	return synthetic{components: components, groups: 1000, systems: max(components/100, 10), apis: components / 10}
}

func (s synthetic) total() int { return s.groups + s.systems + s.apis + s.components }

func (s synthetic) entity(i int) *catalog.Entity {
	meta := func(name string) catalog.Metadata { return catalog.Metadata{Name: name} }
	switch {
	case i < s.groups:
		return &catalog.Entity{APIVersion: "backstage.io/v1alpha1", Kind: "Group", Metadata: meta(fmt.Sprintf("team-%04d", i)),
			Spec: map[string]any{"type": "team", "children": []any{}}}
	case i < s.groups+s.systems:
		j := i - s.groups
		return &catalog.Entity{APIVersion: "backstage.io/v1alpha1", Kind: "System", Metadata: meta(fmt.Sprintf("system-%05d", j)),
			Spec: map[string]any{"owner": fmt.Sprintf("team-%04d", j%s.groups)}}
	case i < s.groups+s.systems+s.apis:
		j := i - s.groups - s.systems
		return &catalog.Entity{APIVersion: "backstage.io/v1alpha1", Kind: "API", Metadata: meta(fmt.Sprintf("api-%07d", j)),
			Spec: map[string]any{"type": "openapi", "lifecycle": "production", "owner": fmt.Sprintf("team-%04d", j%s.groups),
				"system": fmt.Sprintf("system-%05d", j%s.systems), "definition": "openapi: 3.0.0"}}
	}
	j := i - s.groups - s.systems - s.apis
	types := []string{"service", "service", "website", "library", "service"}
	lifecycles := []string{"production", "production", "experimental", "deprecated"}
	tags := [][]string{{"go"}, {"java", "payments"}, {"typescript", "frontend"}, {"go", "grpc"}, {"python"}}
	spec := map[string]any{"type": types[j%len(types)], "lifecycle": lifecycles[j%len(lifecycles)],
		"owner": fmt.Sprintf("team-%04d", j%s.groups), "system": fmt.Sprintf("system-%05d", j%s.systems)}
	if s.apis > 0 {
		spec["providesApis"] = []any{fmt.Sprintf("api-%07d", j%s.apis)}
	}
	e := &catalog.Entity{APIVersion: "backstage.io/v1alpha1", Kind: "Component",
		Metadata: catalog.Metadata{Name: fmt.Sprintf("svc-%07d", j), Description: fmt.Sprintf("Service %d of the benchmark catalog", j),
			Tags: tags[j%len(tags)], Annotations: map[string]string{"github.com/project-slug": fmt.Sprintf("acme/svc-%07d", j)}},
		Spec: spec}
	if j%7 == 0 {
		e.Metadata.Annotations["backstage.io/techdocs-ref"] = "dir:."
	}
	return e
}

func catalogSize(ctx context.Context, components int) error {
	s := newSynthetic(components)
	fmt.Printf("catalog: %d components, %d groups, %d systems, %d APIs (%d entities)\n", s.components, s.groups, s.systems, s.apis, s.total())
	// Small loads are repeated on fresh databases: on a shared machine one run says little.
	runs := 1
	if s.total() <= 20_000 {
		runs = 5
	}
	var took, cpus []time.Duration
	for range runs - 1 {
		c, cleanup, err := openBenchCatalog(ctx)
		if err != nil {
			return err
		}
		d, cpu, err := load(ctx, c, s)
		cleanup()
		if err != nil {
			return err
		}
		took, cpus = append(took, d), append(cpus, cpu)
	}
	c, cleanup, err := openBenchCatalog(ctx)
	if err != nil {
		return err
	}
	defer cleanup()
	d, cpu, err := load(ctx, c, s)
	if err != nil {
		return err
	}
	took, cpus = append(took, d), append(cpus, cpu)
	slices.Sort(took)
	slices.Sort(cpus)
	fmt.Printf("  load                          %8s  (%.0f entities/s; %s of CPU on %d cores)", d.Round(time.Millisecond),
		float64(s.total())/d.Seconds(), cpu.Round(time.Millisecond), runtime.NumCPU())
	if runs > 1 {
		fmt.Printf("; of %d loads: best %s, median %s (CPU %s)", runs, took[0].Round(time.Millisecond),
			took[runs/2].Round(time.Millisecond), cpus[runs/2].Round(time.Millisecond))
	}
	fmt.Println()
	return queries(ctx, c, s)
}

// openBenchCatalog opens a catalog in a new temporary directory; cleanup closes and removes it.
func openBenchCatalog(ctx context.Context) (*catalog.Catalog, func(), error) {
	dir, err := os.MkdirTemp("", "goldenpath-catalog-bench-")
	if err != nil {
		return nil, nil, err
	}
	c, err := catalog.Open(ctx, filepath.Join(dir, "catalog.db"), func(context.Context, string) ([]byte, error) {
		return nil, fmt.Errorf("no locations in this benchmark")
	}, nil)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	return c, func() { c.Close(); os.RemoveAll(dir) }, nil
}

// load stores the catalog in batches of 5,000, the way a bulk source would.
func load(ctx context.Context, c *catalog.Catalog, s synthetic) (time.Duration, time.Duration, error) {
	cpu0 := cpuTime()
	t0 := time.Now()
	var batch []*catalog.Entity
	for i := range s.total() {
		batch = append(batch, s.entity(i))
		if len(batch) == 5000 || i == s.total()-1 {
			if err := c.Upsert(ctx, "bench:load", batch); err != nil {
				return 0, 0, err
			}
			batch = batch[:0]
		}
	}
	return time.Since(t0), cpuTime() - cpu0, nil
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func queries(ctx context.Context, c *catalog.Catalog, s synthetic) error {
	components := catalog.Where("kind", "component")
	byName := &catalog.OrderField{Field: "metadata.name"}
	team := func(i int) string { return fmt.Sprintf("group:default/team-%04d", i*37%s.groups) }
	lookup := func(i int) error {
		_, err := c.GetJSON(ctx, catalog.Ref{Kind: "component", Namespace: "default", Name: fmt.Sprintf("svc-%07d", i*7919%s.components)})
		return err
	}
	measures := []struct {
		name string
		n    int
		fn   func(i int) error
	}{
		{"by-query first page + total", 200, func(int) error {
			res, err := c.QueryEntities(ctx, catalog.QueryRequest{Filter: components, OrderField: byName, Limit: 20})
			if err == nil && (len(res.Items) != 20 || res.TotalItems != s.components) {
				err = fmt.Errorf("first page: %d items of %d, want 20 of %d", len(res.Items), res.TotalItems, s.components)
			}
			return err
		}},
		{"by-query next page (cursor)", 200, nextPages(ctx, c, components, byName)},
		// Random entities: the first time, their pages are read from the file; the second, from memory, as
		// a server's working set is.
		{"lookup by ref (cold)", 2000, lookup},
		{"lookup by ref (warm)", 2000, lookup},
		{"count (kind=component)", 200, func(int) error {
			n, err := c.Count(ctx, components)
			if err == nil && n != s.components {
				err = fmt.Errorf("count = %d, want %d", n, s.components)
			}
			return err
		}},
		{"facets spec.type (components)", 200, func(int) error {
			_, err := c.Facets(ctx, components, []string{"spec.type"})
			return err
		}},
		{"facets owner, kind, lifecycle, tags", 200, func(int) error {
			_, err := c.Facets(ctx, components, []string{"relations.ownedBy", "kind", "spec.lifecycle", "metadata.tags"})
			return err
		}},
		{"list kind + owner (20)", 500, func(i int) error {
			f := catalog.AllOf(components, catalog.Where("relations.ownedBy", team(i)))
			_, err := c.Entities(ctx, catalog.EntitiesRequest{Filter: f, Limit: 20}, func(json.RawMessage) error { return nil })
			return err
		}},
		{"by-query kind + owner + total", 500, func(i int) error {
			f := catalog.AllOf(components, catalog.Where("relations.ownedBy", team(i)))
			_, err := c.QueryEntities(ctx, catalog.QueryRequest{Filter: f, OrderField: byName, Limit: 20})
			return err
		}},
		{"full text (name contains)", 50, func(i int) error {
			_, err := c.QueryEntities(ctx, catalog.QueryRequest{Filter: components, OrderField: byName, Limit: 20,
				FullText: catalog.FullTextFilter{Term: fmt.Sprintf("svc-%05d", i*131%max(s.components/100, 1)), Fields: []string{"metadata.name"}}})
			return err
		}},
	}
	for _, m := range measures {
		d, err := sample(m.n, m.fn)
		if err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
		fmt.Printf("  %-30s p50 %-9s p99 %s\n", m.name, fine(d, 50), fine(d, 99))
	}
	return overHTTP(ctx, c, s)
}

// nextPages pages through components by name, one page per call, starting over at the end.
func nextPages(ctx context.Context, c *catalog.Catalog, f *catalog.Filter, order *catalog.OrderField) func(int) error {
	cursor := ""
	return func(int) error {
		req := catalog.QueryRequest{Filter: f, OrderField: order, Limit: 20, Cursor: cursor}
		res, err := c.QueryEntities(ctx, req)
		if err != nil {
			return err
		}
		cursor = res.PageInfo.NextCursor
		return nil
	}
}

// fine is pct at microsecond resolution: lookups take a fraction of the 100 µs pct rounds to.
func fine(d []time.Duration, p int) time.Duration {
	i := (len(d)*p + 99) / 100
	return d[max(i-1, 0)].Round(time.Microsecond)
}

func sample(n int, fn func(i int) error) ([]time.Duration, error) {
	if err := fn(0); err != nil { // warm-up, and the first answer is checked
		return nil, err
	}
	d := make([]time.Duration, n)
	for i := range n {
		t0 := time.Now()
		if err := fn(i); err != nil {
			return nil, err
		}
		d[i] = time.Since(t0)
	}
	slices.Sort(d)
	return d, nil
}

// benchAuth lets the benchmark's requests in.
type benchAuth struct{}

func (benchAuth) FromRequest(*http.Request) (auth.Principal, error) {
	return auth.Principal{Name: "bench", Roles: []string{"developer"}}, nil
}

// overHTTP times two requests through the API handler on loopback, to show what HTTP adds.
func overHTTP(ctx context.Context, c *catalog.Catalog, s synthetic) error {
	srv := httptest.NewServer(c.Handler(benchAuth{}))
	defer srv.Close()
	client := srv.Client()
	get := func(path string) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", path, resp.Status)
		}
		return nil
	}
	for _, m := range []struct {
		name string
		path func(i int) string
	}{
		{"HTTP GET by-name", func(i int) string {
			return fmt.Sprintf("/api/catalog/entities/by-name/component/default/svc-%07d", i*7919%s.components)
		}},
		{"HTTP GET by-query first page", func(int) string {
			return "/api/catalog/entities/by-query?filter=kind=component&orderField=metadata.name,asc&limit=20"
		}},
	} {
		d, err := sample(500, func(i int) error { return get(m.path(i)) })
		if err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
		fmt.Printf("  %-30s p50 %-9s p99 %s\n", m.name, fine(d, 50), fine(d, 99))
	}
	fmt.Println()
	return nil
}
