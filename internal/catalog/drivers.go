package catalog

import (
	"context"
	"fmt"
	"strings"
)

// Drivers are the indexes that find a filter's candidates without looking at other entities: the relations
// table (relations.<type> = ref: the ref's inverse relations name them), the name and uid indexes, and the
// ref index for a kind. A conjunction is driven by its most selective driver, a disjunction by all of its
// branches' drivers; negations and conditions on other keys have none.

// estimate returns how many candidates the filter's drivers would produce, and whether it has any.
func (c *Catalog) estimate(ctx context.Context, f *Filter) (int, bool, error) {
	if f == nil {
		return 0, false, nil
	}
	switch f.op {
	case opAll:
		best, found := 0, false
		for _, s := range f.subs {
			n, ok, err := c.estimate(ctx, s)
			if err != nil {
				return 0, false, err
			}
			if ok && (!found || n < best) {
				best, found = n, true
			}
		}
		return best, found, nil
	case opAny:
		total := 0
		for _, s := range f.subs {
			n, ok, err := c.estimate(ctx, s)
			if err != nil || !ok {
				return 0, false, err
			}
			total += n
		}
		return total, true, nil
	case opNot:
		return 0, false, nil
	}
	if f.match != matchIn {
		return 0, false, nil
	}
	switch {
	case f.key == "metadata.uid":
		return len(f.values), true, nil
	case f.key == "metadata.name":
		return c.countWhere(ctx, `SELECT count(*) FROM entities WHERE name IN (`+marks(len(f.values))+`)`, anySlice(f.values)...)
	case f.key == "kind":
		return c.countWhere(ctx, `SELECT coalesce(sum(n), 0) FROM facets WHERE key = 'kind' AND kind IN (`+marks(len(f.values))+`)`,
			anySlice(f.values)...)
	}
	if inverse := inverseRelation(relationTypeOf(f.key)); inverse != "" {
		n := 0
		for _, v := range f.values {
			m, _, err := c.countWhere(ctx, `SELECT count(*) FROM relations WHERE source_ref = ? AND type = ?`, v, inverse)
			if err != nil {
				return 0, false, err
			}
			n += m
		}
		return n, true, nil
	}
	return 0, false, nil
}

func (c *Catalog) countWhere(ctx context.Context, q string, args ...any) (int, bool, error) {
	rows, err := c.rows(ctx, q, args...)
	if err != nil {
		return 0, false, fmt.Errorf("counting: %w", err)
	}
	defer rows.Close()
	var n int
	if rows.Next() {
		if err := rows.Scan(&n); err != nil {
			return 0, false, fmt.Errorf("counting: %w", err)
		}
	}
	return n, true, rows.Err()
}

// collect returns the ids of the filter's candidates (a superset of its matches); the filter must have
// drivers (estimate says so).
func (c *Catalog) collect(ctx context.Context, f *Filter) ([]int64, error) {
	switch f.op {
	case opAll:
		var best *Filter
		bestN := 0
		for _, s := range f.subs {
			n, ok, err := c.estimate(ctx, s)
			if err != nil {
				return nil, err
			}
			if ok && (best == nil || n < bestN) {
				best, bestN = s, n
			}
		}
		return c.collect(ctx, best)
	case opAny:
		seen := map[int64]bool{}
		var out []int64
		for _, s := range f.subs {
			ids, err := c.collect(ctx, s)
			if err != nil {
				return nil, err
			}
			for _, id := range ids {
				if !seen[id] {
					seen[id] = true
					out = append(out, id)
				}
			}
		}
		return out, nil
	}
	switch {
	case f.key == "metadata.uid":
		return c.ids(ctx, `SELECT id FROM entities WHERE uid IN (`+marks(len(f.values))+`)`, anySlice(f.values)...)
	case f.key == "metadata.name":
		return c.ids(ctx, `SELECT id FROM entities WHERE name IN (`+marks(len(f.values))+`)`, anySlice(f.values)...)
	case f.key == "kind":
		var out []int64
		for _, k := range f.values {
			ids, err := c.ids(ctx, `SELECT id FROM entities WHERE ref > ? AND ref < ?`, k+":", k+";")
			if err != nil {
				return nil, err
			}
			out = append(out, ids...)
		}
		return out, nil
	}
	inverse := inverseRelation(relationTypeOf(f.key))
	var out []int64
	for _, v := range f.values {
		ids, err := c.ids(ctx, `SELECT e.id FROM relations r JOIN entities e ON e.ref = r.target_ref
			WHERE r.source_ref = ? AND r.type = ?`, v, inverse)
		if err != nil {
			return nil, err
		}
		out = append(out, ids...)
	}
	return out, nil
}

func (c *Catalog) ids(ctx context.Context, q string, args ...any) ([]int64, error) {
	rows, err := c.rows(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("querying entities: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// total is the number of entities.
func (c *Catalog) total(ctx context.Context) (int, error) {
	n, _, err := c.countWhere(ctx, `SELECT coalesce(sum(n), 0) FROM facets WHERE key = 'kind'`)
	return n, err
}

// Count returns how many entities the filter matches.
func (c *Catalog) Count(ctx context.Context, f *Filter) (int, error) {
	if n, ok, err := c.countFromFacets(ctx, f); err != nil || ok {
		return n, err
	}
	gen := c.gen.Load()
	key := "count " + f.String()
	if v, ok := c.cache.get(gen, key); ok {
		return v.(int), nil
	}
	n := 0
	err := c.matching(ctx, f, false, func(*candidate) { n++ })
	if err != nil {
		return 0, err
	}
	c.cache.put(gen, key, n)
	return n, nil
}

// matching calls fn with every entity the filter matches: from its candidates when they are few next to
// the catalog, else from a scan (which filters kind, namespace and full text inside SQLite).
func (c *Catalog) matching(ctx context.Context, f *Filter, needRels bool, fn func(*candidate)) error {
	est, drivable, err := c.estimate(ctx, f)
	if err != nil {
		return err
	}
	if drivable && est > c.smallCandidates {
		total, err := c.total(ctx)
		if err != nil {
			return err
		}
		drivable = est <= maxCandidates && est*8 < total
	}
	if drivable {
		ids, err := c.collect(ctx, f)
		if err != nil {
			return err
		}
		matches, err := c.evaluate(ctx, ids, f, needRels)
		if err != nil {
			return err
		}
		for _, m := range matches {
			fn(m)
		}
		return nil
	}
	return c.scan(ctx, f, needRels, fn)
}

// maxCandidates bounds candidate sets read in full; beyond it a scan in id order costs about the same.
const maxCandidates = 200_000

// countFromFacets answers a count from the maintained counts, when the filter is at most a kind condition
// and one condition on a counted key: kind=component, or kind=component plus spec.type=service or
// relations.ownedBy=group:default/a. Conditions that could concern the "key.element" terms of arrays
// (exists, or = true), and several values of a key an entity may hold more than one of, are not answered.
func (c *Catalog) countFromFacets(ctx context.Context, f *Filter) (int, bool, error) {
	if f == nil {
		n, err := c.total(ctx)
		return n, err == nil, err
	}
	kinds, rest, ok := splitKinds(f)
	if !ok || len(rest) > 1 {
		return 0, false, nil
	}
	if len(rest) == 0 {
		n, _, err := c.countWhere(ctx, `SELECT coalesce(sum(n), 0) FROM facets WHERE key = 'kind' AND kind IN (`+
			marks(len(kinds))+`)`, anySlice(kinds)...)
		return n, err == nil, err
	}
	cond := rest[0]
	if !c.countable(cond) {
		return 0, false, nil
	}
	q := `SELECT coalesce(sum(n), 0) FROM facets WHERE key = ? AND value IN (` + marks(len(cond.values)) + `)`
	args := append([]any{cond.key}, anySlice(cond.values)...)
	if kinds != nil {
		q += ` AND kind IN (` + marks(len(kinds)) + `)`
		args = append(args, anySlice(kinds)...)
	}
	n, _, err := c.countWhere(ctx, q, args...)
	return n, err == nil, err
}

// countable tells whether the facet counts answer a condition exactly.
func (c *Catalog) countable(f *Filter) bool {
	if f.op != opField || f.match != matchIn || len(f.values) == 0 {
		return false
	}
	if typ := relationTypeOf(f.key); typ != "" {
		return countedRelation(typ) && len(f.values) == 1
	}
	if !c.countedKey(f.key) {
		return false
	}
	return len(f.values) == 1 || !c.isMulti(f.key)
}

// countedKey tells whether the facet counts hold a key's values.
func (c *Catalog) countedKey(key string) bool {
	if typ := relationTypeOf(key); typ != "" {
		return countedRelation(typ)
	}
	return !strings.HasPrefix(key, "relations.") && countedKey(key) && !c.mayBeElement(key)
}

// splitKinds splits a filter into its kind values (nil when it has no kind condition) and its other
// top-level conditions; ok is false unless the filter is one condition or a conjunction of conditions
// with at most one on kind.
func splitKinds(f *Filter) (kinds []string, rest []*Filter, ok bool) {
	conds := []*Filter{f}
	if f.op == opAll {
		conds = f.subs
		if len(conds) == 0 {
			return nil, nil, false
		}
	}
	for _, cond := range conds {
		if cond.op != opField {
			return nil, nil, false
		}
		if cond.key == "kind" && cond.match == matchIn && len(cond.values) > 0 {
			if kinds != nil {
				return nil, nil, false
			}
			kinds = cond.values
			continue
		}
		rest = append(rest, cond)
	}
	return kinds, rest, true
}
