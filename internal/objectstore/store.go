package objectstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

const defaultRegion = "us-east-1"

// Options configure a Store.
type Options struct {
	Region      string           // default "us-east-1"; requests signed for another region get AuthorizationHeaderMalformed
	Credentials Credentials      // required
	Logger      *slog.Logger     // nil discards
	Now         func() time.Time // for tests of clock skew; default time.Now
}

// BucketOptions are the settings an S3Request asks for.
type BucketOptions struct {
	Versioning bool
	QuotaBytes int64             // 0 = unlimited; counts every stored version
	Tags       map[string]string // e.g. "goldenpath.io/request-id": "s3.dev.orders" — for idempotent look-ups
}

// BucketInfo describes a bucket. Objects counts current objects (not noncurrent
// versions or delete markers); SizeBytes counts every stored version, which is what
// QuotaBytes limits.
type BucketInfo struct {
	Name      string
	Options   BucketOptions
	CreatedAt time.Time
	Objects   int64
	SizeBytes int64
}

// Store is the object store: an http.Handler for the S3 API plus methods for the
// provisioner. It is safe for concurrent use.
type Store struct {
	region string
	creds  Credentials
	log    *slog.Logger
	now    func() time.Time
	db     *sql.DB
	blobs  *blobStore
	// completing serialises CompleteMultipartUpload calls of one upload.
	completing keyedMutex
}

// New opens (or creates) a store under dir. Close it when done.
func New(dir string, opts Options) (*Store, error) {
	if opts.Credentials == nil {
		return nil, errors.New("objectstore options: Credentials is required")
	}
	if dir == "" {
		return nil, errors.New("objectstore: dir is required")
	}
	s := &Store{region: opts.Region, creds: opts.Credentials, log: opts.Logger, now: opts.Now}
	if s.region == "" {
		s.region = defaultRegion
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s.log = s.log.With("component", "objectstore")
	if s.now == nil {
		s.now = time.Now
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating store directory %s: %w", dir, err)
	}
	var err error
	if s.db, err = openDB(filepath.Join(dir, "meta.db")); err != nil {
		return nil, err
	}
	if s.blobs, err = newBlobStore(dir, s.reserveBlob); err != nil {
		s.db.Close()
		return nil, err
	}
	if err := s.drainTrash(context.Background()); err != nil {
		s.db.Close()
		return nil, err
	}
	return s, nil
}

func openDB(path string) (*sql.DB, error) {
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(10000)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	// One connection serialises writers inside the process (SQLite allows one writer
	// anyway) and avoids SQLITE_BUSY; data is streamed outside transactions.
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("creating schema in %s: %w", path, err)
	}
	if err := migrate(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrating %s: %w", path, err)
	}
	return db, nil
}

// Close releases the metadata database. In-flight requests should be finished first.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("closing object store: %w", err)
	}
	return nil
}

func validateBucketOptions(o BucketOptions) error {
	if o.QuotaBytes < 0 {
		return fmt.Errorf("bucket options: QuotaBytes must be >= 0 (0 = unlimited), got %d", o.QuotaBytes)
	}
	for k := range o.Tags {
		if k == "" {
			return errors.New("bucket options: Tags must not have an empty key")
		}
	}
	return nil
}

// CreateBucket is idempotent: created=false if it exists (then options are updated, e.g.
// versioning enabled). Turning Versioning off on a bucket that had it suspends
// versioning, as S3 does: existing versions stay.
func (s *Store) CreateBucket(ctx context.Context, name string, o BucketOptions) (created bool, err error) {
	if err := ValidateBucketName(name); err != nil {
		return false, err
	}
	if err := validateBucketOptions(o); err != nil {
		return false, fmt.Errorf("creating bucket %q: %w", name, err)
	}
	err = s.inTx(ctx, func(t *txn) error {
		b, ok, err := getBucket(ctx, t, name)
		if err != nil {
			return err
		}
		created = !ok
		if !ok {
			b = bucketRow{name: name, created: s.now().UTC()}
			if _, err := t.ExecContext(ctx, `INSERT INTO buckets (name, created_at) VALUES (?, ?)`,
				name, b.created.UnixNano()); err != nil {
				return fmt.Errorf("inserting bucket: %w", err)
			}
		}
		_, err = t.ExecContext(ctx, `UPDATE buckets SET versioning = ?, quota_bytes = ?, tags = ? WHERE name = ?`,
			versioningState(b.versioning, o.Versioning), o.QuotaBytes, encodeJSON(nonNilTags(o.Tags)), name)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("creating bucket %q: %w", name, err)
	}
	if created {
		s.log.Info("bucket created", "bucket", name, "versioning", o.Versioning, "quota_bytes", o.QuotaBytes)
	}
	return created, nil
}

// versioningState maps the wanted on/off to S3's states: once enabled, "off" is Suspended.
func versioningState(current string, enabled bool) string {
	switch {
	case enabled:
		return versioningEnabled
	case current == "":
		return ""
	}
	return versioningSuspended
}

func nonNilTags(t map[string]string) map[string]string {
	if t == nil {
		return map[string]string{}
	}
	return maps.Clone(t)
}

// Bucket returns a bucket's settings and usage.
func (s *Store) Bucket(ctx context.Context, name string) (BucketInfo, bool, error) {
	b, ok, err := getBucket(ctx, s.db, name)
	if err != nil || !ok {
		return BucketInfo{}, false, err
	}
	return b.info(), true, nil
}

// Buckets returns every bucket, sorted by name.
func (s *Store) Buckets(ctx context.Context) ([]BucketInfo, error) {
	rows, err := listBuckets(ctx, s.db)
	if err != nil {
		return nil, err
	}
	out := make([]BucketInfo, len(rows))
	for i, b := range rows {
		out[i] = b.info()
	}
	return out, nil
}

// DeleteBucket is idempotent. With force it deletes all objects, versions and multipart
// uploads first; without, a bucket holding any version or delete marker gives an error
// wrapping ErrBucketNotEmpty. Pending multipart uploads are aborted either way.
func (s *Store) DeleteBucket(ctx context.Context, name string, force bool) error {
	err := s.inTx(ctx, func(t *txn) error {
		if _, ok, err := getBucket(ctx, t, name); err != nil || !ok {
			return err
		}
		var n int64
		if err := t.QueryRowContext(ctx, `SELECT COUNT(*) FROM versions WHERE bucket = ?`, name).Scan(&n); err != nil {
			return fmt.Errorf("counting versions: %w", err)
		}
		if n > 0 && !force {
			return fmt.Errorf("%w: it holds %d object versions or delete markers", ErrBucketNotEmpty, n)
		}
		return dropBucket(ctx, t, name)
	})
	if err != nil {
		return fmt.Errorf("deleting bucket %q: %w", name, err)
	}
	return nil
}

// dropBucket removes a bucket and everything in it, trashing the blobs.
func dropBucket(ctx context.Context, t *txn, name string) error {
	blobs, err := bucketBlobs(ctx, t, name)
	if err != nil {
		return err
	}
	for _, id := range blobs {
		if err := t.trash(ctx, id); err != nil {
			return err
		}
	}
	for _, q := range []string{
		`DELETE FROM parts WHERE upload_id IN (SELECT upload_id FROM uploads WHERE bucket = ?)`,
		`DELETE FROM uploads WHERE bucket = ?`,
		`DELETE FROM versions WHERE bucket = ?`,
		`DELETE FROM buckets WHERE name = ?`,
	} {
		if _, err := t.ExecContext(ctx, q, name); err != nil {
			return fmt.Errorf("dropping bucket rows: %w", err)
		}
	}
	return nil
}

func bucketBlobs(ctx context.Context, t *txn, name string) ([]string, error) {
	rows, err := t.QueryContext(ctx, `SELECT blob FROM versions WHERE bucket = ? AND blob != ''
		UNION ALL SELECT p.blob FROM parts p JOIN uploads u ON u.upload_id = p.upload_id WHERE u.bucket = ?`, name, name)
	if err != nil {
		return nil, fmt.Errorf("listing blobs of bucket: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("listing blobs of bucket: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
