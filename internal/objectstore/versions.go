package objectstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// versionRow is one version of a key: an object or a delete marker.
type versionRow struct {
	seq          int64
	bucket       string
	key          string
	versionID    string
	latest       bool
	deleteMarker bool
	size         int64
	etag         string // hex MD5, or "<hex>-N" for multipart objects; unquoted
	contentType  string
	headers      map[string]string // x-amz-meta-* and the stored standard headers
	parts        []int64           // part sizes of a multipart object, for GET ?partNumber
	checksumAlgo string
	checksum     string
	checksumType string   // FULL_OBJECT or COMPOSITE
	partSums     []string // the parts' checksums (checksumAlgo) of a multipart object
	tags         map[string]string
	uploadID     string // the multipart upload this version completed
	blob         string
	modified     time.Time
}

const versionCols = `seq, bucket, key, version_id, is_latest, delete_marker, size, etag, content_type,
	headers, parts, checksum_algo, checksum, checksum_type, part_checksums, tags, upload_id, blob, modified`

func scanVersion(sc scanner) (versionRow, error) {
	var v versionRow
	var headers, parts, partSums, tags string
	var modified int64
	err := sc.Scan(&v.seq, &v.bucket, &v.key, &v.versionID, &v.latest, &v.deleteMarker, &v.size, &v.etag,
		&v.contentType, &headers, &parts, &v.checksumAlgo, &v.checksum, &v.checksumType, &partSums, &tags, &v.uploadID,
		&v.blob, &modified)
	if err != nil {
		return v, err
	}
	v.modified = time.Unix(0, modified).UTC()
	if err := json.Unmarshal([]byte(headers), &v.headers); err != nil {
		return v, fmt.Errorf("decoding headers of %q: %w", v.key, err)
	}
	if err := json.Unmarshal([]byte(parts), &v.parts); err != nil {
		return v, fmt.Errorf("decoding parts of %q: %w", v.key, err)
	}
	if err := decodeOptionalJSON(partSums, &v.partSums); err != nil {
		return v, fmt.Errorf("decoding part checksums of %q: %w", v.key, err)
	}
	if err := decodeOptionalJSON(tags, &v.tags); err != nil {
		return v, fmt.Errorf("decoding tags of %q: %w", v.key, err)
	}
	if v.checksumAlgo != "" && v.checksumType == "" {
		v.checksumType = typeFullObject // stored before checksum types were
	}
	return v, nil
}

// decodeOptionalJSON decodes a column added later, empty in older rows.
func decodeOptionalJSON(s string, v any) error {
	if s == "" {
		return nil
	}
	return json.Unmarshal([]byte(s), v)
}

func optionalJSON[T any](v []T) string {
	if len(v) == 0 {
		return ""
	}
	return encodeJSON(v)
}

func optionalMap(m map[string]string) string {
	if len(m) == 0 {
		return ""
	}
	return encodeJSON(m)
}

func queryVersions(ctx context.Context, q querier, query string, args ...any) ([]versionRow, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+versionCols+` FROM versions `+query, args...)
	if err != nil {
		return nil, fmt.Errorf("querying versions: %w", err)
	}
	defer rows.Close()
	var out []versionRow
	for rows.Next() {
		v, err := scanVersion(rows)
		if err != nil {
			return nil, fmt.Errorf("reading versions: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading versions: %w", err)
	}
	return out, nil
}

func oneVersion(ctx context.Context, q querier, query string, args ...any) (versionRow, bool, error) {
	v, err := scanVersion(q.QueryRowContext(ctx, `SELECT `+versionCols+` FROM versions `+query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return v, false, nil
	}
	if err != nil {
		return v, false, fmt.Errorf("reading version: %w", err)
	}
	return v, true, nil
}

// latestVersion returns the newest version of key, which may be a delete marker.
func latestVersion(ctx context.Context, q querier, bucket, key string) (versionRow, bool, error) {
	return oneVersion(ctx, q, `WHERE bucket = ? AND key = ? AND is_latest = 1`, bucket, key)
}

func versionByID(ctx context.Context, q querier, bucket, key, id string) (versionRow, bool, error) {
	return oneVersion(ctx, q, `WHERE bucket = ? AND key = ? AND version_id = ?`, bucket, key, id)
}

// findObject resolves a GET/HEAD/copy source: the latest version, or the given one.
func findObject(ctx context.Context, q querier, bucket, key, versionID string) (versionRow, error) {
	if versionID == "" {
		v, ok, err := latestVersion(ctx, q, bucket, key)
		if err != nil {
			return v, err
		}
		if !ok || v.deleteMarker {
			e := errNoSuchKey(key)
			if ok {
				e.deleteMarker, e.versionID = true, v.versionID
			}
			return v, e
		}
		return v, nil
	}
	v, ok, err := versionByID(ctx, q, bucket, key, versionID)
	if err != nil {
		return v, err
	}
	if !ok {
		return v, errNoSuchVersion(key)
	}
	if v.deleteMarker {
		e := newAPIError(http.StatusMethodNotAllowed, "MethodNotAllowed",
			"The specified method is not allowed against this resource.")
		e.deleteMarker, e.versionID = true, v.versionID
		return v, e
	}
	return v, nil
}

func currentExists(ctx context.Context, q querier, bucket, key string) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx,
		`SELECT 1 FROM versions WHERE bucket = ? AND key = ? AND is_latest = 1 AND delete_marker = 0`,
		bucket, key).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("checking %q: %w", key, err)
	}
	return true, nil
}

func insertVersion(ctx context.Context, t *txn, v versionRow) error {
	if err := t.claim(ctx, v.blob); err != nil {
		return err
	}
	if _, err := t.ExecContext(ctx, `UPDATE versions SET is_latest = 0 WHERE bucket = ? AND key = ? AND is_latest = 1`,
		v.bucket, v.key); err != nil {
		return fmt.Errorf("demoting previous version of %q: %w", v.key, err)
	}
	parts := "null"
	if len(v.parts) > 0 {
		parts = encodeJSON(v.parts)
	}
	_, err := t.ExecContext(ctx, `INSERT INTO versions (bucket, key, version_id, is_latest, delete_marker, size,
		etag, content_type, headers, parts, checksum_algo, checksum, checksum_type, part_checksums, tags, upload_id,
		blob, modified)
		VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		v.bucket, v.key, v.versionID, v.deleteMarker, v.size, v.etag, v.contentType, encodeJSON(v.headers),
		parts, v.checksumAlgo, v.checksum, v.checksumType, optionalJSON(v.partSums), optionalMap(v.tags), v.uploadID,
		v.blob, v.modified.UnixNano())
	if err != nil {
		return fmt.Errorf("inserting version of %q: %w", v.key, err)
	}
	return nil
}

// removeVersion deletes one version row and trashes its bytes. It returns the bytes freed.
func removeVersion(ctx context.Context, t *txn, v versionRow) (int64, error) {
	if _, err := t.ExecContext(ctx, `DELETE FROM versions WHERE seq = ?`, v.seq); err != nil {
		return 0, fmt.Errorf("deleting version %s of %q: %w", v.versionID, v.key, err)
	}
	return v.size, t.trash(ctx, v.blob)
}

// replaceNullVersion drops the key's "null" version, which every write replaces unless
// versioning is enabled. It returns the bytes freed.
func replaceNullVersion(ctx context.Context, t *txn, bucket, key string) (int64, error) {
	old, ok, err := versionByID(ctx, t, bucket, key, nullVersion)
	if err != nil || !ok {
		return 0, err
	}
	return removeVersion(ctx, t, old)
}

// putOptions are the conditions of a write.
type putOptions struct {
	ifNoneMatchAny bool   // If-None-Match: * — fail if the key has a current object
	ifMatch        string // If-Match: fail unless the key's current object has this ETag
}

// putVersion makes v the current version of its key, assigns its version id, enforces
// the quota and keeps the bucket counters. b must have been read inside t.
func putVersion(ctx context.Context, t *txn, b bucketRow, v *versionRow, o putOptions) error {
	before, err := currentExists(ctx, t, b.name, v.key)
	if err != nil {
		return err
	}
	if o.ifNoneMatchAny && before {
		return errPreconditionFailed("If-None-Match")
	}
	if o.ifMatch != "" {
		cur, err := findObject(ctx, t, b.name, v.key, "")
		if err != nil {
			return err
		}
		if !etagMatches(o.ifMatch, cur.etag) {
			return errPreconditionFailed("If-Match")
		}
	}
	var freed int64
	if b.versioning == versioningEnabled {
		v.versionID = newID()
	} else {
		v.versionID = nullVersion
		if freed, err = replaceNullVersion(ctx, t, b.name, v.key); err != nil {
			return err
		}
	}
	if err := checkQuota(b, v.size, freed); err != nil {
		return err
	}
	if err := insertVersion(ctx, t, *v); err != nil {
		return err
	}
	return addToBucket(ctx, t, b.name, boolDelta(before, true), v.size-freed)
}

func checkQuota(b bucketRow, size, freed int64) error {
	after := b.bytes - freed + size
	if b.quota <= 0 || after <= b.quota || size <= freed {
		return nil
	}
	return newAPIError(http.StatusForbidden, "QuotaExceeded",
		"Bucket %q has a quota of %d bytes and holds %d; storing this object (%d bytes) would bring it to %d bytes. Delete objects or ask for a larger quota.",
		b.name, b.quota, b.bytes, size, after)
}

func boolDelta(before, after bool) int64 {
	switch {
	case before && !after:
		return -1
	case !before && after:
		return 1
	}
	return 0
}

// deleteResult is what a delete reports back in x-amz-version-id / x-amz-delete-marker.
type deleteResult struct {
	versionID    string
	deleteMarker bool
}

// deleteCurrent deletes a key without a version id: a delete marker when versioning is
// on (or suspended), the object itself otherwise.
func deleteCurrent(ctx context.Context, t *txn, b bucketRow, key string, now time.Time) (deleteResult, error) {
	before, err := currentExists(ctx, t, b.name, key)
	if err != nil {
		return deleteResult{}, err
	}
	var freed int64
	res := deleteResult{}
	switch b.versioning {
	case versioningEnabled:
		res = deleteResult{versionID: newID(), deleteMarker: true}
	case versioningSuspended:
		res = deleteResult{versionID: nullVersion, deleteMarker: true}
		freed, err = replaceNullVersion(ctx, t, b.name, key)
	default:
		freed, err = replaceNullVersion(ctx, t, b.name, key)
	}
	if err != nil {
		return res, err
	}
	if res.deleteMarker {
		marker := versionRow{bucket: b.name, key: key, versionID: res.versionID, deleteMarker: true, modified: now}
		if err := insertVersion(ctx, t, marker); err != nil {
			return res, err
		}
	}
	return res, addToBucket(ctx, t, b.name, boolDelta(before, false), -freed)
}

// deleteVersion removes one version for good. Deleting the latest makes the next newest
// version (if any) current again, as S3 does.
func deleteVersion(ctx context.Context, t *txn, b bucketRow, key, versionID string) (deleteResult, error) {
	res := deleteResult{versionID: versionID}
	v, ok, err := versionByID(ctx, t, b.name, key, versionID)
	if err != nil || !ok {
		return res, err // S3 reports success for a version that does not exist
	}
	res.deleteMarker = v.deleteMarker
	before, err := currentExists(ctx, t, b.name, key)
	if err != nil {
		return res, err
	}
	freed, err := removeVersion(ctx, t, v)
	if err != nil {
		return res, err
	}
	if v.latest {
		if _, err := t.ExecContext(ctx, `UPDATE versions SET is_latest = 1 WHERE seq =
			(SELECT MAX(seq) FROM versions WHERE bucket = ? AND key = ?)`, b.name, key); err != nil {
			return res, fmt.Errorf("promoting previous version of %q: %w", key, err)
		}
	}
	after, err := currentExists(ctx, t, b.name, key)
	if err != nil {
		return res, err
	}
	return res, addToBucket(ctx, t, b.name, boolDelta(before, after), -freed)
}
