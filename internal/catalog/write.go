package catalog

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// claim is one entity a location (or an Upsert source) provides.
type claim struct {
	entity *Entity // validated, annotations set, no uid/etag
	file   string  // the file it came from, for errors
}

// writer applies claims inside one transaction with prepared statements, because a location may hold
// tens of thousands of entities.
type writer struct {
	tx                            *sql.Tx
	now                           int64
	find, insert, update, delRels *sql.Stmt
	addRels                       map[int]*sql.Stmt // by row count: one INSERT per entity, not per relation
}

func newWriter(ctx context.Context, tx *sql.Tx, now int64) (*writer, error) {
	w := &writer{tx: tx, now: now, addRels: map[int]*sql.Stmt{}}
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{
		{&w.find, `SELECT id, uid, location_id, source, hash, etag, orphaned_at FROM entities WHERE ref = ?`},
		{&w.insert, `INSERT INTO entities (uid, ref, kind, namespace, name, owner, location_id, source, hash, etag, body,
			created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`},
		{&w.update, `UPDATE entities SET kind = ?, namespace = ?, name = ?, owner = ?, location_id = ?, source = ?, hash = ?,
			etag = ?, body = ?, orphaned_at = 0, updated_at = ? WHERE id = ?`},
		{&w.delRels, `DELETE FROM relations WHERE origin = ?`},
	} {
		s, err := tx.PrepareContext(ctx, p.sql)
		if err != nil {
			w.close()
			return nil, fmt.Errorf("preparing statement: %w", err)
		}
		*p.stmt = s
	}
	return w, nil
}

func (w *writer) close() {
	for _, s := range []*sql.Stmt{w.find, w.insert, w.update, w.delRels} {
		if s != nil {
			s.Close()
		}
	}
	for _, s := range w.addRels {
		s.Close()
	}
}

type storedRow struct {
	id         int64
	uid        string
	locationID sql.NullString
	source     string
	hash, etag string
	orphanedAt int64
}

// apply stores one claim for location locID. A conflict with another location comes back as an
// *EntityError (the entity is skipped); any other error is fatal to the transaction.
func (w *writer) apply(ctx context.Context, locID string, cl claim) (*Entity, error) {
	e := cl.entity
	ref := e.Ref().String()
	hash, err := contentHash(e)
	if err != nil {
		return nil, err
	}
	var row storedRow
	err = w.find.QueryRowContext(ctx, ref).Scan(&row.id, &row.uid, &row.locationID, &row.source, &row.hash, &row.etag, &row.orphanedAt)
	found := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("looking up %s: %w", ref, err)
	}
	if found && row.locationID.Valid && row.locationID.String != locID && row.orphanedAt == 0 {
		return nil, &EntityError{File: cl.file, Ref: ref, Err: ErrConflict,
			Rule: fmt.Sprintf("conflicts with the entity of the same kind, namespace and name already registered from %s, which keeps it", row.source)}
	}
	e.Metadata.UID, e.Metadata.Etag = newUUID(), etagOf(hash)
	if found {
		e.Metadata.UID = row.uid
	}
	unchanged := found && row.hash == hash && row.locationID.String == locID && row.orphanedAt == 0
	if unchanged {
		e.Relations, _ = Relations(e)
		return e, nil
	}
	id, err := w.save(ctx, locID, e, hash, row.id, found)
	if err != nil {
		return nil, err
	}
	return e, w.relate(ctx, id, e, found)
}

// save writes the entity row: an update of row id when it existed, else an insert. It returns the row id.
func (w *writer) save(ctx context.Context, locID string, e *Entity, hash string, id int64, existed bool) (int64, error) {
	r := e.Ref()
	body, err := json.Marshal(withoutRelations(e))
	if err != nil {
		return 0, fmt.Errorf("encoding %s: %w", r, err)
	}
	source := e.Metadata.Annotations[AnnotationManagedByLocation]
	if existed {
		_, err = w.update.ExecContext(ctx, r.Kind, r.Namespace, r.Name, ownerRef(e), locID, source, hash, e.Metadata.Etag,
			string(body), w.now, id)
	} else {
		var res sql.Result
		res, err = w.insert.ExecContext(ctx, e.Metadata.UID, r.String(), r.Kind, r.Namespace, r.Name, ownerRef(e), locID, source,
			hash, e.Metadata.Etag, string(body), w.now, w.now)
		if err == nil {
			id, err = res.LastInsertId()
		}
	}
	if err != nil {
		return 0, fmt.Errorf("storing %s: %w", r, err)
	}
	return id, nil
}

// relate replaces the relations entity id originates: its own and the inverse ones on its targets.
func (w *writer) relate(ctx context.Context, id int64, e *Entity, existed bool) error {
	if existed {
		if _, err := w.delRels.ExecContext(ctx, id); err != nil {
			return fmt.Errorf("clearing relations of %s: %w", e.Ref(), err)
		}
	}
	self := e.Ref().String()
	own, inverse := Relations(e)
	e.Relations = own
	args := make([]any, 0, 8*len(own))
	for _, r := range own {
		args = append(args, id, self, r.Type, r.TargetRef)
	}
	for target, rels := range inverse {
		for _, r := range rels {
			args = append(args, id, target.String(), r.Type, r.TargetRef)
		}
	}
	// Chunks keep a Group with thousands of members under SQLite's limit on statement parameters.
	for len(args) > 0 {
		chunk := args[:min(len(args), 4*maxRelationRows)]
		args = args[len(chunk):]
		stmt, err := w.addRelations(ctx, len(chunk)/4)
		if err != nil {
			return err
		}
		if _, err := stmt.ExecContext(ctx, chunk...); err != nil {
			return fmt.Errorf("storing relations of %s: %w", self, err)
		}
	}
	return nil
}

const maxRelationRows = 256

func (w *writer) addRelations(ctx context.Context, n int) (*sql.Stmt, error) {
	if s, ok := w.addRels[n]; ok {
		return s, nil
	}
	q := `INSERT INTO relations (origin, source_ref, type, target_ref) VALUES ` + strings.TrimSuffix(strings.Repeat("(?,?,?,?),", n), ",")
	s, err := w.tx.PrepareContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("preparing statement: %w", err)
	}
	w.addRels[n] = s
	return s, nil
}

// contentHash identifies an entity's content, so a refresh that changes nothing writes nothing and the
// etag changes exactly when the content does.
func contentHash(e *Entity) (string, error) {
	c := *withoutRelations(e)
	c.Metadata.UID, c.Metadata.Etag = "", ""
	b, err := json.Marshal(&c)
	if err != nil {
		return "", fmt.Errorf("encoding %s: %w", e.Ref(), err)
	}
	sum := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

func etagOf(hash string) string { return hash[:22] }

func withoutRelations(e *Entity) *Entity {
	c := *e
	c.Relations = nil
	return &c
}

// annotate records where an entity came from, overriding whatever the file claimed.
func annotate(e *Entity, location, origin string) {
	if e.Metadata.Annotations == nil {
		e.Metadata.Annotations = map[string]string{}
	}
	e.Metadata.Annotations[AnnotationManagedByLocation] = location
	e.Metadata.Annotations[AnnotationManagedByOriginLocation] = origin
	delete(e.Metadata.Annotations, AnnotationOrphan)
	if e.Metadata.Namespace == "" {
		e.Metadata.Namespace = defaultNS
	}
}

// orphanMissing handles the entities of location locID that the latest read no longer provides: they are
// removed at once, or marked orphaned when a grace period applies. Entities whose file could not be read
// (unread) or whose document is currently invalid (keep) are left alone, so a typo never deletes anything.
func (c *Catalog) orphanMissing(ctx context.Context, tx *sql.Tx, locID string, keep, unread map[string]bool, now int64) (int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, ref, source, orphaned_at FROM entities WHERE location_id = ?`, locID)
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
	return len(gone), c.orphan(ctx, tx, gone, now)
}

// orphan removes the entities, or marks them orphaned when a grace period applies (PurgeOrphans removes
// them later).
func (c *Catalog) orphan(ctx context.Context, tx *sql.Tx, ids []int64, now int64) error {
	q, arg := `DELETE FROM entities WHERE id = ?`, []any{nil}
	if c.opts.OrphanGrace > 0 {
		q, arg = `UPDATE entities SET orphaned_at = ? WHERE id = ?`, []any{now, nil}
	}
	stmt, err := tx.PrepareContext(ctx, q)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, id := range ids {
		arg[len(arg)-1] = id
		if _, err := stmt.ExecContext(ctx, arg...); err != nil {
			return fmt.Errorf("orphaning entity %d: %w", id, err)
		}
	}
	return nil
}

func isUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}
