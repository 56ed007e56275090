package catalog

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// indexer keeps what is derived from entity writes — relation rows and facet counts — in step with them
// inside one transaction. Changes are accumulated in memory and written once per batch, sorted, in
// multi-row statements: a bulk load touches the same few facet rows thousands of times.
//
// Facet counts count existing entities per (key, kind, value): an entity's own counted terms, and the
// counted relations whose source it is. A relation row may exist before its source entity does (a
// component names an owner group not yet registered); it counts from the moment the source appears.
type indexer struct {
	c      *Catalog
	tx     *sql.Tx
	facets map[facetKey]int
	rels   map[relKey]int
	exists map[string]bool // refs known to exist (or not) at this point of the transaction
	// skipRelationFacets leaves relation counts alone (a rebuild computes them at the end).
	skipRelationFacets bool
	stmts              map[string]*sql.Stmt // prepared once per transaction: compiling a multi-row statement costs more than running it
	// authoritative: the claims are goldenpath's own (Upsert), and take entities over from registered
	// locations; taken lists what they took (ref and former source).
	authoritative bool
	taken         []string
	written       int // entities inserted or updated so far
}

type facetKey struct{ key, kind, value, original string }

type relKey struct{ source, typ, target string }

func newIndexer(c *Catalog, tx *sql.Tx) *indexer {
	return &indexer{c: c, tx: tx, facets: map[facetKey]int{}, rels: map[relKey]int{}, exists: map[string]bool{},
		stmts: map[string]*sql.Stmt{}}
}

// stmt returns the transaction's prepared statement for q.
func (ix *indexer) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if s, ok := ix.stmts[q]; ok {
		return s, nil
	}
	s, err := ix.tx.PrepareContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("preparing statement: %w", err)
	}
	ix.stmts[q] = s
	return s, nil
}

func (ix *indexer) exec(ctx context.Context, q string, args ...any) error {
	s, err := ix.stmt(ctx, q)
	if err == nil {
		_, err = s.ExecContext(ctx, args...)
	}
	return err
}

func (ix *indexer) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	s, err := ix.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

// close releases the prepared statements.
func (ix *indexer) close() {
	for _, s := range ix.stmts {
		s.Close()
	}
	clear(ix.stmts)
}

// kindOf returns the kind of a canonical ref.
func kindOf(ref string) string {
	kind, _, _ := strings.Cut(ref, ":")
	return kind
}

// terms adds (sign 1) or removes (sign -1) an entity's own terms from the counts.
func (ix *indexer) terms(kind string, terms []term, sign int) {
	for _, t := range terms {
		if t.counted {
			ix.facets[facetKey{t.key, kind, t.value, t.original}] += sign
		}
	}
}

// relate adds (sign 1) or removes (sign -1) the relations an entity states: its own and their inverses.
func (ix *indexer) relate(e *Entity, sign int) {
	own, inverse := Relations(e)
	ix.relateDerived(e.Ref().String(), own, inverse, sign)
}

// relateDerived is relate with the entity's relations already derived (see Relations).
func (ix *indexer) relateDerived(self string, own []Relation, inverse map[Ref][]Relation, sign int) {
	for _, r := range own {
		ix.rels[relKey{self, r.Type, r.TargetRef}] += sign
	}
	for target, rs := range inverse {
		t := target.String()
		for _, r := range rs {
			ix.rels[relKey{t, r.Type, r.TargetRef}] += sign
		}
	}
}

func (ix *indexer) relationFacet(source, typ, target string, sign int) {
	if countedRelation(typ) {
		ix.facets[facetKey{relationKey(typ), kindOf(source), target, target}] += sign
	}
}

// appeared records entities that did not exist before: relations other entities already state about them
// start counting. Call it before flushing the relations of the same batch.
func (ix *indexer) appeared(ctx context.Context, refs []string) error {
	for _, r := range refs {
		ix.exists[r] = true
	}
	return ix.incoming(ctx, refs, 1)
}

// disappeared records entities about to be removed: the relations about them stop counting.
func (ix *indexer) disappeared(ctx context.Context, refs []string) error {
	if err := ix.incoming(ctx, refs, -1); err != nil {
		return err
	}
	for _, r := range refs {
		ix.exists[r] = false
	}
	return nil
}

func (ix *indexer) incoming(ctx context.Context, refs []string, sign int) error {
	for chunk := range slices.Chunk(refs, 500) {
		rows, err := ix.query(ctx, `SELECT source_ref, type, target_ref FROM relations WHERE source_ref IN (`+
			marks(len(chunk))+`)`, anySlice(chunk)...)
		if err != nil {
			return fmt.Errorf("reading relations: %w", err)
		}
		for rows.Next() {
			var k relKey
			if err := rows.Scan(&k.source, &k.typ, &k.target); err != nil {
				rows.Close()
				return fmt.Errorf("reading relations: %w", err)
			}
			ix.relationFacet(k.source, k.typ, k.target, sign)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("reading relations: %w", err)
		}
	}
	return nil
}

// flushRelations writes the accumulated relation changes. A relation row carries how many entities state
// it (both sides of a pair may), so it disappears when the last one stops stating it; a row appearing or
// disappearing changes the facet counts when its source exists.
func (ix *indexer) flushRelations(ctx context.Context) error {
	keys := slices.SortedFunc(maps.Keys(ix.rels), func(a, b relKey) int {
		return cmp.Or(cmp.Compare(a.source, b.source), cmp.Compare(a.typ, b.typ), cmp.Compare(a.target, b.target))
	})
	keys = slices.DeleteFunc(keys, func(k relKey) bool { return ix.rels[k] == 0 })
	// Most relations have one possible stater (only a component states its owner), so their rows come and
	// go with it and need no answer back. Rows only gaining statements and not counted need none either.
	// The others say how many statements they are left with, to remove rows nobody states any more and to
	// count rows appearing.
	var ch relationChanges
	var quiet, answered []relKey
	for _, k := range keys {
		d := ix.rels[k]
		switch {
		case singleStater(k.typ) && d < 0:
			ch.gone = append(ch.gone, k)
			ch.changed = append(ch.changed, transition{k, -1})
		case singleStater(k.typ):
			quiet = append(quiet, k)
			ch.changed = append(ch.changed, transition{k, 1})
		case d > 0 && (ix.skipRelationFacets || !countedRelation(k.typ)):
			quiet = append(quiet, k)
		default:
			answered = append(answered, k)
		}
	}
	if err := ix.addRelations(ctx, quiet); err != nil {
		return err
	}
	if err := ix.countStatements(ctx, answered, &ch); err != nil {
		return err
	}
	clear(ix.rels)
	if err := ix.deleteRelations(ctx, ch.gone); err != nil {
		return err
	}
	if ix.skipRelationFacets {
		return nil
	}
	return ix.countTransitions(ctx, ch.changed)
}

// relationChanges are what a flush found: rows nobody states any more, and rows appearing (1) or
// disappearing (-1).
type relationChanges struct {
	gone    []relKey
	changed []transition
}

type transition struct {
	k    relKey
	sign int
}

// countStatements adds the accumulated statements of keys to their rows and notes the rows that appear
// or are left with none.
func (ix *indexer) countStatements(ctx context.Context, keys []relKey, ch *relationChanges) error {
	for chunk := range slices.Chunk(keys, relationRows) {
		args := make([]any, 0, 4*len(chunk))
		for _, k := range chunk {
			args = append(args, k.source, k.typ, k.target, ix.rels[k])
		}
		rows, err := ix.query(ctx, `INSERT OR FAIL INTO relations (source_ref, type, target_ref, n) VALUES `+
			tuples(len(chunk), 4)+` ON CONFLICT DO UPDATE SET n = n + excluded.n RETURNING source_ref, type, target_ref, n`, args...)
		if err != nil {
			return fmt.Errorf("storing relations: %w", err)
		}
		for rows.Next() {
			var k relKey
			var n int
			if err := rows.Scan(&k.source, &k.typ, &k.target, &n); err != nil {
				rows.Close()
				return fmt.Errorf("storing relations: %w", err)
			}
			switch before := n - ix.rels[k]; {
			case n <= 0:
				ch.gone = append(ch.gone, k)
				if before > 0 {
					ch.changed = append(ch.changed, transition{k, -1})
				}
			case before <= 0:
				ch.changed = append(ch.changed, transition{k, 1})
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("storing relations: %w", err)
		}
	}
	return nil
}

// countTransitions counts the counted relations that appeared or disappeared on existing entities.
func (ix *indexer) countTransitions(ctx context.Context, changed []transition) error {
	var sources []string
	for _, t := range changed {
		if countedRelation(t.k.typ) {
			sources = append(sources, t.k.source)
		}
	}
	if err := ix.resolve(ctx, sources); err != nil {
		return err
	}
	for _, t := range changed {
		if ix.exists[t.k.source] {
			ix.relationFacet(t.k.source, t.k.typ, t.k.target, t.sign)
		}
	}
	return nil
}

func (ix *indexer) addRelations(ctx context.Context, keys []relKey) error {
	for chunk := range slices.Chunk(keys, relationRows) {
		args := make([]any, 0, 4*len(chunk))
		for _, k := range chunk {
			args = append(args, k.source, k.typ, k.target, ix.rels[k])
		}
		if err := ix.exec(ctx, `INSERT OR FAIL INTO relations (source_ref, type, target_ref, n) VALUES `+
			tuples(len(chunk), 4)+` ON CONFLICT DO UPDATE SET n = n + excluded.n`, args...); err != nil {
			return fmt.Errorf("storing relations: %w", err)
		}
	}
	return nil
}

func (ix *indexer) deleteRelations(ctx context.Context, keys []relKey) error {
	for chunk := range slices.Chunk(keys, 200) {
		args := make([]any, 0, 3*len(chunk))
		for _, k := range chunk {
			args = append(args, k.source, k.typ, k.target)
		}
		if err := ix.exec(ctx, `DELETE FROM relations WHERE (source_ref, type, target_ref) IN (VALUES `+
			tuples(len(chunk), 3)+`)`, args...); err != nil {
			return fmt.Errorf("removing relations: %w", err)
		}
	}
	return nil
}

// resolve learns which of refs exist, for those the transaction has not seen yet.
func (ix *indexer) resolve(ctx context.Context, refs []string) error {
	var unknown []string
	for _, r := range refs {
		if _, known := ix.exists[r]; !known {
			ix.exists[r] = false
			unknown = append(unknown, r)
		}
	}
	for chunk := range slices.Chunk(unknown, 500) {
		rows, err := ix.query(ctx, `SELECT ref FROM entities WHERE ref IN (`+marks(len(chunk))+`)`, anySlice(chunk)...)
		if err != nil {
			return fmt.Errorf("looking up entities: %w", err)
		}
		for rows.Next() {
			var ref string
			if err := rows.Scan(&ref); err != nil {
				rows.Close()
				return err
			}
			ix.exists[ref] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// flush writes the facet count changes; call it once before committing.
func (ix *indexer) flush(ctx context.Context) error {
	if err := ix.flushRelations(ctx); err != nil {
		return err
	}
	keys := slices.SortedFunc(maps.Keys(ix.facets), func(a, b facetKey) int {
		return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.kind, b.kind), cmp.Compare(a.value, b.value), cmp.Compare(a.original, b.original))
	})
	keys = slices.DeleteFunc(keys, func(k facetKey) bool { return ix.facets[k] == 0 })
	var empty []facetKey
	for chunk := range slices.Chunk(keys, 150) {
		args := make([]any, 0, 5*len(chunk))
		for _, k := range chunk {
			args = append(args, k.key, k.kind, k.value, k.original, ix.facets[k])
		}
		rows, err := ix.query(ctx, `INSERT OR FAIL INTO facets (key, kind, value, original, n) VALUES `+tuples(len(chunk), 5)+
			` ON CONFLICT DO UPDATE SET n = n + excluded.n RETURNING key, kind, value, original, n`, args...)
		if err != nil {
			return fmt.Errorf("counting facets: %w", err)
		}
		for rows.Next() {
			var k facetKey
			var n int
			if err := rows.Scan(&k.key, &k.kind, &k.value, &k.original, &n); err != nil {
				rows.Close()
				return fmt.Errorf("counting facets: %w", err)
			}
			if n <= 0 {
				empty = append(empty, k)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("counting facets: %w", err)
		}
	}
	clear(ix.facets)
	for chunk := range slices.Chunk(empty, 150) {
		args := make([]any, 0, 4*len(chunk))
		for _, k := range chunk {
			args = append(args, k.key, k.kind, k.value, k.original)
		}
		if err := ix.exec(ctx, `DELETE FROM facets WHERE (key, kind, value, original) IN (VALUES `+
			tuples(len(chunk), 4)+`)`, args...); err != nil {
			return fmt.Errorf("counting facets: %w", err)
		}
	}
	return nil
}

// noteKeys records keys that hold several values in one entity (multi, see multiValued) and keys of
// arrays of strings (see Catalog.mayBeElement).
func (ix *indexer) noteKeys(ctx context.Context, multi, arrays []string) error {
	for _, k := range multi {
		if ix.c.isMulti(k) {
			continue
		}
		if _, err := ix.tx.ExecContext(ctx, `INSERT OR IGNORE INTO multi_keys (key) VALUES (?)`, k); err != nil {
			return fmt.Errorf("recording key %s: %w", k, err)
		}
		ix.c.setKey(&ix.c.multi, k)
	}
	for _, k := range arrays {
		ix.c.multiMu.RLock()
		known := ix.c.arrays[k]
		ix.c.multiMu.RUnlock()
		if known {
			continue
		}
		if _, err := ix.tx.ExecContext(ctx, `INSERT OR IGNORE INTO array_keys (key) VALUES (?)`, k); err != nil {
			return fmt.Errorf("recording key %s: %w", k, err)
		}
		ix.c.setKey(&ix.c.arrays, k)
	}
	return nil
}

// relationRows is how many relation rows one statement writes (SQLite bounds a statement's parameters).
const relationRows = 200

func marks(n int) string { return strings.TrimSuffix(strings.Repeat("?,", n), ",") }

// tuples returns "(?,?),(?,?)" for n rows of width columns.
func tuples(n, width int) string {
	row := "(" + marks(width) + "),"
	return strings.TrimSuffix(strings.Repeat(row, n), ",")
}

func anySlice[T any](s []T) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
