package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
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

// Upsert stores entities produced by goldenpath itself under a synthetic location named by source, written
// "type:target" (e.g. "goldenpath:requests"); that string becomes their managed-by-location annotation.
// Entities are validated with ParseEntities' rules; the call is all-or-nothing, and an invalid or conflicting
// entity fails it with an EntityErrors. Entities of the source that are not in the call are left alone (see
// Delete and ReplaceSource).
func (c *Catalog) Upsert(ctx context.Context, source string, entities []*Entity) error {
	_, err := c.upsert(ctx, source, entities, false)
	return err
}

// ReplaceSource makes entities the complete set of the synthetic location source: entities it provided
// before and no longer does are orphaned (removed at once, or after Options.OrphanGrace).
func (c *Catalog) ReplaceSource(ctx context.Context, source string, entities []*Entity) error {
	_, err := c.upsert(ctx, source, entities, true)
	return err
}

func (c *Catalog) upsert(ctx context.Context, source string, entities []*Entity, replace bool) (int, error) {
	typ, target, err := splitSource(source)
	if err != nil {
		return 0, err
	}
	claims, err := sourceClaims(source, entities)
	if err != nil {
		return 0, err
	}
	var errs EntityErrors
	orphaned := 0
	err = inTx(ctx, c.db, func(tx *sql.Tx) error {
		now := c.opts.Now().UnixNano()
		locID, err := syntheticLocation(ctx, tx, typ, target, now)
		if err != nil {
			return err
		}
		_, kept, err := c.applyAll(ctx, tx, locID, claims, &errs, now)
		if err != nil {
			return err
		}
		if err := recordStatus(ctx, tx, locID, nil, now); err != nil {
			return err
		}
		if len(errs) > 0 {
			return errs
		}
		if replace {
			orphaned, err = c.orphanMissing(ctx, tx, locID, kept, nil, now)
		}
		return err
	})
	if err != nil {
		if errs != nil {
			return 0, errs
		}
		return 0, fmt.Errorf("upserting into %s: %w", source, err)
	}
	return orphaned, nil
}

func splitSource(source string) (string, string, error) {
	typ, target, ok := strings.Cut(source, ":")
	switch {
	case !ok || typ == "" || target == "":
		return "", "", fmt.Errorf("source %q: must be written type:target, e.g. goldenpath:requests", source)
	case typ == "url":
		return "", "", fmt.Errorf("source %q: type url is for registered locations (AddLocation); pick another type", source)
	}
	return typ, target, nil
}

// sourceClaims validates and copies the caller's entities, so the catalog never aliases their maps.
func sourceClaims(source string, entities []*Entity) ([]claim, error) {
	var errs EntityErrors
	claims := make([]claim, 0, len(entities))
	seen := map[string]bool{}
	for i, e := range entities {
		if err := Validate(e); err != nil {
			var list EntityErrors
			if errors.As(err, &list) {
				for _, one := range list {
					if ee, ok := one.(*EntityError); ok {
						ee.File, ee.Document = source, i+1
					}
				}
			}
			errs = append(errs, err)
			continue
		}
		cp, err := e.clone()
		if err != nil {
			return nil, err
		}
		ref := cp.Ref().String()
		if seen[ref] {
			errs = append(errs, &EntityError{File: source, Document: i + 1, Ref: ref, Rule: "appears twice in the same call"})
			continue
		}
		seen[ref] = true
		cp.Metadata.UID, cp.Metadata.Etag, cp.Relations = "", "", nil
		annotate(cp, source, source)
		claims = append(claims, claim{entity: cp, file: source})
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return claims, nil
}

func syntheticLocation(ctx context.Context, tx *sql.Tx, typ, target string, now int64) (string, error) {
	id := newUUID()
	err := tx.QueryRowContext(ctx, `INSERT INTO locations (id, type, target, created_at) VALUES (?,?,?,?)
		ON CONFLICT (type, target) DO UPDATE SET type = excluded.type RETURNING id`, id, typ, target, now).Scan(&id)
	if err != nil {
		return "", fmt.Errorf("storing location %s:%s: %w", typ, target, err)
	}
	return id, nil
}

// Delete removes an entity now, whatever provides it. An entity still in a registered location's files
// comes back on that location's next refresh, as in Backstage.
func (c *Catalog) Delete(ctx context.Context, ref Ref) error {
	res, err := c.db.ExecContext(ctx, `DELETE FROM entities WHERE ref = ?`, strings.ToLower(ref.String()))
	if err != nil {
		return fmt.Errorf("deleting %s: %w", ref, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%s: %w", ref, ErrNotFound)
	}
	return nil
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
