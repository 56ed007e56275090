package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// update runs fn in a write transaction with an indexer, flushes what it accumulated and commits; the
// catalog's generation moves on, so cached counts are recomputed.
func (c *Catalog) update(ctx context.Context, fn func(ix *indexer) error) error {
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	defer tx.Rollback()
	ix := newIndexer(c, tx)
	defer ix.close()
	if err := fn(ix); err != nil {
		return err
	}
	if err := ix.flush(ctx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	c.changed()
	return nil
}

// selectIDs returns the ids of the entities matching where.
func selectIDs(ctx context.Context, tx *sql.Tx, where string, args ...any) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id FROM entities WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("selecting entities: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// remove deletes entities, their relations and their share of the counts.
func (ix *indexer) remove(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	var refs []string
	var stated []*Entity
	for chunk := range slices.Chunk(ids, 500) {
		rows, err := ix.tx.QueryContext(ctx, `SELECT ref, terms, body FROM entities WHERE id IN (`+marks(len(chunk))+`)`, anySlice(chunk)...)
		if err != nil {
			return fmt.Errorf("reading entities: %w", err)
		}
		for rows.Next() {
			var ref, terms string
			var body []byte
			if err := rows.Scan(&ref, &terms, &body); err != nil {
				rows.Close()
				return fmt.Errorf("reading entities: %w", err)
			}
			var e Entity
			if err := json.Unmarshal(body, &e); err != nil {
				rows.Close()
				return fmt.Errorf("decoding %s: %w", ref, err)
			}
			refs = append(refs, ref)
			stated = append(stated, &e)
			ix.terms(kindOf(ref), decodeTerms(terms), -1)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("reading entities: %w", err)
		}
	}
	if err := ix.disappeared(ctx, refs); err != nil {
		return err
	}
	for _, e := range stated {
		ix.relate(e, -1)
	}
	if err := ix.flushRelations(ctx); err != nil {
		return err
	}
	for chunk := range slices.Chunk(ids, 500) {
		if _, err := ix.tx.ExecContext(ctx, `DELETE FROM entities WHERE id IN (`+marks(len(chunk))+`)`, anySlice(chunk)...); err != nil {
			return fmt.Errorf("removing entities: %w", err)
		}
	}
	return nil
}

// markOrphaned annotates entities backstage.io/orphan (in the stored body, so readers and filters see it
// without decoding) and records when, for PurgeOrphans.
func (ix *indexer) markOrphaned(ctx context.Context, ids []int64, now int64) error {
	type orphaned struct {
		id    int64
		e     Entity
		terms string
	}
	var all []orphaned
	for chunk := range slices.Chunk(ids, 500) {
		rows, err := ix.tx.QueryContext(ctx, `SELECT id, terms, body FROM entities WHERE id IN (`+marks(len(chunk))+`)`, anySlice(chunk)...)
		if err != nil {
			return fmt.Errorf("reading entities: %w", err)
		}
		for rows.Next() {
			var o orphaned
			var body []byte
			if err := rows.Scan(&o.id, &o.terms, &body); err != nil {
				rows.Close()
				return fmt.Errorf("reading entities: %w", err)
			}
			if err := json.Unmarshal(body, &o.e); err != nil {
				rows.Close()
				return fmt.Errorf("decoding entity %d: %w", o.id, err)
			}
			all = append(all, o)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("reading entities: %w", err)
		}
	}
	stmt, err := ix.tx.PrepareContext(ctx, `UPDATE entities SET orphaned_at = ?, body = ?, terms = ? WHERE id = ?`)
	if err != nil {
		return fmt.Errorf("preparing statement: %w", err)
	}
	defer stmt.Close()
	for _, o := range all {
		if o.e.Metadata.Annotations == nil {
			o.e.Metadata.Annotations = map[string]string{}
		}
		o.e.Metadata.Annotations[AnnotationOrphan] = "true"
		body, err := json.Marshal(&o.e)
		if err != nil {
			return fmt.Errorf("encoding entity %d: %w", o.id, err)
		}
		terms := entityTerms(&o.e)
		if _, err := stmt.ExecContext(ctx, now, string(body), encodeTerms(terms), o.id); err != nil {
			return fmt.Errorf("orphaning entity %d: %w", o.id, err)
		}
		kind := strings.ToLower(o.e.Kind)
		ix.terms(kind, decodeTerms(o.terms), -1)
		ix.terms(kind, terms, 1)
	}
	return nil
}

// orphanMissing handles the entities of location locID that the latest read no longer provides: they are
// removed at once, or marked orphaned when a grace period applies. Entities whose file could not be read
// (unread) or whose document is currently invalid (keep) are left alone, so a typo never deletes anything.
func (c *Catalog) orphanMissing(ctx context.Context, ix *indexer, locID string, keep, unread map[string]bool, now int64) (int, error) {
	rows, err := ix.tx.QueryContext(ctx, `SELECT id, ref, source, orphaned_at FROM entities WHERE location_id = ?`, locID)
	if err != nil {
		return 0, fmt.Errorf("listing entities of location %s: %w", locID, err)
	}
	var gone []int64
	for rows.Next() {
		var id, orphanedAt int64
		var ref, source string
		if err := rows.Scan(&id, &ref, &source, &orphanedAt); err != nil {
			rows.Close()
			return 0, err
		}
		if !keep[ref] && !unread[source] && orphanedAt == 0 {
			gone = append(gone, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	return len(gone), c.orphan(ctx, ix, gone, now)
}

// orphan removes the entities, or marks them orphaned when a grace period applies (PurgeOrphans removes
// them later).
func (c *Catalog) orphan(ctx context.Context, ix *indexer, ids []int64, now int64) error {
	if c.opts.OrphanGrace > 0 {
		return ix.markOrphaned(ctx, ids, now)
	}
	return ix.remove(ctx, ids)
}

// Delete removes an entity now, whatever provides it. An entity still in a registered location's files
// comes back on that location's next refresh, as in Backstage.
func (c *Catalog) Delete(ctx context.Context, ref Ref) error {
	key := strings.ToLower(ref.String())
	return c.update(ctx, func(ix *indexer) error {
		ids, err := selectIDs(ctx, ix.tx, `ref = ?`, key)
		if err != nil {
			return fmt.Errorf("deleting %s: %w", ref, err)
		}
		if len(ids) == 0 {
			return fmt.Errorf("%s: %w", ref, ErrNotFound)
		}
		return ix.remove(ctx, ids)
	})
}

// PurgeOrphans removes the entities that have been orphaned for longer than Options.OrphanGrace and
// returns how many it removed.
func (c *Catalog) PurgeOrphans(ctx context.Context) (int, error) {
	cutoff := c.opts.Now().Add(-c.opts.OrphanGrace).UnixNano()
	n := 0
	err := c.update(ctx, func(ix *indexer) error {
		ids, err := selectIDs(ctx, ix.tx, `orphaned_at <> 0 AND orphaned_at <= ?`, cutoff)
		if err != nil {
			return err
		}
		n = len(ids)
		return ix.remove(ctx, ids)
	})
	if err != nil {
		return 0, fmt.Errorf("purging orphans: %w", err)
	}
	if n > 0 {
		c.log.Info("orphans removed", "count", n)
	}
	return n, nil
}
