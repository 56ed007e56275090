package objectstore

import (
	"context"
	"crypto/md5"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
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
	tags            map[string]string
	checksumAlgo    string // "" when the upload was created without one: the object gets CRC64NVME
	checksumType    string
}

type partRow struct {
	number   int
	size     int64
	etag     string
	checksum string // of the upload's algorithm
	blob     string
	modified time.Time
}

// getUpload finds an upload by id; one for another bucket or key does not exist.
func getUpload(ctx context.Context, q querier, bucket, key, id string) (uploadRow, error) {
	u := uploadRow{id: id}
	var created int64
	var headers, tags string
	err := q.QueryRowContext(ctx, `SELECT bucket, key, created, content_type, headers, tags, checksum_algo, checksum_type
		FROM uploads WHERE upload_id = ?`, id).
		Scan(&u.bucket, &u.key, &created, &u.contentType, &headers, &tags, &u.checksumAlgo, &u.checksumType)
	if errors.Is(err, sql.ErrNoRows) || err == nil && (u.bucket != bucket || u.key != key) {
		return u, errNoSuchUpload(id)
	}
	if err != nil {
		return u, fmt.Errorf("reading upload %s: %w", id, err)
	}
	u.created = time.Unix(0, created).UTC()
	u.headers = map[string]string{}
	if err := jsonUnmarshalString(headers, &u.headers); err != nil {
		return u, fmt.Errorf("decoding headers of upload %s: %w", id, err)
	}
	if err := decodeOptionalJSON(tags, &u.tags); err != nil {
		return u, fmt.Errorf("decoding tags of upload %s: %w", id, err)
	}
	return u, nil
}

func queryParts(ctx context.Context, q querier, uploadID string, after, limit int) ([]partRow, error) {
	rows, err := q.QueryContext(ctx, `SELECT part_number, size, etag, checksum, blob, modified FROM parts
		WHERE upload_id = ? AND part_number > ? ORDER BY part_number LIMIT ?`, uploadID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("listing parts of %s: %w", uploadID, err)
	}
	defer rows.Close()
	var out []partRow
	for rows.Next() {
		var p partRow
		var modified int64
		if err := rows.Scan(&p.number, &p.size, &p.etag, &p.checksum, &p.blob, &modified); err != nil {
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

// uploadChecksum reads CreateMultipartUpload's x-amz-checksum-algorithm and x-amz-checksum-type.
func uploadChecksum(h http.Header) (algo, typ string, err error) {
	algo, typ = strings.ToLower(h.Get(checksumAlgoHdr)), strings.ToUpper(h.Get(checksumTypeHdr))
	switch {
	case typ != "" && typ != typeFullObject && typ != typeComposite:
		return "", "", errInvalidChecksumHeader("x-amz-checksum-type")
	case algo == "" && typ != "":
		return "", "", errInvalidRequest("The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.")
	case algo == "":
		return "", "", nil
	case !knownAlgorithm(algo):
		return "", "", errInvalidChecksumAlgorithm()
	case typ == "" && algo == "crc64nvme":
		typ = typeFullObject
	case typ == "":
		typ = typeComposite
	}
	if typ == typeFullObject && !fullObjectCapable(algo) || typ == typeComposite && algo == "crc64nvme" {
		return "", "", errInvalidRequest("The %s checksum type cannot be used with the %s checksum algorithm.", typ, algo)
	}
	return algo, typ, nil
}

func (s *Store) createMultipartUpload(ctx context.Context, rq *request) error {
	if _, err := mustBucket(ctx, s.db, rq.bucket); err != nil {
		return err
	}
	contentType, headers, tags, err := newObjectMeta(rq.r.Header)
	if err != nil {
		return err
	}
	algo, typ, err := uploadChecksum(rq.r.Header)
	if err != nil {
		return err
	}
	id := newID()
	_, err = s.db.ExecContext(ctx, `INSERT INTO uploads (upload_id, bucket, key, created, content_type, headers, tags,
		checksum_algo, checksum_type) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, id, rq.bucket, rq.key, s.now().UnixNano(),
		contentType, encodeJSON(headers), optionalMap(tags), algo, typ)
	if err != nil {
		return fmt.Errorf("creating upload: %w", err)
	}
	if algo != "" {
		rq.w.Header().Set(checksumAlgoHdr, strings.ToUpper(algo))
		rq.w.Header().Set(checksumTypeHdr, typ)
	}
	writeXML(rq.w, http.StatusOK, initiateMultipartUploadResult{Xmlns: s3Namespace, Bucket: rq.bucket, Key: rq.key, UploadID: id})
	return nil
}

func partNumberParam(rq *request) (int, error) {
	v := rq.query().Get("partNumber")
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxPartNumber {
		return 0, errBadArgument("partNumber", v, "Part number must be an integer between 1 and 10000, inclusive.")
	}
	return n, nil
}

// errChecksumTypeMismatch: a part's checksum is not of the upload's algorithm ("null" when it has none).
func errChecksumTypeMismatch(want, got string) *apiError {
	got = strings.ToUpper(got)
	if got == "" {
		got = "null"
	}
	return errInvalidRequest("Checksum Type mismatch occurred, expected checksum Type: %s, actual checksum Type: %s",
		strings.ToUpper(want), got)
}

// partChecksum makes the payload verify or compute the part's checksum as the upload requires.
func partChecksum(p *payload, u uploadRow) error {
	if u.checksumAlgo == "" {
		return nil
	}
	switch {
	case p.checksum != nil && p.checksum.algo != u.checksumAlgo:
		return errChecksumTypeMismatch(u.checksumAlgo, p.checksum.algo)
	case p.checksum == nil && u.checksumType == typeComposite:
		return errChecksumTypeMismatch(u.checksumAlgo, "")
	}
	p.computeChecksum(u.checksumAlgo)
	return nil
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
	u, err := getUpload(ctx, s.db, rq.bucket, rq.key, uploadID)
	if err != nil {
		return err
	}
	p, err := openPayload(rq.r, rq.sr, maxPutSize)
	if err != nil {
		return err
	}
	if err := partChecksum(p, u); err != nil {
		return err
	}
	blob, err := s.blobs.write(p)
	if err != nil {
		return err
	}
	part := partRow{number: n, size: blob.size, etag: hex.EncodeToString(blob.md5), blob: blob.id, modified: s.now().UTC()}
	if blob.checksum != nil && blob.checksum.algo == u.checksumAlgo {
		part.checksum = blob.checksum.value
	}
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
		_, err = t.ExecContext(ctx, `INSERT OR REPLACE INTO parts (upload_id, part_number, size, etag, checksum, blob, modified)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, uploadID, p.number, p.size, p.etag, p.checksum, p.blob, p.modified.UnixNano())
		return err
	})
}

// finalChecksum is what CompleteMultipartUpload's headers say of the object.
type finalChecksum struct {
	typ         string // x-amz-checksum-type, if sent
	algo, value string // x-amz-checksum-<algo>, if sent
	size        int64  // x-amz-mp-object-size, -1 if not sent
}

func readFinalChecksum(h http.Header) (finalChecksum, error) {
	f := finalChecksum{typ: strings.ToUpper(h.Get(checksumTypeHdr)), size: -1}
	if f.typ != "" && f.typ != typeFullObject && f.typ != typeComposite {
		return f, errInvalidChecksumHeader("x-amz-checksum-type")
	}
	d, err := declaredChecksum(h, false)
	var ae *apiError
	if errors.As(err, &ae) && strings.HasPrefix(ae.message, "Value for") {
		err = nil // checked against the upload's checksum type below
		for _, a := range checksumAlgorithms {
			if _, ok := h[http.CanonicalHeaderKey(checksumHdr+a)]; ok {
				d = declared{algo: a, value: h.Get(checksumHdr + a)}
			}
		}
	}
	if err != nil {
		return f, err
	}
	f.algo, f.value = d.algo, d.value
	if v := h.Get("X-Amz-Mp-Object-Size"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		switch {
		case err != nil:
			return f, errInvalidRequest("Value for x-amz-mp-object-size header is invalid: '%s'", v)
		case n < 0:
			return f, errInvalidRequest("Value for x-amz-mp-object-size header is less than zero: '%d'", n)
		}
		f.size = n
	}
	return f, nil
}

// check compares the final checksum headers with the upload's checksum, before any work.
func (f finalChecksum) check(u uploadRow) (use bool, err error) {
	if u.checksumAlgo == "" {
		return false, nil // S3 ignores a final checksum of an upload created without one
	}
	if f.typ != "" && f.typ != u.checksumType {
		return false, errInvalidRequest("The upload was created using the %s checksum mode. The complete request must use the same checksum mode.", u.checksumType)
	}
	if f.algo == "" {
		return false, nil
	}
	if f.algo != u.checksumAlgo {
		return false, errChecksumTypeMismatch(u.checksumAlgo, f.algo)
	}
	valid := validChecksum(f.algo, f.value)
	if u.checksumType == typeComposite {
		valid = validComposite(f.algo, f.value)
	}
	if !valid {
		return false, errInvalidChecksumHeader("x-amz-checksum-" + f.algo)
	}
	return true, nil
}

func (s *Store) completeMultipartUpload(ctx context.Context, rq *request) error {
	uploadID := rq.query().Get("uploadId")
	final, err := readFinalChecksum(rq.r.Header)
	if err != nil {
		return err
	}
	cond, err := writeConditions(rq.r.Header)
	if err != nil {
		return err
	}
	var req completeMultipartUpload
	p, err := openPayload(rq.r, rq.sr, maxXMLBody, payloadOptions{noChecksum: true})
	if err != nil {
		return err
	}
	ok, err := decodeXMLPayload(p, &req)
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
	// Completions of one upload take turns: the first assembles it, the others find it completed.
	unlock := s.completing.lock(uploadID)
	defer unlock()
	upload, err := getUpload(ctx, s.db, rq.bucket, rq.key, uploadID)
	if err != nil {
		return s.completedBefore(ctx, rq, uploadID, err)
	}
	useFinal, err := final.check(upload)
	if err != nil {
		return err
	}
	chosen, err := s.chooseParts(ctx, upload, req)
	if err != nil {
		return err
	}
	v := assembledVersion(upload, chosen, s.now().UTC())
	if final.size >= 0 && final.size != v.size {
		return errInvalidRequest("The provided 'x-amz-mp-object-size' header value %d does not match what was computed: %d", final.size, v.size)
	}
	if err := s.precheckQuota(ctx, b, rq.key, v.size); err != nil {
		return err
	}
	if err := s.assemble(&v, upload, chosen); err != nil {
		return err
	}
	if useFinal && !sameChecksum(final.value, v.checksum, v.checksumType) {
		s.dropBlob(ctx, v.blob)
		return errChecksumBadDigest(final.algo)
	}
	if err := s.commitUpload(ctx, upload, &v, cond); err != nil {
		if ae := asAPIError(err); ae.code == "NoSuchUpload" {
			return s.completedBefore(ctx, rq, uploadID, err)
		}
		return err
	}
	writeCompleteResult(rq, v)
	return nil
}

// completedBefore answers a CompleteMultipartUpload of an upload that is gone: if it was completed into
// the key (by an earlier call whose answer the client did not get, or by a concurrent one), S3 answers
// again with the object it became.
func (s *Store) completedBefore(ctx context.Context, rq *request, uploadID string, notFound error) error {
	v, ok, err := oneVersion(ctx, s.db, `WHERE bucket = ? AND key = ? AND upload_id = ? ORDER BY seq DESC LIMIT 1`,
		rq.bucket, rq.key, uploadID)
	if err != nil {
		return err
	}
	if !ok || uploadID == "" {
		return notFound
	}
	writeCompleteResult(rq, v)
	return nil
}

func writeCompleteResult(rq *request, v versionRow) {
	setVersionHeaders(rq.w, v)
	out := completeMultipartUploadResult{Xmlns: s3Namespace,
		Location: requestScheme(rq.r) + "://" + rq.r.Host + "/" + rq.bucket + "/" + awsURIEncode(rq.key, false),
		Bucket:   rq.bucket, Key: rq.key, ETag: quoteETag(v.etag), checksumFields: checksumsOf(v.checksumAlgo, v.checksum),
		ChecksumType: v.checksumType}
	writeXML(rq.w, http.StatusOK, out)
}

// sameChecksum compares a final checksum a client sent with the one computed; a composite one may come
// with or without its "-<parts>" suffix, but not with a wrong one.
func sameChecksum(sent, computed, typ string) bool {
	if typ != typeComposite || strings.Contains(sent, "-") {
		return sent == computed
	}
	sum, _, _ := strings.Cut(computed, "-")
	return sent == sum
}

func requestScheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// chooseParts checks the client's part list against the uploaded parts, as S3 does.
func (s *Store) chooseParts(ctx context.Context, u uploadRow, req completeMultipartUpload) ([]partRow, error) {
	stored, err := queryParts(ctx, s.db, u.id, 0, maxPartNumber+1)
	if err != nil {
		return nil, err
	}
	byNumber := make(map[int]partRow, len(stored))
	for _, p := range stored {
		byNumber[p.number] = p
	}
	for i, want := range req.Parts {
		if want.PartNumber == nil || want.ETag == nil {
			return nil, errMalformedXML(errors.New("a Part needs a PartNumber and an ETag"))
		}
		if *want.PartNumber < 1 {
			return nil, errBadArgument("PartNumber", strconv.Itoa(*want.PartNumber), "PartNumber must be >= 1")
		}
		if i > 0 && *want.PartNumber <= *req.Parts[i-1].PartNumber {
			return nil, errInvalidRequest("The list of parts was not in ascending order. Parts must be ordered by part number.").withCode("InvalidPartOrder")
		}
	}
	chosen := make([]partRow, 0, len(req.Parts))
	for _, want := range req.Parts {
		p, ok := byNumber[*want.PartNumber]
		if !ok || strings.Trim(*want.ETag, `"`) != p.etag {
			return nil, errInvalidPart(u.id, *want.PartNumber, *want.ETag)
		}
		if err := checkPartChecksum(u, p, want); err != nil {
			return nil, err
		}
		chosen = append(chosen, p)
	}
	for _, p := range chosen[:len(chosen)-1] {
		if p.size < minPartSize {
			return nil, newAPIError(http.StatusBadRequest, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size").
				with("ProposedSize", p.size).with("MinSizeAllowed", minPartSize)
		}
	}
	return chosen, nil
}

func errInvalidPart(uploadID string, number int, etag string) *apiError {
	return newAPIError(http.StatusBadRequest, "InvalidPart", "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.").
		with("UploadId", uploadID).with("PartNumber", number).with("ETag", etag)
}

// checkPartChecksum compares a part's checksum in the complete request with the uploaded part's.
func checkPartChecksum(u uploadRow, p partRow, want completedPart) error {
	algos, values := want.checksums()
	switch {
	case len(algos) > 1:
		var b strings.Builder
		for i := range algos {
			fmt.Fprintf(&b, "%s:%s;", strings.ToUpper(algos[i]), values[i])
		}
		return errBadArgument("Checksum", b.String(), "Invalid Base64 or multiple checksums present in request")
	case len(algos) == 1 && !validChecksum(algos[0], values[0]):
		return errBadArgument("Checksum", values[0], "Invalid Base64 or multiple checksums present in request")
	case u.checksumAlgo == "":
		return nil
	case len(algos) == 0 && u.checksumType == typeComposite:
		return errInvalidRequest("The upload was created using a %s checksum. The complete request must include the checksum for each part. It was missing for part %d in the request.", u.checksumAlgo, p.number)
	case len(algos) == 0:
		return nil
	case algos[0] != u.checksumAlgo:
		return newAPIError(http.StatusBadRequest, "BadDigest", "The %s you specified for part %d did not match what we received.", algos[0], p.number)
	case values[0] != p.checksum:
		return errInvalidPart(u.id, p.number, *want.ETag)
	}
	return nil
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
		headers: u.headers, tags: u.tags, uploadID: u.id, modified: now,
		etag: fmt.Sprintf("%s-%d", hex.EncodeToString(h.Sum(nil)), len(parts))}
}

// assemble writes the parts into the object's blob and computes its checksum: of the whole object
// (FULL_OBJECT, and CRC64NVME for an upload created without a checksum), or of the parts' checksums
// (COMPOSITE).
func (s *Store) assemble(v *versionRow, u uploadRow, parts []partRow) error {
	v.checksumAlgo, v.checksumType = u.checksumAlgo, u.checksumType
	if v.checksumAlgo == "" {
		v.checksumAlgo, v.checksumType = defaultChecksum, typeFullObject
	}
	ids := make([]string, len(parts))
	for i, p := range parts {
		ids[i] = p.blob
	}
	var whole hash.Hash
	if v.checksumType == typeFullObject {
		whole = newChecksumHash(v.checksumAlgo)
	}
	var err error
	if v.blob, err = s.blobs.concat(ids, whole); err != nil {
		return errInternal(err)
	}
	if whole != nil {
		v.checksum = base64.StdEncoding.EncodeToString(whole.Sum(nil))
		return nil
	}
	composite := newChecksumHash(v.checksumAlgo)
	v.partSums = make([]string, len(parts))
	for i, p := range parts {
		raw, _ := base64.StdEncoding.DecodeString(p.checksum) // verified when the part was uploaded
		composite.Write(raw)
		v.partSums[i] = p.checksum
	}
	v.checksum = fmt.Sprintf("%s-%d", base64.StdEncoding.EncodeToString(composite.Sum(nil)), len(parts))
	return nil
}

func (s *Store) commitUpload(ctx context.Context, u uploadRow, v *versionRow, cond putOptions) error {
	err := s.inTx(ctx, func(t *txn) error {
		b, err := mustBucket(ctx, t, u.bucket)
		if err != nil {
			return err
		}
		if _, err := getUpload(ctx, t, u.bucket, u.key, u.id); err != nil {
			return err
		}
		if err := putVersion(ctx, t, b, v, cond); err != nil {
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
		u, err := getUpload(ctx, t, rq.bucket, rq.key, uploadID)
		if err != nil {
			return err
		}
		if err := checkInitiatedTime(rq.r.Header, u); err != nil {
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

// checkInitiatedTime applies AbortMultipartUpload's x-amz-if-match-initiated-time.
func checkInitiatedTime(h http.Header, u uploadRow) error {
	v := h.Get("X-Amz-If-Match-Initiated-Time")
	if v == "" {
		return nil
	}
	t, err := http.ParseTime(v)
	if err != nil {
		t, err = time.Parse(time.RFC3339, v)
	}
	if err != nil {
		return errInvalidArgument("x-amz-if-match-initiated-time must be a date.")
	}
	if t.After(time.Now()) {
		return nil // S3 ignores a date in the future
	}
	if !t.Equal(u.created.Truncate(time.Second)) {
		return errPreconditionFailed("x-amz-if-match-initiated-time")
	}
	return nil
}

// intParam reads a non-negative integer query parameter, capped at max.
func intParam(rq *request, name string, def, max int) (int, error) {
	v := rq.query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0, errBadArgument(name, v, fmt.Sprintf("Provided %s not an integer or within integer range", v))
	}
	if n < 0 {
		return 0, errBadArgument(name, v, fmt.Sprintf("Argument %s must be an integer between 0 and 2147483647", v))
	}
	return min(int(n), max), nil
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
	u, err := getUpload(ctx, s.db, rq.bucket, rq.key, uploadID)
	if err != nil {
		return err
	}
	parts, err := queryParts(ctx, s.db, uploadID, marker, maxParts+1)
	if err != nil {
		return err
	}
	out := listPartsResult{Xmlns: s3Namespace, Bucket: rq.bucket, Key: rq.key, UploadID: uploadID, Initiator: theOwner(),
		Owner: theOwner(), StorageClass: storageClass, PartNumberMarker: marker, MaxParts: maxParts,
		ChecksumAlgorithm: strings.ToUpper(u.checksumAlgo), ChecksumType: u.checksumType}
	if u.checksumAlgo == "" {
		out.ChecksumAlgorithm, out.ChecksumType = "null", "null" // as S3 says of an upload created without one
	}
	if len(parts) > maxParts {
		parts, out.IsTruncated = parts[:maxParts], true
	}
	for _, p := range parts {
		out.Parts = append(out.Parts, partEntry{PartNumber: p.number, LastModified: s3Time(p.modified), ETag: quoteETag(p.etag),
			Size: p.size, checksumFields: checksumsOf(u.checksumAlgo, p.checksum)})
		out.NextPartNumberMarker = p.number
	}
	writeXML(rq.w, http.StatusOK, out)
	return nil
}
