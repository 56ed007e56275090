package objectstore

import (
	"context"
	"crypto/md5"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

const (
	maxPartNumber = 10000
	minPartSize   = 5 << 20 // every part but the last, as S3 requires
	maxListParts  = 1000
)

type uploadRow struct {
	id, bucket, key string
	created         time.Time
	contentType     string
	headers         map[string]string
}

type partRow struct {
	number   int
	size     int64
	etag     string
	blob     string
	modified time.Time
}

// getUpload finds an upload by id; one for another bucket or key does not exist.
func getUpload(ctx context.Context, q querier, bucket, key, id string) (uploadRow, error) {
	u := uploadRow{id: id}
	var created int64
	var headers string
	err := q.QueryRowContext(ctx, `SELECT bucket, key, created, content_type, headers FROM uploads WHERE upload_id = ?`, id).
		Scan(&u.bucket, &u.key, &created, &u.contentType, &headers)
	if errors.Is(err, sql.ErrNoRows) || err == nil && (u.bucket != bucket || u.key != key) {
		return u, errNoSuchUpload()
	}
	if err != nil {
		return u, fmt.Errorf("reading upload %s: %w", id, err)
	}
	u.created = time.Unix(0, created).UTC()
	u.headers = map[string]string{}
	if err := jsonUnmarshalString(headers, &u.headers); err != nil {
		return u, fmt.Errorf("decoding headers of upload %s: %w", id, err)
	}
	return u, nil
}

func queryParts(ctx context.Context, q querier, uploadID string, after, limit int) ([]partRow, error) {
	rows, err := q.QueryContext(ctx, `SELECT part_number, size, etag, blob, modified FROM parts
		WHERE upload_id = ? AND part_number > ? ORDER BY part_number LIMIT ?`, uploadID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("listing parts of %s: %w", uploadID, err)
	}
	defer rows.Close()
	var out []partRow
	for rows.Next() {
		var p partRow
		var modified int64
		if err := rows.Scan(&p.number, &p.size, &p.etag, &p.blob, &modified); err != nil {
			return nil, fmt.Errorf("listing parts of %s: %w", uploadID, err)
		}
		p.modified = time.Unix(0, modified).UTC()
		out = append(out, p)
	}
	return out, rows.Err()
}

// dropUpload deletes an upload and its parts, trashing their bytes.
func dropUpload(ctx context.Context, t *txn, uploadID string) error {
	parts, err := queryParts(ctx, t, uploadID, 0, maxPartNumber+1)
	if err != nil {
		return err
	}
	for _, p := range parts {
		if err := t.trash(ctx, p.blob); err != nil {
			return err
		}
	}
	for _, q := range []string{`DELETE FROM parts WHERE upload_id = ?`, `DELETE FROM uploads WHERE upload_id = ?`} {
		if _, err := t.ExecContext(ctx, q, uploadID); err != nil {
			return fmt.Errorf("deleting upload %s: %w", uploadID, err)
		}
	}
	return nil
}

func (s *Store) createMultipartUpload(ctx context.Context, rq *request) error {
	if _, err := mustBucket(ctx, s.db, rq.bucket); err != nil {
		return err
	}
	contentType, headers, err := objectHeaders(rq.r.Header)
	if err != nil {
		return err
	}
	id := newID()
	_, err = s.db.ExecContext(ctx, `INSERT INTO uploads (upload_id, bucket, key, created, content_type, headers, checksum_algo)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, id, rq.bucket, rq.key, s.now().UnixNano(), contentType, encodeJSON(headers),
		strings.ToLower(rq.r.Header.Get("X-Amz-Checksum-Algorithm")))
	if err != nil {
		return fmt.Errorf("creating upload: %w", err)
	}
	writeXML(rq.w, http.StatusOK, initiateMultipartUploadResult{Xmlns: s3Namespace, Bucket: rq.bucket, Key: rq.key, UploadID: id})
	return nil
}

func partNumberParam(rq *request) (int, error) {
	n, err := strconv.Atoi(rq.query().Get("partNumber"))
	if err != nil || n < 1 || n > maxPartNumber {
		return 0, errInvalidArgument("Part number must be an integer between 1 and %d, inclusive.", maxPartNumber)
	}
	return n, nil
}

func (s *Store) uploadPart(ctx context.Context, rq *request) error {
	n, err := partNumberParam(rq)
	if err != nil {
		return err
	}
	uploadID := rq.query().Get("uploadId")
	if _, err := mustBucket(ctx, s.db, rq.bucket); err != nil {
		return err
	}
	if _, err := getUpload(ctx, s.db, rq.bucket, rq.key, uploadID); err != nil {
		return err
	}
	p, err := openPayload(rq.r, rq.sr, maxPutSize)
	if err != nil {
		return err
	}
	blob, err := s.blobs.write(p)
	if err != nil {
		return err
	}
	part := partRow{number: n, size: blob.size, etag: hex.EncodeToString(blob.md5), blob: blob.id, modified: s.now().UTC()}
	if err := s.commitPart(ctx, rq, uploadID, part); err != nil {
		s.dropBlob(ctx, blob.id)
		return err
	}
	rq.w.Header().Set("ETag", quoteETag(part.etag))
	if blob.checksum != nil {
		rq.w.Header().Set(checksumHdr+blob.checksum.algo, blob.checksum.value)
	}
	rq.w.WriteHeader(http.StatusOK)
	return nil
}

// commitPart records an uploaded part, replacing (and trashing) an earlier upload of the
// same part number.
func (s *Store) commitPart(ctx context.Context, rq *request, uploadID string, p partRow) error {
	return s.inTx(ctx, func(t *txn) error {
		if _, err := getUpload(ctx, t, rq.bucket, rq.key, uploadID); err != nil {
			return err // aborted or completed while the part was arriving
		}
		var old string
		err := t.QueryRowContext(ctx, `SELECT blob FROM parts WHERE upload_id = ? AND part_number = ?`, uploadID, p.number).Scan(&old)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("reading part %d: %w", p.number, err)
		}
		if err := t.trash(ctx, old); err != nil {
			return err
		}
		if err := t.claim(ctx, p.blob); err != nil {
			return err
		}
		_, err = t.ExecContext(ctx, `INSERT OR REPLACE INTO parts (upload_id, part_number, size, etag, blob, modified)
			VALUES (?, ?, ?, ?, ?, ?)`, uploadID, p.number, p.size, p.etag, p.blob, p.modified.UnixNano())
		return err
	})
}

func (s *Store) completeMultipartUpload(ctx context.Context, rq *request) error {
	uploadID := rq.query().Get("uploadId")
	var req completeMultipartUpload
	ok, err := readXMLBody(rq, &req)
	if err != nil {
		return err
	}
	if !ok || len(req.Parts) == 0 {
		return errMalformedXML(errors.New("CompleteMultipartUpload lists no parts"))
	}
	b, err := mustBucket(ctx, s.db, rq.bucket)
	if err != nil {
		return err
	}
	upload, err := getUpload(ctx, s.db, rq.bucket, rq.key, uploadID)
	if err != nil {
		return err
	}
	chosen, err := s.chooseParts(ctx, uploadID, req)
	if err != nil {
		return err
	}
	v := assembledVersion(upload, chosen, s.now().UTC())
	if err := s.precheckQuota(ctx, b, rq.key, v.size); err != nil {
		return err
	}
	ids := make([]string, len(chosen))
	for i, p := range chosen {
		ids[i] = p.blob
	}
	if v.blob, err = s.blobs.concat(ids); err != nil {
		return errInternal(err)
	}
	if err := s.commitUpload(ctx, upload, &v); err != nil {
		return err
	}
	setVersionHeaders(rq.w, v)
	writeXML(rq.w, http.StatusOK, completeMultipartUploadResult{Xmlns: s3Namespace,
		Location: requestScheme(rq.r) + "://" + rq.r.Host + "/" + rq.bucket + "/" + awsURIEncode(rq.key, false),
		Bucket:   rq.bucket, Key: rq.key, ETag: quoteETag(v.etag)})
	return nil
}

func requestScheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// chooseParts checks the client's part list against the uploaded parts, as S3 does.
func (s *Store) chooseParts(ctx context.Context, uploadID string, req completeMultipartUpload) ([]partRow, error) {
	stored, err := queryParts(ctx, s.db, uploadID, 0, maxPartNumber+1)
	if err != nil {
		return nil, err
	}
	byNumber := make(map[int]partRow, len(stored))
	for _, p := range stored {
		byNumber[p.number] = p
	}
	for i := 1; i < len(req.Parts); i++ {
		if req.Parts[i].PartNumber <= req.Parts[i-1].PartNumber {
			return nil, errInvalidRequest("The list of parts was not in ascending order. The parts list must be specified in order by part number.").withCode("InvalidPartOrder")
		}
	}
	chosen := make([]partRow, 0, len(req.Parts))
	for _, want := range req.Parts {
		p, ok := byNumber[want.PartNumber]
		if !ok || strings.Trim(want.ETag, `"`) != p.etag {
			return nil, errInvalidRequest("One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag (part %d).", want.PartNumber).withCode("InvalidPart")
		}
		chosen = append(chosen, p)
	}
	for _, p := range chosen[:len(chosen)-1] {
		if p.size < minPartSize {
			return nil, errInvalidRequest("Your proposed upload is smaller than the minimum allowed size: part %d is %d bytes; every part but the last must be at least %d bytes.", p.number, p.size, minPartSize).withCode("EntityTooSmall")
		}
	}
	return chosen, nil
}

// assembledVersion is the object a completed upload becomes; its ETag is S3's
// MD5-of-part-MD5s followed by the part count.
func assembledVersion(u uploadRow, parts []partRow, now time.Time) versionRow {
	h := md5.New()
	sizes := make([]int64, len(parts))
	var total int64
	for i, p := range parts {
		sum, _ := hex.DecodeString(p.etag) // part ETags are hex MD5s we computed
		h.Write(sum)
		sizes[i] = p.size
		total += p.size
	}
	return versionRow{bucket: u.bucket, key: u.key, size: total, parts: sizes, contentType: u.contentType,
		headers: u.headers, modified: now, etag: fmt.Sprintf("%s-%d", hex.EncodeToString(h.Sum(nil)), len(parts))}
}

func (s *Store) commitUpload(ctx context.Context, u uploadRow, v *versionRow) error {
	err := s.inTx(ctx, func(t *txn) error {
		b, err := mustBucket(ctx, t, u.bucket)
		if err != nil {
			return err
		}
		if _, err := getUpload(ctx, t, u.bucket, u.key, u.id); err != nil {
			return err
		}
		if err := putVersion(ctx, t, b, v, putOptions{}); err != nil {
			return err
		}
		return dropUpload(ctx, t, u.id)
	})
	if err != nil {
		s.dropBlob(ctx, v.blob)
	}
	return err
}

func (s *Store) abortMultipartUpload(ctx context.Context, rq *request) error {
	uploadID := rq.query().Get("uploadId")
	err := s.inTx(ctx, func(t *txn) error {
		if _, err := mustBucket(ctx, t, rq.bucket); err != nil {
			return err
		}
		if _, err := getUpload(ctx, t, rq.bucket, rq.key, uploadID); err != nil {
			return err
		}
		return dropUpload(ctx, t, uploadID)
	})
	if err != nil {
		return err
	}
	rq.w.WriteHeader(http.StatusNoContent)
	return nil
}

func intParam(rq *request, name string, def, max int) (int, error) {
	v := rq.query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, errInvalidArgument("%s must be a non-negative integer, got %q.", name, v)
	}
	return min(n, max), nil
}

func (s *Store) listParts(ctx context.Context, rq *request) error {
	uploadID := rq.query().Get("uploadId")
	marker, err := intParam(rq, "part-number-marker", 0, maxPartNumber)
	if err != nil {
		return err
	}
	maxParts, err := intParam(rq, "max-parts", maxListParts, maxListParts)
	if err != nil {
		return err
	}
	if _, err := mustBucket(ctx, s.db, rq.bucket); err != nil {
		return err
	}
	if _, err := getUpload(ctx, s.db, rq.bucket, rq.key, uploadID); err != nil {
		return err
	}
	parts, err := queryParts(ctx, s.db, uploadID, marker, maxParts+1)
	if err != nil {
		return err
	}
	out := listPartsResult{Xmlns: s3Namespace, Bucket: rq.bucket, Key: rq.key, UploadID: uploadID, Initiator: theOwner(),
		Owner: theOwner(), StorageClass: storageClass, PartNumberMarker: marker, MaxParts: maxParts}
	if len(parts) > maxParts {
		parts, out.IsTruncated = parts[:maxParts], true
	}
	for _, p := range parts {
		out.Parts = append(out.Parts, partEntry{PartNumber: p.number, LastModified: s3Time(p.modified), ETag: quoteETag(p.etag), Size: p.size})
		out.NextPartNumberMarker = p.number
	}
	writeXML(rq.w, http.StatusOK, out)
	return nil
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
	prefix, keyMarker, idMarker := q.Get("prefix"), q.Get("key-marker"), q.Get("upload-id-marker")
	cond, condArgs := prefixRange(prefix)
	args := append([]any{rq.bucket, keyMarker, keyMarker, keyMarker, idMarker}, condArgs...)
	rows, err := s.db.QueryContext(ctx, `SELECT upload_id, key, created FROM uploads
		WHERE bucket = ? AND key >= ? AND (key > ? OR (key = ? AND upload_id > ?))`+cond+`
		ORDER BY key, upload_id LIMIT ?`, append(args, maxUploads+1)...)
	if err != nil {
		return fmt.Errorf("listing uploads: %w", err)
	}
	defer rows.Close()
	out := listMultipartUploadsResult{Xmlns: s3Namespace, Bucket: rq.bucket, KeyMarker: keyMarker,
		UploadIDMarker: idMarker, Prefix: prefix, MaxUploads: maxUploads}
	for rows.Next() {
		var e uploadEntry
		var created int64
		if err := rows.Scan(&e.UploadID, &e.Key, &created); err != nil {
			return fmt.Errorf("listing uploads: %w", err)
		}
		if len(out.Uploads) == maxUploads {
			out.IsTruncated = true
			break
		}
		e.Initiated, e.Initiator, e.Owner, e.StorageClass = s3Time(time.Unix(0, created)), theOwner(), theOwner(), storageClass
		out.Uploads = append(out.Uploads, e)
		out.NextKeyMarker, out.NextUploadIDMarker = e.Key, e.UploadID
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("listing uploads: %w", err)
	}
	writeXML(rq.w, http.StatusOK, out)
	return nil
}
