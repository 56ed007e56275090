package catalog

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// DefaultQueryLimit is Backstage's page size for /entities/by-query.
const DefaultQueryLimit = 20

// OrderField orders entities by a search key's value, e.g. {Field: "metadata.name"}. Entities without
// the field come last in either direction; ties are broken by a unique id, so paging never repeats or
// skips an entity.
type OrderField struct {
	Field string
	Desc  bool
}

// FullTextFilter keeps entities where one of Fields (search keys; default: the order field, else
// metadata.uid, as in Backstage) contains Term, case-insensitively.
type FullTextFilter struct {
	Term   string   `json:"term"`
	Fields []string `json:"fields,omitempty"`
}

// QueryRequest is a request of GET /entities/by-query. A Cursor (from a previous response) carries the
// filter, order and full-text filter of the first request and overrides those fields.
type QueryRequest struct {
	Filter     *Filter
	OrderField *OrderField
	FullText   FullTextFilter
	Offset     int // skips matches before the first page
	Limit      int // page size; see DefaultQueryLimit
	Cursor     string
	Fields     []string // dotted paths to keep in each entity; all when empty
	// NoTotal skips counting the matches (Backstage's totalItems=exclude): TotalItems is 0, as there.
	NoTotal bool
}

// QueryResponse is Backstage's answer to /entities/by-query.
type QueryResponse struct {
	Items      []json.RawMessage `json:"items"`
	TotalItems int               `json:"totalItems"`
	PageInfo   PageInfo          `json:"pageInfo"`
}

// PageInfo holds the cursors of the neighbouring pages, when there are any.
type PageInfo struct {
	NextCursor string `json:"nextCursor,omitempty"`
	PrevCursor string `json:"prevCursor,omitempty"`
}

// ErrInvalidCursor is returned (wrapped) for a cursor this catalog did not issue.
var ErrInvalidCursor = errors.New("invalid cursor")

// queryCursor is what a by-query cursor carries: the original query, where the page ends, and the first
// page's first entity (to know when a previous page is the first) and total.
type queryCursor struct {
	Filter   json.RawMessage `json:"filter,omitempty"`
	Order    []cursorOrder   `json:"orderFields,omitempty"`
	FullText *FullTextFilter `json:"fullTextFilter,omitempty"`
	After    position        `json:"orderFieldValues"`
	Previous bool            `json:"isPrevious"`
	First    *position       `json:"firstSortFieldValues,omitempty"`
	Total    int             `json:"totalItems"`
}

type cursorOrder struct {
	Field string `json:"field"`
	Order string `json:"order"`
}

func encodeCursor(v any) string {
	b, _ := json.Marshal(v)
	return base64.StdEncoding.EncodeToString(b)
}

func decodeCursor(s string, v any) error {
	var b []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err = enc.DecodeString(s); err == nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("%w: not base64", ErrInvalidCursor)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidCursor, err)
	}
	return nil
}

// QueryEntities answers Backstage's /entities/by-query: a page of entities, the total number of matches
// (counted on the first page and carried by the cursors), and cursors to the next and previous pages.
// Paging is by position in the order (keyset), so entities written between two pages never make a page
// repeat or skip an entity that exists throughout.
func (c *Catalog) QueryEntities(ctx context.Context, req QueryRequest) (*QueryResponse, error) {
	if req.Limit < 0 {
		return nil, fmt.Errorf("limit: must not be negative, got %d", req.Limit)
	}
	if req.Offset < 0 {
		return nil, fmt.Errorf("offset: must not be negative, got %d", req.Offset)
	}
	cur, err := c.startCursor(req)
	if err != nil {
		return nil, err
	}
	initial := req.Cursor == ""
	filter, ord, err := cur.query()
	if err != nil {
		return nil, err
	}
	q := pageQuery{filter: filter, order: ord, limit: req.Limit}
	if initial {
		q.offset = req.Offset
	} else {
		q.after, q.backward = &cur.After, cur.Previous
	}
	var res pageResult
	if req.Limit > 0 {
		if res, err = c.page(ctx, q); err != nil {
			return nil, err
		}
	} else {
		res.matched = -1
	}
	switch {
	case initial && req.NoTotal:
		cur.Total = 0
	case initial:
		if cur.Total = res.matched; cur.Total < 0 {
			if cur.Total, err = c.Count(ctx, filter); err != nil {
				return nil, err
			}
		}
	}
	rows, pos := res.rows, res.pos
	if q.backward {
		rows, pos = slices.Clone(rows), slices.Clone(pos)
		slices.Reverse(rows)
		slices.Reverse(pos)
	}
	items, err := c.entitiesJSON(ctx, rows, req.Fields)
	if err != nil {
		return nil, err
	}
	if initial && len(pos) > 0 {
		cur.First = &pos[0]
	}
	return &QueryResponse{Items: items, TotalItems: cur.Total, PageInfo: cur.neighbours(ord, pos, q.backward || res.more, initial)}, nil
}

// neighbours returns the cursors of the pages around one whose entities are at pos: the next one when
// more follow, the previous one unless this page starts where the first page did.
func (cur *queryCursor) neighbours(ord order, pos []position, more, initial bool) PageInfo {
	var info PageInfo
	if len(pos) == 0 {
		return info
	}
	if more {
		next := *cur
		next.After, next.Previous = pos[len(pos)-1], false
		info.NextCursor = encodeCursor(next)
	}
	if !initial && cur.First != nil && ord.compare(pos[0], *cur.First) != 0 {
		prev := *cur
		prev.After, prev.Previous = pos[0], true
		info.PrevCursor = encodeCursor(prev)
	}
	return info
}

// startCursor returns the cursor of a request: decoded, or made from the request's own query.
func (c *Catalog) startCursor(req QueryRequest) (*queryCursor, error) {
	if req.Cursor != "" {
		var cur queryCursor
		if err := decodeCursor(req.Cursor, &cur); err != nil {
			return nil, fmt.Errorf("cursor: %w", err)
		}
		return &cur, nil
	}
	cur := &queryCursor{}
	if req.Filter != nil {
		b, err := req.Filter.MarshalJSON()
		if err != nil {
			return nil, err
		}
		cur.Filter = b
	}
	if req.OrderField != nil {
		if strings.TrimSpace(req.OrderField.Field) == "" {
			return nil, fmt.Errorf("orderField: the field must not be empty")
		}
		o := cursorOrder{Field: strings.ToLower(req.OrderField.Field), Order: "asc"}
		if req.OrderField.Desc {
			o.Order = "desc"
		}
		cur.Order = []cursorOrder{o}
	}
	if term := strings.TrimSpace(req.FullText.Term); term != "" {
		cur.FullText = &FullTextFilter{Term: term, Fields: req.FullText.Fields}
	}
	return cur, nil
}

// query returns the cursor's filter (with its full-text filter) and order.
func (cur *queryCursor) query() (*Filter, order, error) {
	var filter *Filter
	if len(cur.Filter) > 0 {
		f, err := ParsePredicate(cur.Filter)
		if err != nil {
			return nil, order{}, fmt.Errorf("cursor: %w: %v", ErrInvalidCursor, err)
		}
		filter = f
	}
	var ord order
	for _, o := range cur.Order {
		if o.Order != "asc" && o.Order != "desc" {
			return nil, order{}, fmt.Errorf("cursor: %w: order %q", ErrInvalidCursor, o.Order)
		}
		ord.keys = append(ord.keys, sortKey{field: strings.ToLower(o.Field), desc: o.Order == "desc"})
	}
	if cur.After.Values != nil && len(cur.After.Values) != len(ord.keys) {
		return nil, order{}, fmt.Errorf("cursor: %w: position does not match the order", ErrInvalidCursor)
	}
	if cur.FullText != nil {
		fields := cur.FullText.Fields
		if len(fields) == 0 {
			fields = []string{"metadata.uid"}
			if len(ord.keys) > 0 {
				fields = []string{ord.keys[0].field}
			}
		}
		filter = and(filter, fullText(cur.FullText.Term, fields))
	}
	return filter, ord, nil
}

// entitiesJSON reads the entities' JSON in the given order (skipping any removed meanwhile) and keeps
// only fields when given.
func (c *Catalog) entitiesJSON(ctx context.Context, rows []*candidate, fields []string) ([]json.RawMessage, error) {
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.id
	}
	byID, err := c.jsonByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]json.RawMessage, 0, len(rows))
	for _, id := range ids {
		raw, ok := byID[id]
		if !ok {
			continue
		}
		if len(fields) > 0 {
			if raw, err = project(raw, fields); err != nil {
				return nil, err
			}
		}
		out = append(out, raw)
	}
	return out, nil
}

// jsonByID reads entities by id, with their relations.
func (c *Catalog) jsonByID(ctx context.Context, ids []int64) (map[int64][]byte, error) {
	out := make(map[int64][]byte, len(ids))
	for chunk := range slices.Chunk(ids, 500) {
		in, args := inArgs(chunk)
		rows, err := c.rows(ctx, `SELECT id, ref, body FROM entities WHERE id IN (`+in+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("reading entities: %w", err)
		}
		var refs []string
		bodies := map[string][]byte{}
		refID := map[string]int64{}
		for rows.Next() {
			var id int64
			var ref string
			var body []byte
			if err := rows.Scan(&id, &ref, &body); err != nil {
				rows.Close()
				return nil, fmt.Errorf("reading entities: %w", err)
			}
			refs = append(refs, ref)
			bodies[ref], refID[ref] = body, id
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("reading entities: %w", err)
		}
		rels, err := c.relationsOf(ctx, refs)
		if err != nil {
			return nil, err
		}
		for _, ref := range refs {
			out[refID[ref]] = withRelations(bodies[ref], rels[ref])
		}
	}
	return out, nil
}

// EntitiesRequest is a request of GET /entities.
type EntitiesRequest struct {
	Filter *Filter
	Order  []OrderField // by ref when empty
	Offset int
	Limit  int    // 0: no limit
	After  string // the cursor of a previous page (the Link header's after)
	Fields []string
}

// entitiesCursor is what /entities' after carries: the last position, or (from Backstage's own cursors)
// an offset.
type entitiesCursor struct {
	After  *position `json:"after,omitempty"`
	Limit  *int      `json:"limit,omitempty"`
	Offset *int      `json:"offset,omitempty"`
}

// Entities answers Backstage's GET /entities: the entities matching the filter in order, each passed to
// emit as it is read (so a catalog-wide listing is never held in memory). With a limit, it returns the
// cursor of the next page ("" on the last one).
func (c *Catalog) Entities(ctx context.Context, req EntitiesRequest, emit func(json.RawMessage) error) (string, error) {
	if req.Limit < 0 || req.Offset < 0 {
		return "", fmt.Errorf("limit and offset: must not be negative")
	}
	ord := order{byRef: len(req.Order) == 0}
	for _, o := range req.Order {
		if strings.TrimSpace(o.Field) == "" {
			return "", fmt.Errorf("order: the field must not be empty")
		}
		ord.keys = append(ord.keys, sortKey{field: strings.ToLower(o.Field), desc: o.Desc})
	}
	q := pageQuery{filter: req.Filter, order: ord, offset: req.Offset, limit: -1}
	if req.Limit > 0 {
		q.limit = req.Limit
	}
	if req.After != "" {
		var cur entitiesCursor
		if err := decodeCursor(req.After, &cur); err != nil {
			return "", fmt.Errorf("after: %w", err)
		}
		switch {
		case cur.After != nil:
			if !ord.byRef && len(cur.After.Values) != len(ord.keys) {
				return "", fmt.Errorf("after: %w: it was issued for another order", ErrInvalidCursor)
			}
			q.after, q.offset = cur.After, 0
		case cur.Offset != nil:
			q.offset = *cur.Offset
		}
		if cur.Limit != nil && req.Limit == 0 {
			q.limit = *cur.Limit
		}
	}
	if q.limit < 0 && ord.walkable() {
		return "", c.streamEntities(ctx, q, req.Fields, emit)
	}
	res, err := c.page(ctx, q)
	if err != nil {
		return "", err
	}
	items, err := c.entitiesJSON(ctx, res.rows, req.Fields)
	if err != nil {
		return "", err
	}
	for _, item := range items {
		if err := emit(item); err != nil {
			return "", err
		}
	}
	if !res.more || len(res.pos) == 0 {
		return "", nil
	}
	limit := q.limit
	return encodeCursor(entitiesCursor{After: &res.pos[len(res.pos)-1], Limit: &limit}), nil
}

// streamEntities emits every match in an index order, a batch at a time.
func (c *Catalog) streamEntities(ctx context.Context, q pageQuery, fields []string, emit func(json.RawMessage) error) error {
	var batch []*candidate
	flush := func() error {
		items, err := c.entitiesJSON(ctx, batch, fields)
		if err != nil {
			return err
		}
		batch = batch[:0]
		for _, item := range items {
			if err := emit(item); err != nil {
				return err
			}
		}
		return nil
	}
	skip := q.offset
	var failed error
	err := c.walk(ctx, q, q.filter.needsRelations(), func(cand *candidate) bool {
		if skip > 0 {
			skip--
			return true
		}
		if batch = append(batch, cand); len(batch) == 500 {
			failed = flush()
		}
		return failed == nil
	})
	if err != nil {
		return err
	}
	if failed != nil {
		return failed
	}
	return flush()
}

// EntitiesByRefs returns the entities with the given refs, in the same order, nil for those missing (or
// not matching the filter), as Backstage's POST /entities/by-refs.
func (c *Catalog) EntitiesByRefs(ctx context.Context, refs []string, f *Filter, fields []string) ([]json.RawMessage, error) {
	keys := make([]string, len(refs))
	for i, r := range refs {
		if parsed, err := ParseRef(r, "", ""); err == nil {
			keys[i] = parsed.String()
		}
	}
	found := map[string]*candidate{}
	for chunk := range slices.Chunk(slices.DeleteFunc(slices.Clone(keys), func(k string) bool { return k == "" }), 500) {
		in, args := inArgs(chunk)
		cands, err := c.readCandidates(ctx, `SELECT id, ref, uid, name, terms FROM entities WHERE ref IN (`+in+`)`, args...)
		if err != nil {
			return nil, err
		}
		if f.needsRelations() {
			if err := c.loadRelations(ctx, cands); err != nil {
				return nil, err
			}
		}
		for _, cand := range cands {
			if f.matches(cand) {
				found[cand.ref] = cand
			}
		}
	}
	ids := make([]int64, 0, len(found))
	for _, cand := range found {
		ids = append(ids, cand.id)
	}
	byID, err := c.jsonByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]json.RawMessage, len(keys))
	for i, k := range keys {
		cand := found[k]
		if cand == nil || byID[cand.id] == nil {
			continue
		}
		raw := byID[cand.id]
		if len(fields) > 0 {
			if raw, err = project(raw, fields); err != nil {
				return nil, err
			}
		}
		out[i] = raw
	}
	return out, nil
}

// AncestryItem is one entity of an ancestry and the refs of its parents.
type AncestryItem struct {
	Entity           json.RawMessage `json:"entity"`
	ParentEntityRefs []string        `json:"parentEntityRefs"`
}

// Ancestry is Backstage's /entities/by-name/.../ancestry: the entity, then the Location entities that led
// to it, each with its parents. A location's root file has none (goldenpath registers locations without
// Backstage's generated Location entity).
type Ancestry struct {
	RootEntityRef string         `json:"rootEntityRef"`
	Items         []AncestryItem `json:"items"`
}

// Ancestry returns the chain of Location entities an entity was found through.
func (c *Catalog) Ancestry(ctx context.Context, ref Ref) (*Ancestry, error) {
	out := &Ancestry{RootEntityRef: ref.String(), Items: []AncestryItem{}}
	seen := map[string]bool{}
	for current := strings.ToLower(ref.String()); current != "" && !seen[current]; {
		seen[current] = true
		var parent string
		var body []byte
		err := c.db.QueryRowContext(ctx, `SELECT parent_ref, body FROM entities WHERE ref = ?`, current).Scan(&parent, &body)
		if err != nil {
			if len(out.Items) > 0 {
				break // a parent removed meanwhile ends the chain
			}
			return nil, fmt.Errorf("%s: %w", ref, ErrNotFound)
		}
		rels, err := c.relationsOf(ctx, []string{current})
		if err != nil {
			return nil, err
		}
		item := AncestryItem{Entity: withRelations(body, rels[current]), ParentEntityRefs: []string{}}
		if parent != "" {
			item.ParentEntityRefs = append(item.ParentEntityRefs, parent)
		}
		out.Items = append(out.Items, item)
		current = parent
	}
	return out, nil
}
