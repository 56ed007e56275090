package objectstore

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

const (
	maxUserMetadata = 2 << 10 // S3's limit on x-amz-meta-* names and values together
	metaPrefix      = "x-amz-meta-"
	defaultType     = "binary/octet-stream"
)

// storedStandardHeaders are the standard headers kept with an object and returned on GET.
var storedStandardHeaders = []string{"Cache-Control", "Content-Disposition", "Content-Encoding", "Content-Language", "Expires"}

// newObjectMeta reads what a request gives the object it writes: the content type and headers
// stored with it (objectHeaders) and its tags (X-Amz-Tagging).
func newObjectMeta(h http.Header) (contentType string, headers, tags map[string]string, err error) {
	if contentType, headers, err = objectHeaders(h); err != nil {
		return "", nil, nil, err
	}
	if tags, err = taggingHeader(h); err != nil {
		return "", nil, nil, err
	}
	return contentType, headers, tags, nil
}

// objectHeaders extracts the content type and the headers stored with an object.
func objectHeaders(h http.Header) (string, map[string]string, error) {
	out := map[string]string{}
	size := 0
	for name, values := range h {
		lower := strings.ToLower(name)
		if !strings.HasPrefix(lower, metaPrefix) {
			continue
		}
		v := strings.Join(values, ",")
		out[lower] = v
		size += len(lower) - len(metaPrefix) + len(v)
	}
	if size > maxUserMetadata {
		return "", nil, newAPIError(http.StatusBadRequest, "MetadataTooLarge",
			"Your metadata headers exceed the maximum allowed metadata size").with("Size", size).with("MaxSizeAllowed", maxUserMetadata)
	}
	for _, name := range storedStandardHeaders {
		v := h.Get(name)
		if name == "Content-Encoding" {
			v = stripAWSChunked(v) // a transfer detail of this request, not of the object
		}
		if v != "" {
			out[name] = v
		}
	}
	if loc := h.Get(redirectHeader); loc != "" {
		if !strings.HasPrefix(loc, "/") && !strings.HasPrefix(loc, "http://") && !strings.HasPrefix(loc, "https://") {
			return "", nil, newAPIError(http.StatusBadRequest, "InvalidRedirectLocation",
				"The website redirect location must have a prefix of 'http://' or 'https://' or '/'.")
		}
		out[redirectHeader] = loc
	}
	if err := refuseObjectLock(h); err != nil {
		return "", nil, err
	}
	if err := checkCannedACL(h); err != nil {
		return "", nil, err
	}
	ct := h.Get("Content-Type")
	if ct == "" {
		ct = defaultType
	}
	return ct, out, nil
}

// redirectHeader is kept with an object and returned on GET and HEAD (goldenpath serves no websites).
const redirectHeader = "X-Amz-Website-Redirect-Location"

// refuseObjectLock checks the retention and legal hold headers as S3 does, then refuses them: no bucket of
// this store has Object Lock (a deliberate limit, see docs/local-backends.md).
func refuseObjectLock(h http.Header) error {
	mode, until, hold := h.Get("X-Amz-Object-Lock-Mode"), h.Get("X-Amz-Object-Lock-Retain-Until-Date"), h.Get("X-Amz-Object-Lock-Legal-Hold")
	if mode == "" && until == "" && hold == "" {
		return nil
	}
	both := "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied."
	switch {
	case mode != "" && until == "":
		return errBadArgument("x-amz-object-lock-retain-until-date", "", both)
	case until != "" && mode == "":
		return errBadArgument("x-amz-object-lock-mode", "", both)
	}
	if until != "" {
		t, err := time.Parse(time.RFC3339, until)
		if err != nil {
			return errBadArgument("x-amz-object-lock-retain-until-date", until, "The retain until date must be provided in ISO 8601 format")
		}
		if !t.After(time.Now()) {
			return errBadArgument("x-amz-object-lock-retain-until-date", until, "The retain until date must be in the future!")
		}
	}
	if mode != "" && mode != "GOVERNANCE" && mode != "COMPLIANCE" {
		return errBadArgument("x-amz-object-lock-mode", mode, "Unknown wormMode directive.")
	}
	if hold != "" && hold != "ON" && hold != "OFF" {
		return errBadArgument("x-amz-object-lock-legal-hold", hold, "Legal Hold must be either of 'ON' or 'OFF'")
	}
	return errInvalidRequest("Bucket is missing ObjectLockConfiguration")
}

// cannedACLs are the values x-amz-acl may take.
var cannedACLs = map[string]bool{"private": true, "public-read": true, "public-read-write": true, "authenticated-read": true,
	"aws-exec-read": true, "bucket-owner-read": true, "bucket-owner-full-control": true, "log-delivery-write": true}

// checkCannedACL accepts the ACLs every bucket has anyway (ACLs are not offered: buckets are bucket-owner-enforced)
// and refuses the others as S3 does for such a bucket.
func checkCannedACL(h http.Header) error {
	acl := h.Get("X-Amz-Acl")
	switch {
	case acl == "", acl == "private", acl == "bucket-owner-full-control":
		return nil
	case !cannedACLs[acl]:
		return errBadArgument("x-amz-acl", acl, "Invalid canned ACL: x-amz-acl must be one of S3's canned ACLs.")
	}
	return newAPIError(http.StatusBadRequest, "AccessControlListNotSupported", "The bucket does not allow ACLs").
		with("Detail", "ACLs are not offered: access comes from S3Requests")
}

func stripAWSChunked(v string) string {
	var keep []string
	for _, enc := range strings.Split(v, ",") {
		if enc = strings.TrimSpace(enc); enc != "" && !strings.EqualFold(enc, "aws-chunked") {
			keep = append(keep, enc)
		}
	}
	return strings.Join(keep, ",")
}

func validVersionID(id string) bool {
	if id == nullVersion {
		return true
	}
	_, err := hex.DecodeString(id)
	return err == nil && len(id) == 32
}

func versionIDParam(q url.Values) (string, error) {
	id := q.Get("versionId")
	if q.Has("versionId") && !validVersionID(id) {
		return "", errInvalidArgument("Invalid version id specified: %q.", id)
	}
	return id, nil
}

func (s *Store) putObject(ctx context.Context, rq *request) error {
	b, err := mustBucket(ctx, s.db, rq.bucket)
	if err != nil {
		return err
	}
	contentType, headers, tags, err := newObjectMeta(rq.r.Header)
	if err != nil {
		return err
	}
	cond, err := writeConditions(rq.r.Header)
	if err != nil {
		return err
	}
	p, err := openPayload(rq.r, rq.sr, maxPutSize)
	if err != nil {
		return err
	}
	p.computeChecksum(defaultChecksum)
	if err := s.precheckQuota(ctx, b, rq.key, p.size); err != nil {
		return err
	}
	blob, err := s.blobs.write(p)
	if err != nil {
		return err
	}
	v := versionRow{bucket: rq.bucket, key: rq.key, size: blob.size, etag: hex.EncodeToString(blob.md5),
		contentType: contentType, headers: headers, tags: tags, blob: blob.id, modified: s.now().UTC()}
	if blob.checksum != nil {
		v.checksumAlgo, v.checksum, v.checksumType = blob.checksum.algo, blob.checksum.value, typeFullObject
	}
	if err := s.commitVersion(ctx, &v, cond); err != nil {
		return err
	}
	setVersionHeaders(rq.w, v)
	setChecksumHeaders(rq.w.Header(), v.checksumAlgo, v.checksum, v.checksumType)
	rq.w.Header().Set("x-amz-object-size", strconv.FormatInt(v.size, 10))
	rq.w.WriteHeader(http.StatusOK)
	return nil
}

// precheckQuota refuses an upload whose declared size cannot fit before reading it.
// The authoritative check runs again when the version is committed.
// writeConditions reads the conditions of a write: If-None-Match: * (the key must have no object) and
// If-Match: <etag> (its object must have that ETag). Other forms S3 does not support either.
func writeConditions(h http.Header) (putOptions, error) {
	match, noneMatch := h.Get("If-Match"), h.Get("If-None-Match")
	if noneMatch != "" && (noneMatch != "*" || match != "") {
		return putOptions{}, newAPIError(http.StatusNotImplemented, "NotImplemented",
			"A header you provided implies functionality that is not implemented.").with("Header", "If-None-Match")
	}
	return putOptions{ifNoneMatchAny: noneMatch == "*", ifMatch: match}, nil
}

func (s *Store) precheckQuota(ctx context.Context, b bucketRow, key string, size int64) error {
	if b.quota <= 0 || size < 0 {
		return nil
	}
	var freed int64
	if b.versioning != versioningEnabled {
		if old, ok, err := versionByID(ctx, s.db, b.name, key, nullVersion); err != nil {
			return err
		} else if ok {
			freed = old.size
		}
	}
	return checkQuota(b, size, freed)
}

// commitVersion makes v visible, or removes its blob if it cannot be.
func (s *Store) commitVersion(ctx context.Context, v *versionRow, o putOptions) error {
	err := s.inTx(ctx, func(t *txn) error {
		b, err := mustBucket(ctx, t, v.bucket)
		if err != nil {
			return err
		}
		return putVersion(ctx, t, b, v, o)
	})
	if err != nil {
		s.dropBlob(ctx, v.blob)
	}
	return err
}

func setVersionHeaders(w http.ResponseWriter, v versionRow) {
	if v.etag != "" {
		w.Header().Set("ETag", quoteETag(v.etag))
	}
	if v.versionID != "" && v.versionID != nullVersion {
		w.Header().Set("x-amz-version-id", v.versionID)
	}
}

func (s *Store) deleteObject(ctx context.Context, rq *request) error {
	versionID, err := versionIDParam(rq.query())
	if err != nil {
		return err
	}
	cond, err := readDeleteConditions(rq.r.Header)
	if err != nil {
		return err
	}
	res, err := s.deleteOne(ctx, rq.bucket, rq.key, versionID, cond)
	if err != nil {
		return err
	}
	if res.versionID != "" {
		rq.w.Header().Set("x-amz-version-id", res.versionID)
	}
	if res.deleteMarker {
		rq.w.Header().Set("x-amz-delete-marker", "true")
	}
	rq.w.WriteHeader(http.StatusNoContent)
	return nil
}

// deleteConditions are DeleteObject's If-Match, x-amz-if-match-size and x-amz-if-match-last-modified-time: the
// object is deleted only if it still is the one the client saw.
type deleteConditions struct {
	etag     string
	size     int64 // -1: not given
	modified time.Time
}

func readDeleteConditions(h http.Header) (*deleteConditions, error) {
	c := deleteConditions{etag: h.Get("If-Match"), size: -1}
	if v := h.Get("X-Amz-If-Match-Size"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return nil, errBadArgument("x-amz-if-match-size", v, "x-amz-if-match-size must be a non-negative integer.")
		}
		c.size = n
	}
	if v := h.Get("X-Amz-If-Match-Last-Modified-Time"); v != "" {
		t, err := http.ParseTime(v)
		if err != nil {
			return nil, errBadArgument("x-amz-if-match-last-modified-time", v, "x-amz-if-match-last-modified-time must be an HTTP date.")
		}
		c.modified = t
	}
	if c.etag == "" && c.size < 0 && c.modified.IsZero() {
		return nil, nil
	}
	return &c, nil
}

// check compares the conditions with the object the delete would remove.
func (c *deleteConditions) check(ctx context.Context, t *txn, bucket, key, versionID string) error {
	if c == nil {
		return nil
	}
	v, err := findObject(ctx, t, bucket, key, versionID)
	if err != nil {
		return err
	}
	switch {
	case c.etag != "" && !etagMatches(c.etag, v.etag):
		return errPreconditionFailed("If-Match")
	case c.size >= 0 && c.size != v.size:
		return errPreconditionFailed("x-amz-if-match-size")
	case !c.modified.IsZero() && !c.modified.Equal(v.modified.Truncate(time.Second)):
		return errPreconditionFailed("x-amz-if-match-last-modified-time")
	}
	return nil
}

func (s *Store) deleteOne(ctx context.Context, bucket, key, versionID string, cond *deleteConditions) (deleteResult, error) {
	var res deleteResult
	err := s.inTx(ctx, func(t *txn) error {
		b, err := mustBucket(ctx, t, bucket)
		if err != nil {
			return err
		}
		if err := cond.check(ctx, t, bucket, key, versionID); err != nil {
			return err
		}
		if versionID == "" {
			res, err = deleteCurrent(ctx, t, b, key, s.now().UTC())
		} else {
			res, err = deleteVersion(ctx, t, b, key, versionID)
		}
		return err
	})
	return res, err
}

const maxDeleteObjects = 1000

func (s *Store) deleteObjects(ctx context.Context, rq *request) error {
	var req deleteRequest
	ok, err := readXMLBody(rq, &req)
	if err != nil {
		return err
	}
	if !ok || len(req.Objects) == 0 || len(req.Objects) > maxDeleteObjects {
		return errMalformedXML(nil)
	}
	if _, err := mustBucket(ctx, s.db, rq.bucket); err != nil {
		return err
	}
	out := deleteResultDoc{Xmlns: s3Namespace}
	for _, o := range req.Objects {
		res, err := s.deleteListed(ctx, rq.bucket, o.Key, o.VersionID)
		if err != nil {
			ae := asAPIError(err)
			if ae.status >= 500 {
				s.log.Error("deleting object in batch", "bucket", rq.bucket, "key", o.Key, "err", err)
			}
			out.Errors = append(out.Errors, deleteErrItem{Key: o.Key, VersionID: o.VersionID, Code: ae.code, Message: ae.message})
			continue
		}
		if req.Quiet {
			continue
		}
		d := deletedEntry{Key: o.Key, VersionID: o.VersionID, DeleteMarker: res.deleteMarker}
		if o.VersionID == "" && res.deleteMarker {
			d.DeleteMarkerVersionID = res.versionID
		}
		out.Deleted = append(out.Deleted, d)
	}
	writeXML(rq.w, http.StatusOK, out)
	return nil
}

func (s *Store) deleteListed(ctx context.Context, bucket, key, versionID string) (deleteResult, error) {
	if key == "" {
		return deleteResult{}, errInvalidArgument("Every Object in a Delete request needs a Key.")
	}
	if err := validateKey(key); err != nil {
		return deleteResult{}, err
	}
	if versionID != "" && !validVersionID(versionID) {
		return deleteResult{}, errInvalidArgument("Invalid version id specified: %q.", versionID)
	}
	return s.deleteOne(ctx, bucket, key, versionID, nil)
}

// copySource is the parsed x-amz-copy-source header: "/bucket/key?versionId=...".
type copySource struct {
	bucket, key, versionID string
}

func parseCopySource(h string) (copySource, error) {
	raw := strings.TrimPrefix(h, "/")
	path, rawQuery, _ := strings.Cut(raw, "?")
	path, err := url.PathUnescape(path)
	if err != nil || !utf8.ValidString(path) {
		return copySource{}, errBadArgument("x-amz-copy-source", raw, "Invalid copy source encoding")
	}
	bucket, key, _ := strings.Cut(path, "/")
	if ValidateBucketName(bucket) != nil {
		return copySource{}, errBadArgument("x-amz-copy-source", raw, "Invalid copy source bucket name")
	}
	if key == "" {
		return copySource{}, errBadArgument("x-amz-copy-source", key, "Invalid copy source object key")
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return copySource{}, errBadArgument("x-amz-copy-source", raw, "Invalid copy source encoding")
	}
	id, err := versionIDParam(q)
	if err != nil {
		return copySource{}, err
	}
	return copySource{bucket: bucket, key: key, versionID: id}, validateKey(key)
}

// copyDirectives are CopyObject's x-amz-metadata-directive and x-amz-tagging-directive, and the checksum it asks for.
type copyDirectives struct {
	replaceMeta, replaceTags bool
	checksumAlgo             string // x-amz-checksum-algorithm: compute this checksum of the copy
}

func readCopyDirectives(h http.Header) (copyDirectives, error) {
	var d copyDirectives
	switch m := h.Get("X-Amz-Metadata-Directive"); m {
	case "", "COPY":
	case "REPLACE":
		d.replaceMeta = true
	default:
		return d, errBadArgument("x-amz-metadata-directive", m, "Unknown metadata directive.")
	}
	switch t := h.Get("X-Amz-Tagging-Directive"); t {
	case "", "COPY":
	case "REPLACE":
		d.replaceTags = true
	default:
		return d, errBadArgument("x-amz-tagging-directive", t, "Unknown tagging directive.")
	}
	if a := h.Get(checksumAlgoHdr); a != "" {
		if d.checksumAlgo = strings.ToLower(a); !knownAlgorithm(d.checksumAlgo) {
			return d, errInvalidChecksumAlgorithm()
		}
	}
	return d, nil
}

func (s *Store) copyObject(ctx context.Context, rq *request) error {
	d, err := readCopyDirectives(rq.r.Header)
	if err != nil {
		return err
	}
	src, err := parseCopySource(rq.r.Header.Get("X-Amz-Copy-Source"))
	if err != nil {
		return err
	}
	if !rq.sr.cred.mayUse(src.bucket) {
		return errAccessDenied("Access Denied: this access key may not read the copy source bucket %q.", src.bucket)
	}
	// What the copy gives the destination is checked before anything is looked up, as S3 does.
	contentType, headers, tags, err := newObjectMeta(rq.r.Header)
	if err != nil {
		return err
	}
	if src.bucket == rq.bucket && src.key == rq.key && src.versionID == "" && !d.replaceMeta && d.checksumAlgo == "" &&
		headers[redirectHeader] == "" {
		return errInvalidRequest("This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
	}
	if _, err := mustBucket(ctx, s.db, rq.bucket); err != nil {
		return err
	}
	if _, err := mustBucket(ctx, s.db, src.bucket); err != nil {
		return err
	}
	from, err := findObject(ctx, s.db, src.bucket, src.key, src.versionID)
	if err != nil {
		return err
	}
	if err := checkCopyPreconditions(rq.r.Header, from); err != nil {
		return err
	}
	v := from
	v.bucket, v.key, v.modified, v.versionID, v.uploadID = rq.bucket, rq.key, s.now().UTC(), "", ""
	if d.replaceMeta {
		v.contentType, v.headers = contentType, headers
	} else {
		v.headers = map[string]string{}
		for name, value := range from.headers {
			if name != redirectHeader { // S3 does not copy the website redirect location
				v.headers[name] = value
			}
		}
		if loc := headers[redirectHeader]; loc != "" {
			v.headers[redirectHeader] = loc
		}
	}
	if d.replaceTags {
		v.tags = tags
	}
	if err := s.copyBlob(&v, from, d.checksumAlgo); err != nil {
		return err
	}
	if err := s.commitVersion(ctx, &v, putOptions{}); err != nil {
		return err
	}
	if v.versionID != nullVersion {
		rq.w.Header().Set("x-amz-version-id", v.versionID)
	}
	if from.versionID != nullVersion {
		rq.w.Header().Set("x-amz-copy-source-version-id", from.versionID)
	}
	out := copyObjectResult{Xmlns: s3Namespace, ETag: quoteETag(v.etag), LastModified: s3Time(v.modified)}
	if v.checksumAlgo != "" && v.checksum != "" {
		out.checksumFields, out.ChecksumType = checksumsOf(v.checksumAlgo, v.checksum), v.checksumType
	}
	writeXML(rq.w, http.StatusOK, out)
	return nil
}

// copyBlob gives the copy v its own blob: by hard link when it keeps the source's full-object checksum, by
// reading the source when it needs a new one (asked for, or the source's is composite: a copy is one part).
func (s *Store) copyBlob(v *versionRow, from versionRow, algo string) error {
	if algo == "" && from.checksumType != typeComposite && from.checksum != "" {
		id, err := s.blobs.clone(from.blob)
		if err != nil {
			return errInternal(err)
		}
		v.blob = id
		return nil
	}
	if algo == "" {
		algo = from.checksumAlgo
	}
	if algo == "" {
		algo = defaultChecksum
	}
	f, err := s.blobs.open(from.blob)
	if err != nil {
		return errInternal(fmt.Errorf("opening blob of %q: %w", from.key, err))
	}
	defer f.Close()
	p := &payload{Reader: f, size: from.size}
	p.computeChecksum(algo)
	blob, err := s.blobs.write(p)
	if err != nil {
		return err
	}
	v.blob, v.parts, v.partSums = blob.id, nil, nil
	v.checksumAlgo, v.checksum, v.checksumType = algo, blob.checksum.value, typeFullObject
	return nil
}
