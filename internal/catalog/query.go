package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

const (
	defaultListLimit = 100
	maxListLimit     = 10000
)

// Get returns the entity with the given ref, with its relations (its own and those other entities point
// back at it). A missing entity is ErrNotFound.
func (c *Catalog) Get(ctx context.Context, ref Ref) (*Entity, error) {
	key := strings.ToLower(ref.String())
	return c.getOne(ctx, `ref = ?`, key, key)
}

// GetByUID returns the entity with the given metadata.uid, with its relations; a missing one is ErrNotFound.
func (c *Catalog) GetByUID(ctx context.Context, uid string) (*Entity, error) {
	return c.getOne(ctx, `uid = ?`, uid, "uid "+uid)
}

func (c *Catalog) getOne(ctx context.Context, where string, arg any, what string) (*Entity, error) {
	entities, err := c.query(ctx, `SELECT ref, body, orphaned_at FROM entities WHERE `+where, arg)
	if err != nil {
		return nil, err
	}
	if len(entities) == 0 {
		return nil, fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return entities[0], nil
}

// List returns entities of a kind (case-insensitive; all kinds when ""), ordered by canonical ref, starting
// after the ref after ("" for the first page). limit 0 means 100; at most 10000. Pass the last ref of a page
// as after to get the next one.
func (c *Catalog) List(ctx context.Context, kind string, after string, limit int) ([]*Entity, error) {
	switch {
	case limit < 0 || limit > maxListLimit:
		return nil, fmt.Errorf("limit: must be between 0 and %d, got %d", maxListLimit, limit)
	case limit == 0:
		limit = defaultListLimit
	}
	after = strings.ToLower(after)
	if kind == "" {
		return c.query(ctx, `SELECT ref, body, orphaned_at FROM entities WHERE ref > ? ORDER BY ref LIMIT ?`, after, limit)
	}
	return c.query(ctx, `SELECT ref, body, orphaned_at FROM entities WHERE kind = ? AND ref > ? ORDER BY ref LIMIT ?`,
		strings.ToLower(kind), after, limit)
}

// ListByOwner returns the entities whose spec.owner is owner, ordered by ref and paged like List.
func (c *Catalog) ListByOwner(ctx context.Context, owner Ref, after string, limit int) ([]*Entity, error) {
	if limit < 0 || limit > maxListLimit {
		return nil, fmt.Errorf("limit: must be between 0 and %d, got %d", maxListLimit, limit)
	}
	if limit == 0 {
		limit = defaultListLimit
	}
	return c.query(ctx, `SELECT ref, body, orphaned_at FROM entities WHERE owner = ? AND ref > ? ORDER BY ref LIMIT ?`,
		strings.ToLower(owner.String()), strings.ToLower(after), limit)
}

// locationEntities returns what a location currently provides.
func (c *Catalog) locationEntities(ctx context.Context, id string) ([]*Entity, error) {
	return c.query(ctx, `SELECT ref, body, orphaned_at FROM entities WHERE location_id = ? AND orphaned_at = 0 ORDER BY ref`, id)
}

// query reads entities (ref, body, orphaned_at columns) and attaches their relations in one more query.
func (c *Catalog) query(ctx context.Context, q string, args ...any) ([]*Entity, error) {
	rows, err := c.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("querying entities: %w", err)
	}
	defer rows.Close()
	var out []*Entity
	byRef := map[string]*Entity{}
	for rows.Next() {
		var ref, body string
		var orphanedAt int64
		if err := rows.Scan(&ref, &body, &orphanedAt); err != nil {
			return nil, fmt.Errorf("reading entity: %w", err)
		}
		var e Entity
		if err := json.Unmarshal([]byte(body), &e); err != nil {
			return nil, fmt.Errorf("decoding entity %s: %w", ref, err)
		}
		if orphanedAt != 0 {
			if e.Metadata.Annotations == nil {
				e.Metadata.Annotations = map[string]string{}
			}
			e.Metadata.Annotations[AnnotationOrphan] = "true"
		}
		out = append(out, &e)
		byRef[ref] = &e
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading entities: %w", err)
	}
	return out, c.attachRelations(ctx, byRef)
}

func (c *Catalog) attachRelations(ctx context.Context, byRef map[string]*Entity) error {
	if len(byRef) == 0 {
		return nil
	}
	refs := make([]any, 0, len(byRef))
	for ref := range byRef {
		refs = append(refs, ref)
	}
	marks := strings.TrimSuffix(strings.Repeat("?,", len(refs)), ",")
	rows, err := c.db.QueryContext(ctx, `SELECT DISTINCT source_ref, type, target_ref FROM relations
		WHERE source_ref IN (`+marks+`) ORDER BY source_ref, type, target_ref`, refs...)
	if err != nil {
		return fmt.Errorf("querying relations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var source string
		var r Relation
		if err := rows.Scan(&source, &r.Type, &r.TargetRef); err != nil {
			return fmt.Errorf("reading relation: %w", err)
		}
		e := byRef[source]
		e.Relations = append(e.Relations, r)
	}
	return rows.Err()
}

// PurgeOrphans removes the entities that have been orphaned for longer than Options.OrphanGrace and
// returns how many it removed.
func (c *Catalog) PurgeOrphans(ctx context.Context) (int, error) {
	cutoff := c.opts.Now().Add(-c.opts.OrphanGrace).UnixNano()
	res, err := c.db.ExecContext(ctx, `DELETE FROM entities WHERE orphaned_at <> 0 AND orphaned_at <= ?`, cutoff)
	if err != nil {
		return 0, fmt.Errorf("purging orphans: %w", err)
	}
	n, _ := res.RowsAffected()
	if n > 0 {
		c.log.Info("orphans removed", "count", n)
	}
	return int(n), nil
}
