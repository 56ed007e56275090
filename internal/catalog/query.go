package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

const (
	defaultListLimit = 100
	maxListLimit     = 10000
)

// Get returns the entity with the given ref, with its relations (its own and those other entities point
// back at it). A missing entity is ErrNotFound.
func (c *Catalog) Get(ctx context.Context, ref Ref) (*Entity, error) {
	raw, err := c.GetJSON(ctx, ref)
	if err != nil {
		return nil, err
	}
	return decodeEntity(raw)
}

// GetByUID returns the entity with the given metadata.uid, with its relations; a missing one is ErrNotFound.
func (c *Catalog) GetByUID(ctx context.Context, uid string) (*Entity, error) {
	raw, err := c.GetJSONByUID(ctx, uid)
	if err != nil {
		return nil, err
	}
	return decodeEntity(raw)
}

// GetJSON is Get as the JSON Backstage serves (the stored document with its relations), without decoding.
func (c *Catalog) GetJSON(ctx context.Context, ref Ref) ([]byte, error) {
	key := strings.ToLower(ref.String())
	return c.getOne(ctx, `ref = ?`, key, key)
}

// GetJSONByUID is GetByUID as JSON.
func (c *Catalog) GetJSONByUID(ctx context.Context, uid string) ([]byte, error) {
	return c.getOne(ctx, `uid = ?`, uid, "uid "+uid)
}

func (c *Catalog) getOne(ctx context.Context, where string, arg any, what string) ([]byte, error) {
	rows, err := c.rows(ctx, `SELECT body, (SELECT group_concat(type || char(31) || target_ref, char(30))
		FROM relations WHERE source_ref = e.ref) FROM entities e WHERE `+where, arg)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	var body []byte
	var rels sql.NullString
	err = sql.ErrNoRows
	if rows.Next() {
		err = rows.Scan(&body, &rels)
	}
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	return withRelations(body, splitRelations(rels.String)), nil
}

// splitRelations reads relations concatenated by a lookup (type US target RS ...), ordered as stored.
func splitRelations(s string) []Relation {
	if s == "" {
		return nil
	}
	var out []Relation
	for rec := range strings.SplitSeq(s, "\x1e") {
		typ, target, _ := strings.Cut(rec, "\x1f")
		out = append(out, Relation{Type: typ, TargetRef: target})
	}
	sortRelations(out)
	return out
}

// maxStatements bounds the prepared statements kept (one per distinct query text).
const maxStatements = 256

// prepared returns a statement prepared once for the catalog's lifetime: the hot reads would otherwise
// spend as long compiling their SQL as running it. Queries differ by shape only (IN lists are padded, see
// inArgs), so the set stays small; past maxStatements, statements are prepared for one use (nil, nil).
func (c *Catalog) prepared(ctx context.Context, q string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.stmts[q]; ok {
		return s, nil
	}
	if len(c.stmts) >= maxStatements {
		return nil, nil
	}
	s, err := c.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("preparing statement: %w", err)
	}
	if c.stmts == nil {
		c.stmts = map[string]*sql.Stmt{}
	}
	c.stmts[q] = s
	return s, nil
}

// rows runs a read query with a prepared statement.
func (c *Catalog) rows(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	s, err := c.prepared(ctx, q)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.db.QueryContext(ctx, q, args...)
	}
	return s.QueryContext(ctx, args...)
}

// inArgs returns the placeholders and arguments of an IN list, padded to a power of two with its last
// value (which changes nothing), so lists of any length share a few statements.
func inArgs[T any](values []T) (string, []any) {
	n := 1
	for n < len(values) {
		n *= 2
	}
	args := make([]any, n)
	for i := range n {
		args[i] = values[min(i, len(values)-1)]
	}
	return marks(n), args
}

// List returns entities of a kind (case-insensitive; all kinds when ""), ordered by canonical ref, starting
// after the ref after ("" for the first page). limit 0 means 100; at most 10000. Pass the last ref of a page
// as after to get the next one.
func (c *Catalog) List(ctx context.Context, kind string, after string, limit int) ([]*Entity, error) {
	limit, err := listLimit(limit)
	if err != nil {
		return nil, err
	}
	after = strings.ToLower(after)
	if kind == "" {
		return c.query(ctx, `SELECT ref, body FROM entities WHERE ref > ? ORDER BY ref LIMIT ?`, after, limit)
	}
	// Refs start with their kind, so the ref index serves a kind as one range.
	kind = strings.ToLower(kind)
	return c.query(ctx, `SELECT ref, body FROM entities WHERE ref > ? AND ref < ? ORDER BY ref LIMIT ?`,
		max(after, kind+":"), kind+";", limit)
}

// ListByOwner returns the entities whose spec.owner is owner, ordered by ref and paged like List.
func (c *Catalog) ListByOwner(ctx context.Context, owner Ref, after string, limit int) ([]*Entity, error) {
	limit, err := listLimit(limit)
	if err != nil {
		return nil, err
	}
	// What an owner owns is the targets of its ownerOf relations (the inverse of their ownedBy).
	return c.query(ctx, `SELECT e.ref, e.body FROM relations r JOIN entities e ON e.ref = r.target_ref
		WHERE r.source_ref = ? AND r.type = ? AND r.target_ref > ? ORDER BY r.target_ref LIMIT ?`,
		strings.ToLower(owner.String()), RelationOwnerOf, strings.ToLower(after), limit)
}

func listLimit(limit int) (int, error) {
	switch {
	case limit < 0 || limit > maxListLimit:
		return 0, fmt.Errorf("limit: must be between 0 and %d, got %d", maxListLimit, limit)
	case limit == 0:
		return defaultListLimit, nil
	}
	return limit, nil
}

// locationEntities returns what a location currently provides.
func (c *Catalog) locationEntities(ctx context.Context, id string) ([]*Entity, error) {
	return c.query(ctx, `SELECT ref, body FROM entities WHERE location_id = ? AND orphaned_at = 0 ORDER BY ref`, id)
}

// query reads entities (ref and body columns) with their relations, decoded.
func (c *Catalog) query(ctx context.Context, q string, args ...any) ([]*Entity, error) {
	raws, err := c.queryJSON(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	out := make([]*Entity, len(raws))
	for i, raw := range raws {
		if out[i], err = decodeEntity(raw); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// queryJSON reads entities (ref and body columns) as JSON with their relations, in the query's order.
func (c *Catalog) queryJSON(ctx context.Context, q string, args ...any) ([][]byte, error) {
	rows, err := c.rows(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("querying entities: %w", err)
	}
	defer rows.Close()
	var refs []string
	var bodies [][]byte
	for rows.Next() {
		var ref string
		var body []byte
		if err := rows.Scan(&ref, &body); err != nil {
			return nil, fmt.Errorf("reading entity: %w", err)
		}
		refs, bodies = append(refs, ref), append(bodies, body)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading entities: %w", err)
	}
	rels, err := c.relationsOf(ctx, refs)
	if err != nil {
		return nil, err
	}
	for i, ref := range refs {
		bodies[i] = withRelations(bodies[i], rels[ref])
	}
	return bodies, nil
}

// relationsOf returns the relations whose source is each of refs, ordered by type and target.
func (c *Catalog) relationsOf(ctx context.Context, refs []string) (map[string][]Relation, error) {
	out := make(map[string][]Relation, len(refs))
	for chunk := range slices.Chunk(refs, 500) {
		in, args := inArgs(chunk)
		rows, err := c.rows(ctx, `SELECT source_ref, type, target_ref FROM relations WHERE source_ref IN (`+in+
			`) ORDER BY source_ref, type, target_ref`, args...)
		if err != nil {
			return nil, fmt.Errorf("querying relations: %w", err)
		}
		for rows.Next() {
			var source string
			var r Relation
			if err := rows.Scan(&source, &r.Type, &r.TargetRef); err != nil {
				rows.Close()
				return nil, fmt.Errorf("reading relation: %w", err)
			}
			out[source] = append(out[source], r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("reading relations: %w", err)
		}
	}
	return out, nil
}

// withRelations appends the relations to a stored body ({...} without relations), the way Backstage's
// stitched entity carries them. Splicing the stored JSON is what keeps lookups off the JSON decoder.
func withRelations(body []byte, rels []Relation) []byte {
	end := len(body) - 1
	for end > 0 && body[end] != '}' {
		end--
	}
	out := make([]byte, 0, len(body)+16+len(rels)*64)
	out = append(out, body[:end]...)
	out = append(out, `,"relations":[`...)
	for i, r := range rels {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, `{"type":`...)
		out = appendJSONString(out, r.Type)
		out = append(out, `,"targetRef":`...)
		out = appendJSONString(out, r.TargetRef)
		out = append(out, '}')
	}
	return append(out, "]}"...)
}

// appendJSONString appends s as a JSON string. Relation types and refs are plain ASCII; anything else
// goes through the encoder.
func appendJSONString(out []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s)
			return append(out, b...)
		}
	}
	out = append(out, '"')
	out = append(out, s...)
	return append(out, '"')
}

func decodeEntity(raw []byte) (*Entity, error) {
	var e Entity
	if err := json.Unmarshal(raw, &e); err != nil {
		return nil, fmt.Errorf("decoding entity: %w", err)
	}
	return &e, nil
}
