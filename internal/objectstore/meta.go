package objectstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

const schema = `
CREATE TABLE IF NOT EXISTS buckets (
	name        TEXT PRIMARY KEY,
	created_at  INTEGER NOT NULL,
	versioning  TEXT NOT NULL DEFAULT '',
	quota_bytes INTEGER NOT NULL DEFAULT 0,
	tags        TEXT NOT NULL DEFAULT '{}',
	objects     INTEGER NOT NULL DEFAULT 0,
	bytes       INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS versions (
	seq           INTEGER PRIMARY KEY AUTOINCREMENT,
	bucket        TEXT NOT NULL,
	key           TEXT NOT NULL,
	version_id    TEXT NOT NULL,
	is_latest     INTEGER NOT NULL,
	delete_marker INTEGER NOT NULL,
	size          INTEGER NOT NULL,
	etag          TEXT NOT NULL,
	content_type  TEXT NOT NULL,
	headers       TEXT NOT NULL,
	parts         TEXT NOT NULL,
	checksum_algo TEXT NOT NULL,
	checksum      TEXT NOT NULL,
	blob          TEXT NOT NULL,
	modified      INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS versions_by_id ON versions(bucket, key, version_id);
CREATE INDEX IF NOT EXISTS versions_by_key ON versions(bucket, key, seq DESC);
CREATE INDEX IF NOT EXISTS versions_current ON versions(bucket, key) WHERE is_latest = 1 AND delete_marker = 0;
CREATE TABLE IF NOT EXISTS uploads (
	upload_id     TEXT PRIMARY KEY,
	bucket        TEXT NOT NULL,
	key           TEXT NOT NULL,
	created       INTEGER NOT NULL,
	content_type  TEXT NOT NULL,
	headers       TEXT NOT NULL,
	checksum_algo TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS uploads_by_key ON uploads(bucket, key, created);
CREATE TABLE IF NOT EXISTS parts (
	upload_id   TEXT NOT NULL,
	part_number INTEGER NOT NULL,
	size        INTEGER NOT NULL,
	etag        TEXT NOT NULL,
	blob        TEXT NOT NULL,
	modified    INTEGER NOT NULL,
	PRIMARY KEY (upload_id, part_number)
);
CREATE TABLE IF NOT EXISTS trash (blob TEXT PRIMARY KEY);
`

// addedColumns are the columns added after the first release, by table; openDB adds those a database
// made by an older goldenpath lacks.
var addedColumns = []struct{ table, column, decl string }{
	{"versions", "checksum_type", "TEXT NOT NULL DEFAULT ''"},  // FULL_OBJECT or COMPOSITE
	{"versions", "part_checksums", "TEXT NOT NULL DEFAULT ''"}, // JSON list, for GetObjectAttributes
	{"versions", "tags", "TEXT NOT NULL DEFAULT ''"},           // JSON object tags
	{"versions", "upload_id", "TEXT NOT NULL DEFAULT ''"},      // the multipart upload it completed
	{"uploads", "checksum_type", "TEXT NOT NULL DEFAULT ''"},
	{"uploads", "tags", "TEXT NOT NULL DEFAULT ''"},
	{"parts", "checksum", "TEXT NOT NULL DEFAULT ''"},
}

const indexesOnAddedColumns = `
CREATE INDEX IF NOT EXISTS versions_by_upload ON versions(upload_id) WHERE upload_id != '';
`

// migrate adds the columns in addedColumns that the database lacks.
func migrate(db *sql.DB) error {
	for _, c := range addedColumns {
		var n int
		err := db.QueryRow(`SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?`, c.table, c.column).Scan(&n)
		if err != nil {
			return fmt.Errorf("reading columns of %s: %w", c.table, err)
		}
		if n == 0 {
			if _, err := db.Exec(`ALTER TABLE ` + c.table + ` ADD COLUMN ` + c.column + ` ` + c.decl); err != nil {
				return fmt.Errorf("adding column %s.%s: %w", c.table, c.column, err)
			}
		}
	}
	if _, err := db.Exec(indexesOnAddedColumns); err != nil {
		return fmt.Errorf("creating indexes: %w", err)
	}
	return nil
}

const (
	versioningEnabled   = "Enabled"
	versioningSuspended = "Suspended"
	nullVersion         = "null"
)

// querier is what both *sql.DB and *txn offer, so reads work inside and outside a
// transaction.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// txn is a transaction that also records blobs that become unreferenced. They are put
// in the trash table inside the transaction and removed from disk only after it commits,
// so a rollback never loses bytes and a crash leaves the trash for the next start.
type txn struct {
	*sql.Tx
	trashed []string
}

func (t *txn) trash(ctx context.Context, blob string) error {
	if blob == "" {
		return nil
	}
	if _, err := t.ExecContext(ctx, `INSERT OR IGNORE INTO trash(blob) VALUES (?)`, blob); err != nil {
		return fmt.Errorf("trashing blob %s: %w", blob, err)
	}
	t.trashed = append(t.trashed, blob)
	return nil
}

// claim marks a reserved blob as referenced; call it in the transaction that references it.
func (t *txn) claim(ctx context.Context, blob string) error {
	if blob == "" {
		return nil
	}
	if _, err := t.ExecContext(ctx, `DELETE FROM trash WHERE blob = ?`, blob); err != nil {
		return fmt.Errorf("claiming blob %s: %w", blob, err)
	}
	return nil
}

// reserveBlob records a new blob as unreferenced until a transaction claims it.
func (s *Store) reserveBlob(id string) error {
	if _, err := s.db.Exec(`INSERT OR IGNORE INTO trash(blob) VALUES (?)`, id); err != nil {
		return fmt.Errorf("reserving blob %s: %w", id, err)
	}
	return nil
}

// dropBlob deletes a blob that no committed row references (a failed put).
func (s *Store) dropBlob(ctx context.Context, id string) {
	if id != "" {
		s.emptyTrash(context.WithoutCancel(ctx), []string{id})
	}
}

// inTx runs fn in a transaction and then deletes the blobs it trashed.
func (s *Store) inTx(ctx context.Context, fn func(t *txn) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	t := &txn{Tx: tx}
	if err := fn(t); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing transaction: %w", err)
	}
	if len(t.trashed) > 0 {
		// The change is committed; cleanup must not depend on the client staying connected.
		s.emptyTrash(context.WithoutCancel(ctx), t.trashed)
	}
	return nil
}

func (s *Store) emptyTrash(ctx context.Context, blobs []string) {
	for _, id := range blobs {
		if err := s.blobs.remove(id); err != nil {
			s.log.Warn("removing unreferenced blob", "blob", id, "err", err)
			continue
		}
		if _, err := s.db.ExecContext(ctx, `DELETE FROM trash WHERE blob = ?`, id); err != nil {
			s.log.Warn("clearing trash entry", "blob", id, "err", err)
		}
	}
}

// drainTrash finishes cleanups that a stop interrupted.
func (s *Store) drainTrash(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, `SELECT blob FROM trash`)
	if err != nil {
		return fmt.Errorf("reading trash: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("reading trash: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading trash: %w", err)
	}
	s.emptyTrash(ctx, ids)
	return nil
}

// bucketRow is a bucket as stored, with the counters kept up to date by every change.
type bucketRow struct {
	name       string
	created    time.Time
	versioning string
	quota      int64
	tags       map[string]string
	objects    int64 // current objects (not delete markers)
	bytes      int64 // bytes of every stored version: what the quota limits
}

func (b bucketRow) info() BucketInfo {
	return BucketInfo{
		Name:      b.name,
		Options:   BucketOptions{Versioning: b.versioning == versioningEnabled, QuotaBytes: b.quota, Tags: b.tags},
		CreatedAt: b.created,
		Objects:   b.objects,
		SizeBytes: b.bytes,
	}
}

const bucketCols = `name, created_at, versioning, quota_bytes, tags, objects, bytes`

type scanner interface{ Scan(dest ...any) error }

func scanBucket(sc scanner) (bucketRow, error) {
	var b bucketRow
	var created int64
	var tags string
	if err := sc.Scan(&b.name, &created, &b.versioning, &b.quota, &tags, &b.objects, &b.bytes); err != nil {
		return b, err
	}
	b.created = time.Unix(0, created).UTC()
	if err := json.Unmarshal([]byte(tags), &b.tags); err != nil {
		return b, fmt.Errorf("decoding tags of bucket %q: %w", b.name, err)
	}
	return b, nil
}

func getBucket(ctx context.Context, q querier, name string) (bucketRow, bool, error) {
	b, err := scanBucket(q.QueryRowContext(ctx, `SELECT `+bucketCols+` FROM buckets WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return b, false, nil
	}
	if err != nil {
		return b, false, fmt.Errorf("reading bucket %q: %w", name, err)
	}
	return b, true, nil
}

// mustBucket is getBucket for request handlers: a missing bucket is NoSuchBucket.
func mustBucket(ctx context.Context, q querier, name string) (bucketRow, error) {
	b, ok, err := getBucket(ctx, q, name)
	if err != nil {
		return b, err
	}
	if !ok {
		return b, errNoSuchBucket(name)
	}
	return b, nil
}

func listBuckets(ctx context.Context, q querier) ([]bucketRow, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+bucketCols+` FROM buckets ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("listing buckets: %w", err)
	}
	defer rows.Close()
	var out []bucketRow
	for rows.Next() {
		b, err := scanBucket(rows)
		if err != nil {
			return nil, fmt.Errorf("listing buckets: %w", err)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

func addToBucket(ctx context.Context, t *txn, bucket string, objects, bytes int64) error {
	if objects == 0 && bytes == 0 {
		return nil
	}
	_, err := t.ExecContext(ctx, `UPDATE buckets SET objects = objects + ?, bytes = bytes + ? WHERE name = ?`,
		objects, bytes, bucket)
	if err != nil {
		return fmt.Errorf("updating counters of bucket %q: %w", bucket, err)
	}
	return nil
}

func jsonUnmarshalString(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// encodeJSON encodes the maps of strings and slices of integers stored in TEXT columns;
// those cannot fail to marshal.
func encodeJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
