package catalog

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/dbfile"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Reader reads a location's target (e.g. a URL into the embedded git forge); the caller provides it.
type Reader func(ctx context.Context, target string) ([]byte, error)

// Options tunes a Catalog. The zero value is what Open uses.
type Options struct {
	// OrphanGrace is how long an entity its location no longer provides stays visible, annotated
	// backstage.io/orphan, before it is removed. Zero removes orphans at once.
	OrphanGrace time.Duration
	// MaxFiles bounds how many files one location may expand to by following Location entities
	// (default 1000), so a cycle or a runaway tree cannot stall a refresh.
	MaxFiles int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Owner names the team (or user) owning the repository a url target points at, "" when none does. It
	// decides who may change a location through the API (see access.go), and a location's Location entities
	// may lead only to files with the same owner. nil: no target has an owner.
	Owner func(target string) string
}

// Catalog is the entity index, kept in its own SQLite file.
type Catalog struct {
	routes []string // what Handler serves
	db     *sql.DB
	read   Reader
	log    *slog.Logger
	opts   Options

	mu    sync.Mutex
	locks map[string]*locationLock // per location: one refresh at a time, so an older read never wins
	stmts map[string]*sql.Stmt     // see prepared

	gen     atomic.Uint64 // moves on with every committed write; cached answers carry the one they were computed at
	multiMu sync.RWMutex
	multi   map[string]bool // keys some entity holds several values of (see multiValued)
	arrays  map[string]bool // keys some entity holds an array of strings under
	cache   answerCache
	// smallCandidates is the planner's threshold (see preferCandidates); tests lower it to exercise walks.
	smallCandidates int
}

type locationLock struct {
	mu   sync.Mutex
	refs int
}

// Open opens (creating if needed) the catalog database at path. read fetches location targets; log may be nil.
func Open(ctx context.Context, path string, read Reader, log *slog.Logger) (*Catalog, error) {
	return OpenWith(ctx, path, read, log, Options{})
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, path string, read Reader, log *slog.Logger, opts Options) (*Catalog, error) {
	if path == "" {
		return nil, fmt.Errorf("opening catalog: path must not be empty")
	}
	if read == nil {
		return nil, fmt.Errorf("opening catalog: read must not be nil")
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.OrphanGrace < 0 {
		return nil, fmt.Errorf("opening catalog: OrphanGrace must not be negative")
	}
	if opts.MaxFiles <= 0 {
		opts.MaxFiles = 1000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Owner == nil {
		opts.Owner = func(string) string { return "" }
	}
	db, err := openDB(ctx, path)
	if err != nil {
		return nil, err
	}
	c := &Catalog{db: db, read: read, log: log.With("component", "catalog"), opts: opts, locks: map[string]*locationLock{},
		smallCandidates: smallCandidates}
	if err := c.openIndex(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening catalog %s: %w", path, err)
	}
	return c, nil
}

func openDB(ctx context.Context, path string) (*sql.DB, error) {
	if err := dbfile.Prepare(path); err != nil {
		return nil, fmt.Errorf("opening catalog %s: %w", path, err)
	}
	q := url.Values{}
	// A large page cache and memory-mapped reads keep lookups off the read(2) path: at a hundred thousand
	// entities the default 2 MB cache turns every lookup into several system calls. The map is SQLite's
	// largest (2 GB, about a million entities); it is address space, paged in as it is read.
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(NORMAL)",
		"cache_size(-65536)", "mmap_size(2147418112)", "temp_store(MEMORY)"} {
		q.Add("_pragma", p)
	}
	// Immediate transactions take the write lock up front, so two writers queue instead of failing with
	// SQLITE_BUSY when the first upgrades from reading to writing.
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("opening catalog %s: %w", path, err)
	}
	db.SetMaxOpenConns(8)
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrating catalog %s: %w", path, err)
	}
	return db, nil
}

// Close closes the database.
func (c *Catalog) Close() error {
	c.mu.Lock()
	for _, s := range c.stmts {
		s.Close()
	}
	c.stmts = nil
	c.mu.Unlock()
	return c.db.Close()
}

// migrations are applied in order and recorded in PRAGMA user_version; append, never edit.
func migrations() []string {
	return []string{`
CREATE TABLE locations (
	id         TEXT PRIMARY KEY,
	type       TEXT NOT NULL,
	target     TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	UNIQUE (type, target)
);
CREATE TABLE entities (
	id          INTEGER PRIMARY KEY,
	uid         TEXT NOT NULL UNIQUE,
	ref         TEXT NOT NULL UNIQUE,  -- canonical lower-case kind:namespace/name
	kind        TEXT NOT NULL,         -- lower-case
	namespace   TEXT NOT NULL,
	name        TEXT NOT NULL,
	owner       TEXT NOT NULL DEFAULT '', -- canonical ref of spec.owner
	location_id TEXT REFERENCES locations(id) ON DELETE SET NULL,
	source      TEXT NOT NULL,         -- managed-by-location, e.g. url:https://host/repo/catalog-info.yaml
	hash        TEXT NOT NULL,         -- of the content, to skip rewrites that change nothing
	etag        TEXT NOT NULL,
	body        TEXT NOT NULL,         -- the entity as JSON, without relations
	orphaned_at INTEGER NOT NULL DEFAULT 0,
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL
);
CREATE INDEX entities_kind_ref ON entities (kind, ref);
CREATE INDEX entities_owner_ref ON entities (owner, ref);
CREATE INDEX entities_location ON entities (location_id);
CREATE INDEX entities_orphaned ON entities (orphaned_at) WHERE orphaned_at <> 0;
-- Relations are stored per originating entity (the one whose spec produced them), so re-processing an
-- entity replaces exactly its own and inverse relations.
CREATE TABLE relations (
	origin     INTEGER NOT NULL REFERENCES entities(id) ON DELETE CASCADE,
	source_ref TEXT NOT NULL,
	type       TEXT NOT NULL,
	target_ref TEXT NOT NULL
);
CREATE INDEX relations_source ON relations (source_ref, type, target_ref);
CREATE INDEX relations_type_target ON relations (type, target_ref);
CREATE INDEX relations_origin ON relations (origin);
`, `
-- What the latest read of a location found, so a portal can say why an entity did not appear.
ALTER TABLE locations ADD COLUMN refreshed_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE locations ADD COLUMN problems TEXT NOT NULL DEFAULT '[]';
`, `
-- The query index (see search.go and index.go). The entities table is rebuilt: the owner column and index
-- go (the owner is a relation like any other), kinds are ref prefixes so the ref index serves them, and the
-- foreign key to locations goes (RemoveLocation clears location_id itself): with foreign keys on, every
-- multi-row insert needs a statement journal, which was a third of the cost of a bulk load. The body is
-- the last column, so reading the others never touches its overflow pages.
DROP TABLE relations;
CREATE TABLE entities_v3 (
	id          INTEGER PRIMARY KEY,
	uid         TEXT NOT NULL UNIQUE,
	ref         TEXT NOT NULL UNIQUE,  -- canonical lower-case kind:namespace/name
	kind        TEXT NOT NULL,         -- lower-case
	namespace   TEXT NOT NULL,
	name        TEXT NOT NULL,
	location_id TEXT,                  -- NULL for an orphan whose location was removed
	source      TEXT NOT NULL,         -- managed-by-location, e.g. url:https://host/repo/catalog-info.yaml
	parent_ref  TEXT NOT NULL DEFAULT '', -- the Location entity whose targets led to its file
	hash        TEXT NOT NULL,         -- of the content, to skip rewrites that change nothing
	etag        TEXT NOT NULL,
	orphaned_at INTEGER NOT NULL DEFAULT 0,
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL,
	terms       TEXT NOT NULL DEFAULT '', -- search terms of its own document (see search.go)
	body        TEXT NOT NULL          -- the entity as JSON, without relations
);
INSERT INTO entities_v3 (id, uid, ref, kind, namespace, name, location_id, source, hash, etag, orphaned_at, created_at,
	updated_at, body)
	SELECT id, uid, ref, kind, namespace, name, location_id, source, hash, etag, orphaned_at, created_at, updated_at, body
	FROM entities;
DROP TABLE entities;
ALTER TABLE entities_v3 RENAME TO entities;
CREATE INDEX entities_name ON entities (name); -- with the rowid: (name, id), the by-name order
CREATE INDEX entities_location ON entities (location_id);
CREATE INDEX entities_orphaned ON entities (orphaned_at) WHERE orphaned_at <> 0;
-- One row per distinct relation with the number of entities stating it (both sides of a pair may state
-- it). Every relation is stored with its inverse, so the primary key answers both directions.
CREATE TABLE relations (
	source_ref TEXT NOT NULL,
	type       TEXT NOT NULL,
	target_ref TEXT NOT NULL,
	n          INTEGER NOT NULL,
	PRIMARY KEY (source_ref, type, target_ref)
) WITHOUT ROWID;
-- How many existing entities of each kind hold each value of each counted key (see countedKey).
CREATE TABLE facets (
	key      TEXT NOT NULL,
	kind     TEXT NOT NULL,
	value    TEXT NOT NULL, -- lower-case, as filters match
	original TEXT NOT NULL, -- as written, as facets show
	n        INTEGER NOT NULL,
	PRIMARY KEY (key, kind, value, original)
) WITHOUT ROWID;
CREATE TABLE multi_keys (key TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE catalog_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
`, `
-- Keys of arrays of strings: their elements also make "key.element" = true terms, which are not counted, so
-- counts over keys that may be such terms are computed instead of read.
CREATE TABLE array_keys (key TEXT PRIMARY KEY) WITHOUT ROWID;
`, `
-- Who registered a url location: they may change it when no team owns the repository it points at.
ALTER TABLE locations ADD COLUMN registered_by TEXT NOT NULL DEFAULT '';
`}
}

func migrate(ctx context.Context, db *sql.DB) error {
	var version int
	if err := db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		return fmt.Errorf("reading schema version: %w", err)
	}
	all := migrations()
	if version > len(all) {
		return fmt.Errorf("schema version %d is newer than this program knows (%d)", version, len(all))
	}
	for i := version; i < len(all); i++ {
		err := inTx(ctx, db, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, all[i]); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, i+1))
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
	}
	return nil
}

func inTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// lockLocation serialises refreshes of one location and returns the unlock function.
func (c *Catalog) lockLocation(id string) func() {
	c.mu.Lock()
	l := c.locks[id]
	if l == nil {
		l = &locationLock{}
		c.locks[id] = l
	}
	l.refs++
	c.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		c.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(c.locks, id)
		}
		c.mu.Unlock()
	}
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return formatUUID(b)
}

// newEntityUID returns a time-ordered (version 7) UUID: unique like a random one, but entities stored
// together get neighbouring uids, so the uid index grows at its end instead of at random pages — which is
// what a bulk load of a large catalog spends its time on otherwise.
func newEntityUID(now time.Time) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	ms := uint64(now.UnixMilli())
	for i := range 6 {
		b[i] = byte(ms >> (40 - 8*i))
	}
	b[6] = b[6]&0x0f | 0x70
	b[8] = b[8]&0x3f | 0x80
	return formatUUID(b)
}

func formatUUID(b [16]byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
