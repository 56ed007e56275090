package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// indexVersion names how search terms, relations and counts are derived from entities. Changing that
// derivation (a new relation type, another counted key) must bump it: the next Open rebuilds the index from
// the stored entities instead of mixing old and new derivations.
const indexVersion = 3

// openIndex loads the multi-valued keys and rebuilds the index when it was built by another version.
func (c *Catalog) openIndex(ctx context.Context) error {
	var v string
	err := c.db.QueryRowContext(ctx, `SELECT value FROM catalog_meta WHERE name = 'index_version'`).Scan(&v)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("reading index version: %w", err)
	}
	if v != strconv.Itoa(indexVersion) {
		if err := c.reindex(ctx); err != nil {
			return fmt.Errorf("rebuilding the index: %w", err)
		}
	}
	if c.multi, err = c.keySet(ctx, `SELECT key FROM multi_keys`); err != nil {
		return err
	}
	c.arrays, err = c.keySet(ctx, `SELECT key FROM array_keys`)
	return err
}

func (c *Catalog) keySet(ctx context.Context, q string) (map[string]bool, error) {
	rows, err := c.db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("reading keys: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		out[k] = true
	}
	return out, rows.Err()
}

// reindex derives terms, relations and counts again from every stored entity, in one transaction.
func (c *Catalog) reindex(ctx context.Context) error {
	n := 0
	err := c.update(ctx, func(ix *indexer) error {
		for _, q := range []string{`DELETE FROM relations`, `DELETE FROM facets`, `DELETE FROM multi_keys`, `DELETE FROM array_keys`} {
			if _, err := ix.tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		// Relation counts are computed once at the end, from the rebuilt rows and the entities that exist.
		ix.skipRelationFacets = true
		var after int64
		for {
			done, last, err := c.reindexBatch(ctx, ix, after)
			if err != nil {
				return err
			}
			n += done
			if done == 0 {
				break
			}
			after = last
		}
		if err := ix.flushRelations(ctx); err != nil {
			return err
		}
		if err := countRelations(ctx, ix.tx); err != nil {
			return err
		}
		_, err := ix.tx.ExecContext(ctx, `INSERT INTO catalog_meta (name, value) VALUES ('index_version', ?)
			ON CONFLICT DO UPDATE SET value = excluded.value`, strconv.Itoa(indexVersion))
		return err
	})
	if err == nil && n > 0 {
		c.log.Info("catalog index rebuilt", "entities", n, "version", indexVersion)
	}
	return err
}

func (c *Catalog) reindexBatch(ctx context.Context, ix *indexer, after int64) (int, int64, error) {
	var ids []int64
	var bodies []*Entity
	rows, err := ix.tx.QueryContext(ctx, `SELECT id, body FROM entities WHERE id > ? ORDER BY id LIMIT 2000`, after)
	if err != nil {
		return 0, 0, err
	}
	for rows.Next() {
		var id int64
		var body []byte
		if err := rows.Scan(&id, &body); err != nil {
			rows.Close()
			return 0, 0, err
		}
		var e Entity
		if err := json.Unmarshal(body, &e); err != nil {
			rows.Close()
			return 0, 0, fmt.Errorf("decoding entity %d: %w", id, err)
		}
		ids, bodies = append(ids, id), append(bodies, &e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, 0, err
	}
	for i, e := range bodies {
		terms, arrays := entityIndex(e)
		if _, err := ix.tx.ExecContext(ctx, `UPDATE entities SET terms = ? WHERE id = ?`, encodeTerms(terms), ids[i]); err != nil {
			return 0, 0, err
		}
		ix.terms(strings.ToLower(e.Kind), terms, 1)
		ix.relate(e, 1)
		if err := ix.noteKeys(ctx, multiValued(terms), arrays); err != nil {
			return 0, 0, err
		}
	}
	if len(ids) == 0 {
		return 0, 0, nil
	}
	return len(ids), ids[len(ids)-1], ix.flushRelations(ctx)
}

// countRelations sets the relation counts from scratch: counted relations whose source exists.
func countRelations(ctx context.Context, tx *sql.Tx) error {
	var types []string
	for _, t := range relationTypes() {
		if countedRelation(t) {
			types = append(types, t)
		}
	}
	for _, t := range types {
		_, err := tx.ExecContext(ctx, `INSERT INTO facets (key, kind, value, original, n)
			SELECT ?, substr(source_ref, 1, instr(source_ref, ':') - 1), target_ref, target_ref, count(*) FROM relations r
			WHERE type = ? AND EXISTS (SELECT 1 FROM entities WHERE ref = r.source_ref)
			GROUP BY 2, target_ref`, relationKey(t), t)
		if err != nil {
			return fmt.Errorf("counting relations: %w", err)
		}
	}
	return nil
}

// changed moves the generation on after a committed write.
func (c *Catalog) changed() { c.gen.Add(1) }

func (c *Catalog) isMulti(key string) bool {
	c.multiMu.RLock()
	defer c.multiMu.RUnlock()
	return c.multi[key]
}

// mayBeElement tells whether key may be an "array.element" term: some prefix of it is an array key.
func (c *Catalog) mayBeElement(key string) bool {
	c.multiMu.RLock()
	defer c.multiMu.RUnlock()
	for i := strings.IndexByte(key, '.'); i >= 0; i = nextDot(key, i) {
		if c.arrays[key[:i]] {
			return true
		}
	}
	return false
}

func nextDot(s string, i int) int {
	j := strings.IndexByte(s[i+1:], '.')
	if j < 0 {
		return -1
	}
	return i + 1 + j
}

func (c *Catalog) setKey(set *map[string]bool, key string) {
	c.multiMu.Lock()
	defer c.multiMu.Unlock()
	if *set == nil {
		*set = map[string]bool{}
	}
	(*set)[key] = true
}

// answerCache keeps answers that are expensive to compute (counts and facets over filters the maintained
// counts cannot answer, sorted orders no index provides) until the catalog changes.
type answerCache struct {
	mu      sync.Mutex
	gen     uint64
	answers map[string]any
}

const maxCachedAnswers = 64

func (a *answerCache) get(gen uint64, key string) (any, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.gen != gen {
		return nil, false
	}
	v, ok := a.answers[key]
	return v, ok
}

func (a *answerCache) put(gen uint64, key string, v any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.gen != gen || a.answers == nil || len(a.answers) >= maxCachedAnswers {
		if gen < a.gen {
			return // computed before a newer write: already stale
		}
		a.gen, a.answers = gen, map[string]any{}
	}
	a.answers[key] = v
}
