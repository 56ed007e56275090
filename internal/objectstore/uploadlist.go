package objectstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// keyedMutex hands out one mutex per key, kept only while in use.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*refMutex
}

type refMutex struct {
	sync.Mutex
	refs int
}

func (k *keyedMutex) lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*refMutex{}
	}
	m := k.locks[key]
	if m == nil {
		m = &refMutex{}
		k.locks[key] = m
	}
	m.refs++
	k.mu.Unlock()
	m.Lock()
	return func() {
		m.Unlock()
		k.mu.Lock()
		if m.refs--; m.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}

// uploadCursor is a position in ListMultipartUploads' order: key, then initiation, then upload id.
type uploadCursor struct {
	key     string
	created int64
	id      string // "" = before every upload of key
}

// uploadsAfter starts a listing: after every upload of key-marker, or after the upload-id-marker.
func (s *Store) uploadsAfter(ctx context.Context, bucket, keyMarker, idMarker string) (uploadCursor, error) {
	c := uploadCursor{key: keyMarker, created: 1<<63 - 1}
	if idMarker == "" || keyMarker == "" { // S3 ignores an upload-id-marker without a key-marker
		return c, nil
	}
	invalid := errBadArgument("upload-id-marker", idMarker, "Invalid uploadId marker")
	var key string
	var created int64
	err := s.db.QueryRowContext(ctx, `SELECT key, created FROM uploads WHERE bucket = ? AND upload_id = ?`, bucket, idMarker).
		Scan(&key, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return c, invalid
	}
	if err != nil {
		return c, fmt.Errorf("reading upload %s: %w", idMarker, err)
	}
	if key != keyMarker {
		// The marker names another key's upload: S3 accepts it only when the key marker is not itself a
		// key with uploads (a common prefix, or a key between two).
		var n int
		if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM uploads WHERE bucket = ? AND key = ?`, bucket, keyMarker).Scan(&n); err != nil {
			return c, fmt.Errorf("counting uploads: %w", err)
		}
		if n > 0 {
			return c, invalid
		}
	}
	return uploadCursor{key: key, created: created, id: idMarker}, nil
}

type uploadListing struct {
	uploads   []uploadEntry
	prefixes  []string
	truncated bool
	nextKey   string
	nextID    string
}

func (s *Store) listUploads(ctx context.Context, bucket, prefix, delimiter string, c uploadCursor, max int) (uploadListing, error) {
	var out uploadListing
	cond, condArgs := prefixRange(prefix)
	for {
		args := append([]any{bucket, c.key, c.key, c.created, c.created, c.id}, condArgs...)
		rows, err := s.db.QueryContext(ctx, `SELECT upload_id, key, created, checksum_algo, checksum_type FROM uploads
			WHERE bucket = ? AND (key > ? OR key = ? AND (created > ? OR created = ? AND upload_id > ?))`+cond+`
			ORDER BY key, created, upload_id LIMIT ?`, append(args, max+1)...)
		if err != nil {
			return out, fmt.Errorf("listing uploads: %w", err)
		}
		page, err := scanUploads(rows)
		if err != nil {
			return out, err
		}
		requery := false
		for _, u := range page {
			if len(out.uploads)+len(out.prefixes) == max {
				out.truncated = true
				return out, nil
			}
			if cp := fold(u.Key, prefix, delimiter); cp != "" {
				out.prefixes = append(out.prefixes, cp)
				out.nextKey, out.nextID = cp, u.UploadID
				c, requery = uploadCursor{key: cp + pastPrefix}, true
				break
			}
			out.uploads = append(out.uploads, u)
			out.nextKey, out.nextID = u.Key, u.UploadID
		}
		if !requery {
			return out, nil
		}
	}
}

func scanUploads(rows *sql.Rows) ([]uploadEntry, error) {
	defer rows.Close()
	var out []uploadEntry
	for rows.Next() {
		var e uploadEntry
		var created int64
		var algo string
		if err := rows.Scan(&e.UploadID, &e.Key, &created, &algo, &e.ChecksumType); err != nil {
			return nil, fmt.Errorf("listing uploads: %w", err)
		}
		e.Initiated, e.Initiator, e.Owner, e.StorageClass = s3Time(time.Unix(0, created)), theOwner(), theOwner(), storageClass
		e.ChecksumAlgorithm = strings.ToUpper(algo)
		out = append(out, e)
	}
	return out, rows.Err()
}

func (s *Store) listMultipartUploads(ctx context.Context, rq *request) error {
	q := rq.query()
	maxUploads, err := intParam(rq, "max-uploads", maxListKeys, maxListKeys)
	if err != nil {
		return err
	}
	if _, err := mustBucket(ctx, s.db, rq.bucket); err != nil {
		return err
	}
	prefix, delimiter, keyMarker, idMarker := q.Get("prefix"), q.Get("delimiter"), q.Get("key-marker"), q.Get("upload-id-marker")
	c, err := s.uploadsAfter(ctx, rq.bucket, keyMarker, idMarker)
	if err != nil {
		return err
	}
	l, err := s.listUploads(ctx, rq.bucket, prefix, delimiter, c, maxUploads)
	if err != nil {
		return err
	}
	out := listMultipartUploadsResult{Xmlns: s3Namespace, Bucket: rq.bucket, KeyMarker: keyMarker, UploadIDMarker: idMarker,
		Prefix: prefix, Delimiter: delimiter, MaxUploads: maxUploads, IsTruncated: l.truncated, Uploads: l.uploads}
	if l.truncated {
		out.NextKeyMarker, out.NextUploadIDMarker = l.nextKey, l.nextID
	}
	for _, cp := range l.prefixes {
		out.CommonPrefixes = append(out.CommonPrefixes, commonPrefix{Prefix: cp})
	}
	writeXML(rq.w, http.StatusOK, out)
	return nil
}
