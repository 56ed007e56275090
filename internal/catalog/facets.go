package catalog

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
)

// FacetCount is one value of a facet and how many entities hold it.
type FacetCount struct {
	Value string `json:"value"`
	Count int    `json:"count"`
}

// Facets returns, for each facet key (e.g. "spec.type", "kind", "relations.ownedBy"), the values the
// entities matching the filter hold and how many hold each, as Backstage's /entity-facets does: values as
// written (differently cased spellings are separate values), nulls left out. With no filter or only a kind
// filter, the answer comes from the maintained counts; otherwise the matching entities are read, and the
// answer is kept until the next write.
func (c *Catalog) Facets(ctx context.Context, f *Filter, facets []string) (map[string][]FacetCount, error) {
	out := make(map[string][]FacetCount, len(facets))
	var computed []string
	kinds, rest, ok := []string(nil), []*Filter(nil), true
	if f != nil {
		kinds, rest, ok = splitKinds(f)
	}
	for _, facet := range facets {
		key := strings.ToLower(facet)
		if !ok || len(rest) > 0 || !c.countedKey(key) {
			computed = append(computed, facet)
			continue
		}
		counts, err := c.countedFacet(ctx, key, kinds)
		if err != nil {
			return nil, err
		}
		out[facet] = counts
	}
	if len(computed) == 0 {
		return out, nil
	}
	counts, err := c.computedFacets(ctx, f, computed)
	if err != nil {
		return nil, err
	}
	for facet, list := range counts {
		out[facet] = list
	}
	return out, nil
}

func (c *Catalog) countedFacet(ctx context.Context, key string, kinds []string) ([]FacetCount, error) {
	q := `SELECT original, sum(n) FROM facets WHERE key = ? AND value <> ?`
	args := []any{key, nullValue}
	if kinds != nil {
		q += ` AND kind IN (` + marks(len(kinds)) + `)`
		args = append(args, anySlice(kinds)...)
	}
	rows, err := c.rows(ctx, q+` GROUP BY original ORDER BY original`, args...)
	if err != nil {
		return nil, fmt.Errorf("reading facet %s: %w", key, err)
	}
	defer rows.Close()
	out := []FacetCount{}
	for rows.Next() {
		var fc FacetCount
		if err := rows.Scan(&fc.Value, &fc.Count); err != nil {
			return nil, fmt.Errorf("reading facet %s: %w", key, err)
		}
		if fc.Count > 0 {
			out = append(out, fc)
		}
	}
	return out, rows.Err()
}

// computedFacets counts facet values over the entities the filter matches.
func (c *Catalog) computedFacets(ctx context.Context, f *Filter, facets []string) (map[string][]FacetCount, error) {
	gen := c.gen.Load()
	cacheKey := "facets " + f.String() + " " + strings.Join(facets, "\x00")
	if v, ok := c.cache.get(gen, cacheKey); ok {
		return v.(map[string][]FacetCount), nil
	}
	keys := make([]string, len(facets))
	needRels := false
	for i, facet := range facets {
		keys[i] = strings.ToLower(facet)
		needRels = needRels || strings.HasPrefix(keys[i], "relations.")
	}
	counts := make([]map[string]int, len(facets))
	for i := range counts {
		counts[i] = map[string]int{}
	}
	err := c.matching(ctx, f, needRels, func(cand *candidate) {
		for i, key := range keys {
			_, originals := cand.values(key)
			for j, v := range originals {
				if v != nullValue && !slices.Contains(originals[:j], v) {
					counts[i][v]++
				}
			}
		}
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string][]FacetCount, len(facets))
	for i, facet := range facets {
		list := make([]FacetCount, 0, len(counts[i]))
		for v, n := range counts[i] {
			list = append(list, FacetCount{Value: v, Count: n})
		}
		slices.SortFunc(list, func(a, b FacetCount) int { return cmp.Compare(a.Value, b.Value) })
		out[facet] = list
	}
	c.cache.put(gen, cacheKey, out)
	return out, nil
}

// sortedSet is every match of a filter in an order no index serves, kept until the next write.
type sortedSet struct {
	rows []*candidate // identity only: terms and relations are dropped once sorted
	pos  []position
}

// maxCachedSorted bounds the sorted sets kept: a catalog-wide one is tens of megabytes.
const maxCachedSorted = 100_000

// sortedPage pages through an order no index serves: the matches are sorted once per catalog generation.
func (c *Catalog) sortedPage(ctx context.Context, q pageQuery) (pageResult, error) {
	gen := c.gen.Load()
	cacheKey := "sorted " + q.filter.String() + " " + fmt.Sprint(q.order.keys)
	var set *sortedSet
	if v, ok := c.cache.get(gen, cacheKey); ok {
		set = v.(*sortedSet)
	} else {
		set = &sortedSet{}
		err := c.matching(ctx, q.filter, false, func(cand *candidate) {
			set.pos = append(set.pos, q.order.positionOf(cand))
			set.rows = append(set.rows, &candidate{id: cand.id, ref: cand.ref, uid: cand.uid, name: cand.name})
		})
		if err != nil {
			return pageResult{}, err
		}
		idx := make([]int, len(set.rows))
		for i := range idx {
			idx[i] = i
		}
		slices.SortFunc(idx, func(a, b int) int { return q.order.compare(set.pos[a], set.pos[b]) })
		rows, pos := make([]*candidate, len(idx)), make([]position, len(idx))
		for i, j := range idx {
			rows[i], pos[i] = set.rows[j], set.pos[j]
		}
		set.rows, set.pos = rows, pos
		if len(rows) <= maxCachedSorted {
			c.cache.put(gen, cacheKey, set)
		}
	}
	res := cut(q, slices.Clone(set.rows), slices.Clone(set.pos))
	res.matched = len(set.rows)
	return res, nil
}
