package catalog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// claim is one entity a location (or an Upsert source) provides.
type claim struct {
	entity *Entity // validated, annotations set, no uid/etag
	file   string  // the file it came from, for errors
	parent string  // ref of the Location entity whose targets led to the file; "" for a location's root
}

// prepared is a claim with everything computed that needs no database, so a large batch can prepare its
// claims on every core before the single writer takes over.
type prepared struct {
	claim
	document int // 1-based position in an Upsert call, for errors
	ref      string
	own      []Relation         // the relations the entity states
	inverse  map[Ref][]Relation // and their inverses, by target
	hash     string
	uid      string // a fresh one; replaced by the stored one when the entity exists
	body     []byte // the entity as stored: JSON without relations, with uid and etag
	terms    []term
	arrays   []string // keys of arrays of strings
	multi    []string // keys with several values
	text     string   // encoded terms
	err      error
}

// parallelOn runs fn(0..n-1) on up to workers goroutines; small batches run inline.
func parallelOn(workers, n int, fn func(i int)) {
	if n < 64 || workers < 2 {
		for i := range n {
			fn(i)
		}
		return
	}
	var wg sync.WaitGroup
	per := (n + workers - 1) / workers
	for start := 0; start < n; start += per {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				fn(i)
			}
		}(start, min(start+per, n))
	}
	wg.Wait()
}

func prepareClaim(cl claim) *prepared {
	p := &prepared{claim: cl}
	e := cl.entity
	p.ref = e.Ref().String()
	// The content hash is of the entity without uid, etag and relations, which is what a claim is; the
	// stored body is the same encoding with uid and etag added, so one encoding serves both.
	e.Metadata.UID, e.Metadata.Etag, e.Relations = "", "", nil
	content, err := json.Marshal(e)
	if err != nil {
		p.err = fmt.Errorf("encoding %s: %w", p.ref, err)
		return p
	}
	sum := sha256.Sum256(content)
	p.hash = base64.RawURLEncoding.EncodeToString(sum[:])
	p.uid = newEntityUID(time.Now())
	e.Metadata.UID, e.Metadata.Etag = p.uid, etagOf(p.hash)
	p.body = withIdentity(content, p.uid, e.Metadata.Etag)
	p.terms, p.arrays = entityIndex(e)
	p.multi = multiValued(p.terms)
	p.text = encodeTerms(p.terms)
	p.own, p.inverse = Relations(e)
	e.Relations = p.own
	return p
}

// withIdentity adds uid and etag to an encoded entity, at the start of its metadata. The first
// `"metadata":{` is the envelope's: apiVersion and kind come before it and are quoted strings.
func withIdentity(content []byte, uid, etag string) []byte {
	const md = `"metadata":{`
	i := bytes.Index(content, []byte(md)) + len(md)
	out := make([]byte, 0, len(content)+80)
	out = append(out, content[:i]...)
	out = append(out, `"uid":"`...)
	out = append(out, uid...)
	out = append(out, `","etag":"`...)
	out = append(out, etag...)
	out = append(out, '"')
	if content[i] != '}' {
		out = append(out, ',')
	}
	return append(out, content[i:]...)
}

// withUID rewrites the prepared entity to keep an existing uid.
func (p *prepared) withUID(uid string) {
	if uid == p.uid {
		return
	}
	p.body = bytes.Replace(p.body, []byte(`"uid":"`+p.uid+`"`), []byte(`"uid":"`+uid+`"`), 1)
	p.entity.Metadata.UID, p.uid = uid, uid
}

// storedRow is what a write needs to know about an entity already stored.
type storedRow struct {
	id         int64
	uid        string
	locationID sql.NullString
	source     string
	hash       string
	orphanedAt int64
	terms      string
}

// lookup reads the stored rows of refs.
func (ix *indexer) lookup(ctx context.Context, refs []string) (map[string]storedRow, error) {
	out := make(map[string]storedRow, len(refs))
	for chunk := range slices.Chunk(refs, 500) {
		rows, err := ix.query(ctx, `SELECT ref, id, uid, location_id, source, hash, orphaned_at, terms FROM entities
			WHERE ref IN (`+marks(len(chunk))+`)`, anySlice(chunk)...)
		if err != nil {
			return nil, fmt.Errorf("looking up entities: %w", err)
		}
		for rows.Next() {
			var ref string
			var r storedRow
			if err := rows.Scan(&ref, &r.id, &r.uid, &r.locationID, &r.source, &r.hash, &r.orphanedAt, &r.terms); err != nil {
				rows.Close()
				return nil, fmt.Errorf("looking up entities: %w", err)
			}
			out[ref] = r
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("looking up entities: %w", err)
		}
	}
	return out, nil
}

// batch applies prepared claims of one location in one transaction: new entities in multi-row inserts,
// changed ones updated in place (keeping their id and uid), unchanged ones not written at all.
type batch struct {
	ix      *indexer
	locID   string
	now     int64
	inserts []*prepared
	updates []update
}

type update struct {
	p         *prepared
	old       storedRow
	oldEntity *Entity // as stored before, for the relations it stated
}

// applyChunk is how many claims are prepared and written at a time: while one chunk is written, the next
// is prepared on the other cores.
const applyChunk = 500

// apply stores n claims for location locID; prepare(i) returns claim i ready to store (it runs on other
// goroutines, ahead of the writes). A prepared claim with an EntityError (or EntityErrors) is a problem of
// that entity and is appended to errs, as are conflicts with another location and refs given twice; any
// other error fails the write. stored returns the entities as stored, kept the refs that stay this
// location's.
func (ix *indexer) apply(ctx context.Context, locID string, n int, prepare func(i int) *prepared, errs *EntityErrors, now int64) (stored []*Entity, kept map[string]bool, err error) {
	kept = map[string]bool{}
	seen := make(map[string]bool, n)
	err = pipeline(n, applyChunk, prepare, func(ps []*prepared) error {
		var ok []*prepared
		for _, p := range ps {
			var list EntityErrors
			var one *EntityError
			switch {
			case errors.As(p.err, &list):
				*errs = append(*errs, list...)
			case errors.As(p.err, &one):
				*errs = append(*errs, one)
			case p.err != nil:
				return p.err
			case seen[p.ref]:
				*errs = append(*errs, &EntityError{File: p.file, Document: p.document, Ref: p.ref, Rule: "appears twice in the same call"})
			default:
				seen[p.ref] = true
				ok = append(ok, p)
			}
		}
		st, err := ix.applyPrepared(ctx, locID, ok, errs, kept, now)
		stored = append(stored, st...)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return stored, kept, nil
}

// pipeline prepares items in chunks on background goroutines and hands each chunk, in order, to write,
// which runs on the calling goroutine while the next chunk is being prepared.
func pipeline(n, chunk int, prepare func(i int) *prepared, write func([]*prepared) error) error {
	results := make([]*prepared, n)
	ready := make(chan [2]int, 1)
	stop := make(chan struct{})
	go func() {
		defer close(ready)
		for lo := 0; lo < n; lo += chunk {
			hi := min(lo+chunk, n)
			// One core is the writer's: it is the bottleneck, and sharing its core would slow it down.
			parallelOn(max(runtime.GOMAXPROCS(0)-1, 1), hi-lo, func(i int) { results[lo+i] = prepare(lo + i) })
			select {
			case ready <- [2]int{lo, hi}:
			case <-stop:
				return
			}
		}
	}()
	var err error
	for r := range ready {
		if err != nil {
			continue
		}
		if err = write(results[r[0]:r[1]]); err != nil {
			close(stop)
		}
	}
	return err
}

// applyPrepared writes one chunk of prepared claims.
func (ix *indexer) applyPrepared(ctx context.Context, locID string, ps []*prepared, errs *EntityErrors, kept map[string]bool, now int64) ([]*Entity, error) {
	refs := make([]string, len(ps))
	for i, p := range ps {
		refs[i] = p.ref
	}
	existing, err := ix.lookup(ctx, refs)
	if err != nil {
		return nil, err
	}
	b := &batch{ix: ix, locID: locID, now: now}
	var stored []*Entity
	for _, p := range ps {
		kept[p.ref] = true
		row, found := existing[p.ref]
		if found && row.locationID.Valid && row.locationID.String != locID && row.orphanedAt == 0 {
			// The first location keeps an entity, as in Backstage, so nobody takes over a name another location
			// provides. goldenpath's own entities are the exception: they come from goldenpath's state (its
			// users, requests and templates), and a registered file claiming one of their names first must not
			// keep goldenpath from stating it.
			if !ix.authoritative || !strings.HasPrefix(row.source, "url:") {
				*errs = append(*errs, &EntityError{File: p.file, Ref: p.ref, Err: ErrConflict,
					Rule: fmt.Sprintf("conflicts with the entity of the same kind, namespace and name already registered from %s, which keeps it", row.source)})
				continue
			}
			ix.taken = append(ix.taken, p.ref+" (from "+row.source+")")
		}
		if found {
			p.withUID(row.uid)
		}
		stored = append(stored, p.entity)
		switch {
		case !found:
			b.inserts = append(b.inserts, p)
		case row.hash != p.hash || row.locationID.String != locID || row.orphanedAt != 0:
			b.updates = append(b.updates, update{p: p, old: row})
		}
	}
	return stored, b.write(ctx)
}

func (b *batch) write(ctx context.Context) error {
	b.ix.written += len(b.inserts) + len(b.updates)
	if err := b.loadOld(ctx); err != nil {
		return err
	}
	if err := b.insert(ctx); err != nil {
		return err
	}
	if err := b.update(ctx); err != nil {
		return err
	}
	var created []string
	for _, p := range b.inserts {
		created = append(created, p.ref)
	}
	if err := b.ix.appeared(ctx, created); err != nil {
		return err
	}
	for _, p := range b.inserts {
		b.ix.terms(kindOf(p.ref), p.terms, 1)
		b.ix.relateDerived(p.ref, p.own, p.inverse, 1)
		if err := b.ix.noteKeys(ctx, p.multi, p.arrays); err != nil {
			return err
		}
	}
	for _, u := range b.updates {
		b.ix.terms(kindOf(u.p.ref), decodeTerms(u.old.terms), -1)
		b.ix.terms(kindOf(u.p.ref), u.p.terms, 1)
		b.ix.relateDerived(u.p.ref, u.p.own, u.p.inverse, 1)
		if err := b.ix.noteKeys(ctx, u.p.multi, u.p.arrays); err != nil {
			return err
		}
	}
	for _, u := range b.updates {
		b.ix.relate(u.oldEntity, -1)
	}
	return b.ix.flushRelations(ctx)
}

// insertRows is how many entities one INSERT statement stores.
const insertRows = 32

func (b *batch) insert(ctx context.Context) error {
	var next int64
	if err := b.ix.tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) + 1 FROM entities`).Scan(&next); err != nil {
		return fmt.Errorf("allocating entity ids: %w", err)
	}
	for chunk := range slices.Chunk(b.inserts, insertRows) {
		args := make([]any, 0, 15*len(chunk))
		for _, p := range chunk {
			r := p.entity.Ref()
			args = append(args, next, p.uid, p.ref, r.Kind, r.Namespace, r.Name, b.locID,
				p.entity.Metadata.Annotations[AnnotationManagedByLocation], p.hash, p.entity.Metadata.Etag, p.text, string(p.body),
				p.parent, b.now, b.now)
			next++
		}
		// OR FAIL: a failing row fails the whole transaction anyway, and without the default ABORT SQLite
		// needs no statement journal for a multi-row insert.
		if err := b.ix.exec(ctx, `INSERT OR FAIL INTO entities (id, uid, ref, kind, namespace, name, location_id,
			source, hash, etag, terms, body, parent_ref, created_at, updated_at) VALUES `+tuples(len(chunk), 15), args...); err != nil {
			return fmt.Errorf("storing entities: %w", err)
		}
	}
	return nil
}

func (b *batch) update(ctx context.Context) error {
	if len(b.updates) == 0 {
		return nil
	}
	stmt, err := b.ix.tx.PrepareContext(ctx, `UPDATE entities SET location_id = ?, source = ?, hash = ?, etag = ?, body = ?,
		terms = ?, parent_ref = ?, orphaned_at = 0, updated_at = ? WHERE id = ?`)
	if err != nil {
		return fmt.Errorf("preparing statement: %w", err)
	}
	defer stmt.Close()
	for _, u := range b.updates {
		p := u.p
		if _, err := stmt.ExecContext(ctx, b.locID, p.entity.Metadata.Annotations[AnnotationManagedByLocation], p.hash,
			p.entity.Metadata.Etag, string(p.body), p.text, p.parent, b.now, u.old.id); err != nil {
			return fmt.Errorf("storing %s: %w", p.ref, err)
		}
	}
	return nil
}

// loadOld reads the stored bodies of the entities about to be updated: the relations they stated are
// derived from them (relation rows are shared between the entities stating them, not owned by one).
func (b *batch) loadOld(ctx context.Context) error {
	byID := make(map[int64]*update, len(b.updates))
	ids := make([]int64, 0, len(b.updates))
	for i := range b.updates {
		byID[b.updates[i].old.id] = &b.updates[i]
		ids = append(ids, b.updates[i].old.id)
	}
	return readBodies(ctx, b.ix.tx, ids, func(id int64, e *Entity) { byID[id].oldEntity = e })
}

// readBodies decodes the stored entities with the given ids.
func readBodies(ctx context.Context, tx *sql.Tx, ids []int64, fn func(id int64, e *Entity)) error {
	for chunk := range slices.Chunk(ids, 500) {
		rows, err := tx.QueryContext(ctx, `SELECT id, body FROM entities WHERE id IN (`+marks(len(chunk))+`)`, anySlice(chunk)...)
		if err != nil {
			return fmt.Errorf("reading entities: %w", err)
		}
		for rows.Next() {
			var id int64
			var body []byte
			if err := rows.Scan(&id, &body); err != nil {
				rows.Close()
				return fmt.Errorf("reading entities: %w", err)
			}
			var e Entity
			if err := json.Unmarshal(body, &e); err != nil {
				rows.Close()
				return fmt.Errorf("decoding entity %d: %w", id, err)
			}
			fn(id, &e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("reading entities: %w", err)
		}
	}
	return nil
}

func etagOf(hash string) string { return hash[:22] }

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

func isUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}
