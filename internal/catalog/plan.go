package catalog

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// How a page of entities is found. Filters are evaluated in Go against each entity's stored terms (see
// Filter.matches), and there are two ways to bring entities to them:
//
//   - walking an index in the requested order (ids, refs, or names) until the page is full: cheap when the
//     filter matches a good share of the catalog (kind=component, spec.type=service);
//   - collecting candidates from an index when the filter pins entities down (an owner through the
//     relations table, names, uids, a small kind), then sorting them: cheap when few entities can match.
//
// The plan picks whichever reads fewer rows. Counts come from the maintained facet counts when the filter
// is simple enough (see countFromFacets), else from the candidates, else from a scan cached until the next
// write.

// sortKey orders entities by a search key's value (the smallest, for keys with several), entities without
// it last, then by id.
type sortKey struct {
	field string
	desc  bool
}

// order is how a page is ordered: by ref, by id, or by sort keys.
type order struct {
	byRef bool
	keys  []sortKey
}

func (o order) byName() bool { return len(o.keys) == 1 && o.keys[0].field == "metadata.name" }

// walkable tells whether an index serves the order directly.
func (o order) walkable() bool { return len(o.keys) == 0 || o.byName() }

func (o order) desc() bool { return len(o.keys) > 0 && o.keys[0].desc }

// sortValue is one sort key's value of an entity; null ones sort last in either direction.
type sortValue struct {
	V    string `json:"v"`
	Null bool   `json:"n,omitempty"`
}

// position is a place in an order: the sort values and id (or ref) of the entity last seen.
type position struct {
	Values []sortValue `json:"values,omitempty"`
	ID     int64       `json:"id,omitempty"`
	Ref    string      `json:"ref,omitempty"`
}

// pageQuery asks for a page of entities.
type pageQuery struct {
	filter   *Filter
	order    order
	after    *position // exclusive start in the direction of travel; nil for the first page
	backward bool      // travel against the order (a previous page)
	offset   int
	limit    int // < 0: no limit
}

// pageResult is a page in travel order, whether more entities follow it, and — when the plan had to look
// at every match anyway — how many matched.
type pageResult struct {
	rows    []*candidate
	pos     []position // of each row
	more    bool
	matched int // -1 when unknown
}

// positionOf returns an entity's position in an order.
func (o order) positionOf(c *candidate) position {
	switch {
	case o.byRef:
		return position{Ref: c.ref}
	case len(o.keys) == 0:
		return position{ID: c.id}
	}
	p := position{ID: c.id, Values: make([]sortValue, len(o.keys))}
	for i, k := range o.keys {
		p.Values[i] = c.sortValue(k.field)
	}
	return p
}

func (c *candidate) sortValue(field string) sortValue {
	if field == "metadata.name" {
		return sortValue{V: c.name}
	}
	lower, _ := c.values(field)
	best := sortValue{Null: true}
	for _, v := range lower {
		if v != nullValue && (best.Null || v < best.V) {
			best = sortValue{V: v}
		}
	}
	return best
}

// compare orders two positions in the order (not the travel direction).
func (o order) compare(a, b position) int {
	if o.byRef {
		return strings.Compare(a.Ref, b.Ref)
	}
	for i, k := range o.keys {
		av, bv := a.Values[i], b.Values[i]
		var c int
		switch {
		case av.Null && bv.Null:
		case av.Null:
			c = 1 // nulls last whatever the direction
		case bv.Null:
			c = -1
		default:
			c = strings.Compare(av.V, bv.V)
			if k.desc {
				c = -c
			}
		}
		if c != 0 {
			return c
		}
	}
	c := cmpInt(a.ID, b.ID)
	if o.desc() {
		c = -c
	}
	return c
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// page finds a page of entities.
func (c *Catalog) page(ctx context.Context, q pageQuery) (pageResult, error) {
	if !q.order.walkable() {
		return c.sortedPage(ctx, q)
	}
	// An owner's (a system's, a group's) entities in ref or name order are read in that order from the
	// relations index: a page costs a page, however many entities the owner has.
	if source, _ := topRelation(q.filter); source != "" {
		ordered := q.order.byRef
		if q.order.byName() {
			prefix, err := c.kindNamespace(ctx, q.filter)
			if err != nil {
				return pageResult{}, err
			}
			ordered = prefix != ""
		}
		if ordered {
			return c.walkPage(ctx, q)
		}
	}
	est, drivable, err := c.estimate(ctx, q.filter)
	if err != nil {
		return pageResult{}, err
	}
	if drivable && c.preferCandidates(ctx, q, est) {
		return c.candidatePage(ctx, q)
	}
	return c.walkPage(ctx, q)
}

// smallCandidates is how many candidates are always cheaper to read than to walk for.
const smallCandidates = 2000

// preferCandidates compares reading est candidates with walking until the page is full.
func (c *Catalog) preferCandidates(ctx context.Context, q pageQuery, est int) bool {
	if est <= c.smallCandidates {
		return true
	}
	if q.limit < 0 {
		return false
	}
	total, err := c.total(ctx)
	if err != nil || total == 0 {
		return false
	}
	walk := float64(q.offset+q.limit+1) * float64(total) / float64(max(est, 1))
	return float64(est) <= walk
}

// candidatePage collects the filter's candidates, evaluates and sorts them, and cuts the page.
func (c *Catalog) candidatePage(ctx context.Context, q pageQuery) (pageResult, error) {
	ids, err := c.collect(ctx, q.filter)
	if err != nil {
		return pageResult{}, err
	}
	matches, err := c.evaluate(ctx, ids, q.filter, false)
	if err != nil {
		return pageResult{}, err
	}
	positions := make([]position, len(matches))
	for i, m := range matches {
		positions[i] = q.order.positionOf(m)
	}
	idx := make([]int, len(matches))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return q.order.compare(positions[a], positions[b]) })
	sorted := make([]*candidate, len(idx))
	sortedPos := make([]position, len(idx))
	for i, j := range idx {
		sorted[i], sortedPos[i] = matches[j], positions[j]
	}
	res := cut(q, sorted, sortedPos)
	res.matched = len(matches)
	return res, nil
}

// cut takes the page after q.after (in travel order) from entities sorted in the order.
func cut(q pageQuery, sorted []*candidate, pos []position) pageResult {
	if q.backward {
		slices.Reverse(sorted)
		slices.Reverse(pos)
	}
	start := 0
	if q.after != nil {
		start, _ = slices.BinarySearchFunc(pos, *q.after, func(p, target position) int {
			c := q.order.compare(p, target)
			if q.backward {
				c = -c
			}
			if c == 0 {
				return -1 // the position itself is excluded
			}
			return c
		})
	}
	start = min(start+q.offset, len(sorted))
	end := len(sorted)
	if q.limit >= 0 {
		end = min(start+q.limit, len(sorted))
	}
	return pageResult{rows: sorted[start:end], pos: pos[start:end], more: end < len(sorted), matched: -1}
}

// walkPage walks the order's index, evaluating the filter, until the page is full.
func (c *Catalog) walkPage(ctx context.Context, q pageQuery) (pageResult, error) {
	res := pageResult{matched: -1}
	skip := q.offset
	err := c.walk(ctx, q, q.filter.needsRelations(), func(cand *candidate) bool {
		if skip > 0 {
			skip--
			return true
		}
		if q.limit >= 0 && len(res.rows) == q.limit {
			res.more = true
			return false
		}
		res.rows = append(res.rows, cand)
		res.pos = append(res.pos, q.order.positionOf(cand))
		return true
	})
	return res, err
}

// walk calls fn with the entities matching q.filter in travel order after q.after, until fn returns false;
// with needRels the entities carry their relations.
func (c *Catalog) walk(ctx context.Context, q pageQuery, needRels bool, fn func(*candidate) bool) error {
	w, err := c.walkOrder(ctx, q)
	if err != nil {
		return err
	}
	where, args := pushdown(q.filter, w.nameFrom)
	after := q.after
	chunk := 64
	for {
		conds, condArgs := append(slices.Clone(w.where), where...), append(slices.Clone(w.args), args...)
		if after != nil {
			k, kargs := w.keyset(after)
			conds, condArgs = append(conds, k), append(condArgs, kargs...)
		}
		sqlWhere := ""
		if len(conds) > 0 {
			sqlWhere = " WHERE " + strings.Join(conds, " AND ")
		}
		batch, err := c.readCandidates(ctx, `SELECT `+w.columns+` FROM `+w.from+sqlWhere+
			` ORDER BY `+w.orderBy+` LIMIT ?`, append(condArgs, chunk)...)
		if err != nil {
			return err
		}
		if needRels {
			if err := c.loadRelations(ctx, batch); err != nil {
				return err
			}
		}
		for _, cand := range batch {
			if q.filter.matches(cand) && !fn(cand) {
				return nil
			}
		}
		if len(batch) < chunk {
			return nil
		}
		p := q.order.positionOf(batch[len(batch)-1])
		after = &p
		chunk = min(chunk*4, 4096)
	}
}

// walkOrder is how a walk reads an order from an index: what it reads, the range it is confined to, its
// ORDER BY, and the condition that starts it after a position.
type walkOrder struct {
	columns, from string
	where         []string
	args          []any
	orderBy       string
	keyset        func(p *position) (string, []any)
	nameFrom      int // when every ref read is "kind:namespace/name", where the name starts in it (1-based)
}

const candidateColumns = "id, ref, uid, name, terms"

func (c *Catalog) walkOrder(ctx context.Context, q pageQuery) (walkOrder, error) {
	cmp, dir := ">", "ASC"
	if q.order.desc() != q.backward {
		cmp, dir = "<", "DESC"
	}
	w := walkOrder{columns: candidateColumns, from: "entities"}
	var refOf func(p *position) string // the ref order's key for a position, when the order is the ref order
	var low, high string               // the range of refs the filter allows
	switch {
	case q.order.byRef:
		refOf = func(p *position) string { return p.Ref }
		prefix, err := c.kindNamespace(ctx, q.filter)
		if err != nil {
			return w, err
		}
		if kinds := topValues(q.filter, "kind"); prefix != "" {
			low, high, w.nameFrom = prefix, prefix[:len(prefix)-1]+"0", len(prefix)+1
		} else if len(kinds) == 1 {
			low, high = kinds[0]+":", kinds[0]+";"
		}
	case q.order.byName():
		prefix, err := c.kindNamespace(ctx, q.filter)
		if err != nil {
			return w, err
		}
		if prefix == "" {
			w.orderBy = "name " + dir + ", id " + dir
			w.keyset = func(p *position) (string, []any) { return "(name, id) " + cmp + " (?, ?)", []any{p.Values[0].V, p.ID} }
			return w, nil
		}
		// Names are unique within a kind and namespace, so there the ref order is the name order, and
		// other kinds (APIs named before every component, say) are never read.
		refOf = func(p *position) string { return prefix + p.Values[0].V }
		low, high, w.nameFrom = prefix, prefix[:len(prefix)-1]+"0", len(prefix)+1
	default:
		w.orderBy = "id " + dir
		w.keyset = func(p *position) (string, []any) { return "id " + cmp + " ?", []any{p.ID} }
		return w, nil
	}
	column := "ref"
	if source, typ := topRelation(q.filter); source != "" {
		// One owner's (or system's, or group's) entities are its inverse relations, stored in ref order:
		// walk those instead of every entity of the kind.
		column = "r.target_ref"
		w.columns = "e.id, e.ref, e.uid, e.name, e.terms"
		w.from = "relations r JOIN entities e ON e.ref = r.target_ref"
		w.where, w.args = []string{"r.source_ref = ?", "r.type = ?"}, []any{source, typ}
	}
	if low != "" {
		w.where, w.args = append(w.where, column+" > ?", column+" < ?"), append(w.args, low, high)
	}
	w.orderBy = column + " " + dir
	w.keyset = func(p *position) (string, []any) { return column + " " + cmp + " ?", []any{refOf(p)} }
	return w, nil
}

// topRelation returns, for a top-level condition relations.<type> = ref, the ref and the inverse type:
// the entities it allows are the targets of that ref's relations of the inverse type.
func topRelation(f *Filter) (string, string) {
	for _, cond := range topConditions(f) {
		if cond.op != opField || cond.match != matchIn || len(cond.values) != 1 {
			continue
		}
		if inverse := inverseRelation(relationTypeOf(cond.key)); inverse != "" {
			return cond.values[0], inverse
		}
	}
	return "", ""
}

// kindNamespace returns "kind:namespace/" when the filter confines entities to one kind and all of them
// (or all it allows) are in one namespace; "" otherwise.
func (c *Catalog) kindNamespace(ctx context.Context, f *Filter) (string, error) {
	kinds, nss := topValues(f, "kind"), topValues(f, "metadata.namespace")
	if len(kinds) != 1 || len(nss) > 1 {
		return "", nil
	}
	if len(nss) == 1 {
		return kinds[0] + ":" + nss[0] + "/", nil
	}
	rows, err := c.rows(ctx, `SELECT DISTINCT value FROM facets WHERE key = 'metadata.namespace' AND kind = ? LIMIT 2`, kinds[0])
	if err != nil {
		return "", fmt.Errorf("reading namespaces: %w", err)
	}
	defer rows.Close()
	var found []string
	for rows.Next() {
		var ns string
		if err := rows.Scan(&ns); err != nil {
			return "", err
		}
		found = append(found, ns)
	}
	if err := rows.Err(); err != nil || len(found) != 1 {
		return "", err
	}
	return kinds[0] + ":" + found[0] + "/", nil
}

// topValues returns the values of a top-level (or only) equality condition on key; nil if there is none.
func topValues(f *Filter, key string) []string {
	conds := topConditions(f)
	for _, cond := range conds {
		if cond.op == opField && cond.match == matchIn && cond.key == key && len(cond.values) > 0 {
			return cond.values
		}
	}
	return nil
}

// topConditions returns the conditions every match must meet: a conjunction's members, or the filter.
func topConditions(f *Filter) []*Filter {
	switch {
	case f == nil:
		return nil
	case f.op == opAll:
		return f.subs
	}
	return []*Filter{f}
}

// pushdown turns the filter's top-level kind, namespace and full-text conditions into SQL on the entity
// columns, so a walk skips other entities inside SQLite instead of handing them to Go. The conditions stay
// in the filter (a full-text one is only prefiltered: the stored terms hold keys too); this only saves work.
// nameFrom, when not 0, says names can be read from refs (see walkOrder), which the ref index holds.
func pushdown(f *Filter, nameFrom int) ([]string, []any) {
	var where []string
	var args []any
	for _, cond := range topConditions(f) {
		if cond.op != opField {
			continue
		}
		if cond.match == matchText {
			if w, a := textPushdown(cond, nameFrom); w != "" {
				where, args = append(where, w), append(args, a...)
			}
			continue
		}
		if cond.match != matchIn || len(cond.values) == 0 {
			continue
		}
		column := map[string]string{"kind": "kind", "metadata.namespace": "namespace"}[cond.key]
		if column == "" {
			continue
		}
		where = append(where, column+" IN ("+marks(len(cond.values))+")")
		args = append(args, anySlice(cond.values)...)
	}
	return where, args
}

// textPushdown prefilters a full-text condition: names in their column (or, walking a kind's refs, in the
// refs, without reading the rows), relations not at all.
func textPushdown(cond *Filter, nameFrom int) (string, []any) {
	var ors []string
	var args []any
	terms := false
	for _, k := range cond.keys {
		switch {
		case strings.HasPrefix(k, "relations."):
			return "", nil
		case k == "metadata.name" && nameFrom > 0:
			ors, args = append(ors, "instr(substr(ref, ?), ?) > 0"), append(args, nameFrom, cond.values[0])
		case k == "metadata.name":
			ors, args = append(ors, "instr(name, ?) > 0"), append(args, cond.values[0])
		case k == "metadata.uid":
			ors, args = append(ors, "instr(uid, ?) > 0"), append(args, cond.values[0])
		case !terms:
			terms = true
			ors, args = append(ors, "instr(terms, ?) > 0"), append(args, cond.values[0])
		}
	}
	if len(ors) == 0 {
		return "", nil
	}
	return "(" + strings.Join(ors, " OR ") + ")", args
}

// readCandidates runs a query selecting id, ref, uid, name, terms.
func (c *Catalog) readCandidates(ctx context.Context, q string, args ...any) ([]*candidate, error) {
	rows, err := c.rows(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("querying entities: %w", err)
	}
	defer rows.Close()
	var out []*candidate
	for rows.Next() {
		cand := &candidate{}
		if err := rows.Scan(&cand.id, &cand.ref, &cand.uid, &cand.name, &cand.terms); err != nil {
			return nil, fmt.Errorf("reading entities: %w", err)
		}
		out = append(out, cand)
	}
	return out, rows.Err()
}

func (c *Catalog) loadRelations(ctx context.Context, cands []*candidate) error {
	refs := make([]string, len(cands))
	for i, cand := range cands {
		refs[i] = cand.ref
	}
	rels, err := c.relationsOf(ctx, refs)
	if err != nil {
		return err
	}
	for _, cand := range cands {
		cand.rels = rels[cand.ref]
	}
	return nil
}

// evaluate reads the entities with the given ids and returns those the filter matches; with needRels (or
// when the filter needs them) they carry their relations.
func (c *Catalog) evaluate(ctx context.Context, ids []int64, f *Filter, needRels bool) ([]*candidate, error) {
	var out []*candidate
	for chunk := range slices.Chunk(ids, 500) {
		in, args := inArgs(chunk)
		batch, err := c.readCandidates(ctx, `SELECT id, ref, uid, name, terms FROM entities WHERE id IN (`+in+`)`, args...)
		if err != nil {
			return nil, err
		}
		if needRels || f.needsRelations() {
			if err := c.loadRelations(ctx, batch); err != nil {
				return nil, err
			}
		}
		for _, cand := range batch {
			if f.matches(cand) {
				out = append(out, cand)
			}
		}
	}
	return out, nil
}

// scan calls fn with every entity the filter matches, in ref order: a filter on one kind reads only that
// kind's range of the ref index.
func (c *Catalog) scan(ctx context.Context, f *Filter, needRels bool, fn func(*candidate)) error {
	q := pageQuery{filter: f, order: order{byRef: true}, limit: -1}
	return c.walk(ctx, q, needRels || f.needsRelations(), func(cand *candidate) bool {
		fn(cand)
		return true
	})
}
