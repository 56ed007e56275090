package objectstore

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

const (
	maxListKeys = 1000
	// pastPrefix follows a common prefix: every key starting with the prefix sorts
	// before prefix+"\xff" because 0xff never occurs in UTF-8, so "key > prefix+\xff"
	// skips the whole group in one index seek.
	pastPrefix = "\xff"
)

// listQuery selects current objects: keys > after, under prefix, folded at delimiter.
type listQuery struct {
	bucket, prefix, delimiter, after string
	max                              int
}

// listPage is one page of a listing. next is the cursor to continue after it; last is
// the last key or common prefix returned.
type listPage struct {
	objects   []versionRow
	prefixes  []string
	truncated bool
	next      string
	last      string
}

// fold returns the common prefix key belongs to under delimiter, or "".
func fold(key, prefix, delimiter string) string {
	if delimiter == "" {
		return ""
	}
	if i := strings.Index(key[len(prefix):], delimiter); i >= 0 {
		return key[:len(prefix)+i+len(delimiter)]
	}
	return ""
}

// prefixRange is the SQL condition and arguments restricting keys to a prefix.
func prefixRange(prefix string) (string, []any) {
	if prefix == "" {
		return "", nil
	}
	return ` AND key >= ? AND key < ?`, []any{prefix, prefix + pastPrefix}
}

func listCurrent(ctx context.Context, q querier, lq listQuery) (listPage, error) {
	var page listPage
	cursor, count := lq.after, 0
	cond, condArgs := prefixRange(lq.prefix)
	for {
		limit := min(lq.max-count+1, maxListKeys+1)
		args := append([]any{lq.bucket, cursor}, condArgs...)
		rows, err := queryVersions(ctx, q, `WHERE bucket = ? AND is_latest = 1 AND delete_marker = 0 AND key > ?`+
			cond+` ORDER BY key LIMIT ?`, append(args, limit)...)
		if err != nil {
			return page, err
		}
		requery := false
		for _, v := range rows {
			if count == lq.max {
				page.truncated = true
				return page, nil
			}
			count++
			if cp := fold(v.key, lq.prefix, lq.delimiter); cp != "" {
				page.prefixes = append(page.prefixes, cp)
				page.last, page.next, cursor = cp, cp+pastPrefix, cp+pastPrefix
				requery = true
				break
			}
			page.objects = append(page.objects, v)
			page.last, page.next, cursor = v.key, v.key, v.key
		}
		if !requery && len(rows) < limit {
			return page, nil
		}
	}
}

// markerCursor turns a V1 marker (or a key marker) into a cursor; a marker that is a
// common prefix continues after the whole group.
func markerCursor(marker, prefix, delimiter string) string {
	if marker != "" && strings.HasPrefix(marker, prefix) && fold(marker, prefix, delimiter) == marker {
		return marker + pastPrefix
	}
	return marker
}

// listParams are the parameters ListObjects, ListObjectsV2 and ListObjectVersions share.
type listParams struct {
	prefix, delimiter, encoding string
	max                         int
}

func parseListParams(q url.Values) (listParams, error) {
	p := listParams{prefix: q.Get("prefix"), delimiter: q.Get("delimiter"), encoding: q.Get("encoding-type"), max: maxListKeys}
	if p.encoding != "" && p.encoding != "url" {
		return p, errInvalidArgument("Invalid Encoding Method specified in Request: encoding-type must be url.")
	}
	if v := q.Get("max-keys"); v != "" {
		n, err := strconv.ParseInt(v, 10, 32)
		switch {
		case err != nil:
			return p, errBadArgument("max-keys", v, fmt.Sprintf("Provided max-keys not an integer or within integer range: %s", v))
		case n < 0:
			return p, errBadArgument("max-keys", v, fmt.Sprintf("Argument %s must be an integer between 0 and 2147483647", v))
		}
		p.max = min(int(n), maxListKeys)
	}
	return p, nil
}

// enc applies encoding-type=url to a key or prefix in a listing response.
func (p listParams) enc(s string) string {
	if p.encoding == "url" {
		return awsURIEncode(s, false)
	}
	return s
}

func (p listParams) result(bucket string, page listPage) listBucketResult {
	out := listBucketResult{Xmlns: s3Namespace, Name: bucket, Prefix: p.enc(p.prefix), MaxKeys: p.max,
		Delimiter: p.enc(p.delimiter), EncodingType: p.encoding, IsTruncated: page.truncated}
	for _, v := range page.objects {
		e := objectEntry{Key: p.enc(v.key), LastModified: s3Time(v.modified),
			ETag: quoteETag(v.etag), Size: v.size, StorageClass: storageClass}
		if v.checksumAlgo != "" {
			e.ChecksumAlgorithm, e.ChecksumType = strings.ToUpper(v.checksumAlgo), v.checksumType
		}
		out.Contents = append(out.Contents, e)
	}
	for _, cp := range page.prefixes {
		out.CommonPrefixes = append(out.CommonPrefixes, commonPrefix{Prefix: p.enc(cp)})
	}
	return out
}

func (s *Store) listObjectsV2(ctx context.Context, rq *request) error {
	q := rq.query()
	p, err := parseListParams(q)
	if err != nil {
		return err
	}
	// StartAfter and the token are where the previous page ended: a key, or a common prefix to skip whole.
	after := q.Get("start-after")
	token := q.Get("continuation-token")
	if q.Has("continuation-token") {
		last, err := decodeToken(token)
		if err != nil {
			return err
		}
		after = max(last, after) // with both, the listing starts after the later of the two
	}
	after = markerCursor(after, p.prefix, p.delimiter)
	if _, err := mustBucket(ctx, s.db, rq.bucket); err != nil {
		return err
	}
	page, err := listCurrent(ctx, s.db, listQuery{bucket: rq.bucket, prefix: p.prefix, delimiter: p.delimiter, after: after, max: p.max})
	if err != nil {
		return err
	}
	out := p.result(rq.bucket, page)
	keyCount := len(page.objects) + len(page.prefixes)
	out.KeyCount, out.ContinuationToken, out.StartAfter = &keyCount, token, p.enc(q.Get("start-after"))
	if page.truncated {
		out.NextContinuationToken = encodeToken(page.last)
	}
	if q.Get("fetch-owner") == "true" {
		for i := range out.Contents {
			out.Contents[i].Owner = theOwner()
		}
	}
	writeXML(rq.w, http.StatusOK, out)
	return nil
}

func (s *Store) listObjectsV1(ctx context.Context, rq *request) error {
	q := rq.query()
	p, err := parseListParams(q)
	if err != nil {
		return err
	}
	if _, err := mustBucket(ctx, s.db, rq.bucket); err != nil {
		return err
	}
	marker := q.Get("marker")
	page, err := listCurrent(ctx, s.db, listQuery{bucket: rq.bucket, prefix: p.prefix, delimiter: p.delimiter,
		after: markerCursor(marker, p.prefix, p.delimiter), max: p.max})
	if err != nil {
		return err
	}
	out := p.result(rq.bucket, page)
	if marker != "" {
		encMarker := p.enc(marker)
		out.Marker = &encMarker
	}
	if page.truncated {
		out.NextMarker = p.enc(page.last)
	}
	for i := range out.Contents {
		out.Contents[i].Owner = theOwner()
	}
	writeXML(rq.w, http.StatusOK, out)
	return nil
}

// tokenBase64 starts a continuation token that carries its key in base64: a key XML cannot carry as text (it has
// control characters), or one that starts with tokenBase64 itself. Other tokens are the key, as S3's are.
const tokenBase64 = "gp64:"

func encodeToken(last string) string {
	if strings.HasPrefix(last, tokenBase64) || strings.ContainsFunc(last, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return tokenBase64 + base64.RawURLEncoding.EncodeToString([]byte(last))
	}
	return last
}

func decodeToken(token string) (string, error) {
	b64, ok := strings.CutPrefix(token, tokenBase64)
	if !ok {
		if token == "" {
			return "", errBadArgument("continuation-token", token, "The continuation token provided is incorrect")
		}
		return token, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(b64)
	if err != nil {
		return "", errBadArgument("continuation-token", token, "The continuation token provided is incorrect")
	}
	return string(raw), nil
}

// versionCursor is a position in (key ascending, version newest first) order.
type versionCursor struct {
	key string
	seq int64 // versions of key with seq < this follow; 0 = none of key's versions
}

type versionsPage struct {
	entries   []versionRow
	prefixes  []string
	truncated bool
	lastKey   string
	lastID    string
}

func listVersions(ctx context.Context, q querier, bucket, prefix, delimiter string, c versionCursor, max int) (versionsPage, error) {
	var page versionsPage
	count := 0
	cond, condArgs := prefixRange(prefix)
	for {
		limit := min(max-count+1, maxListKeys+1)
		args := append([]any{bucket, c.key, c.key, c.key, c.seq}, condArgs...)
		rows, err := queryVersions(ctx, q, `WHERE bucket = ? AND key >= ? AND (key > ? OR (key = ? AND seq < ?))`+
			cond+` ORDER BY key, seq DESC LIMIT ?`, append(args, limit)...)
		if err != nil {
			return page, err
		}
		requery := false
		for _, v := range rows {
			if count == max {
				page.truncated = true
				return page, nil
			}
			count++
			if cp := fold(v.key, prefix, delimiter); cp != "" {
				page.prefixes = append(page.prefixes, cp)
				page.lastKey, page.lastID = cp, ""
				c, requery = versionCursor{key: cp + pastPrefix}, true
				break
			}
			page.entries = append(page.entries, v)
			page.lastKey, page.lastID = v.key, v.versionID
			c = versionCursor{key: v.key, seq: v.seq}
		}
		if !requery && len(rows) < limit {
			return page, nil
		}
	}
}

func (s *Store) listObjectVersions(ctx context.Context, rq *request) error {
	q := rq.query()
	p, err := parseListParams(q)
	if err != nil {
		return err
	}
	if _, err := mustBucket(ctx, s.db, rq.bucket); err != nil {
		return err
	}
	keyMarker, idMarker := q.Get("key-marker"), q.Get("version-id-marker")
	c := versionCursor{key: markerCursor(keyMarker, p.prefix, p.delimiter)}
	if idMarker != "" {
		if keyMarker == "" {
			return errInvalidArgument("A version-id marker cannot be specified without a key marker.")
		}
		v, ok, err := versionByID(ctx, s.db, rq.bucket, keyMarker, idMarker)
		if err != nil {
			return err
		}
		if !ok {
			return errInvalidArgument("Invalid version id specified: %q.", idMarker)
		}
		c = versionCursor{key: keyMarker, seq: v.seq}
	}
	page, err := listVersions(ctx, s.db, rq.bucket, p.prefix, p.delimiter, c, p.max)
	if err != nil {
		return err
	}
	writeXML(rq.w, http.StatusOK, versionsResult(rq.bucket, p, keyMarker, idMarker, page))
	return nil
}

func versionsResult(bucket string, p listParams, keyMarker, idMarker string, page versionsPage) listVersionsResult {
	out := listVersionsResult{Xmlns: s3Namespace, Name: bucket, Prefix: p.enc(p.prefix), KeyMarker: p.enc(keyMarker),
		VersionIDMarker: idMarker, MaxKeys: p.max, Delimiter: p.enc(p.delimiter), EncodingType: p.encoding,
		IsTruncated: page.truncated}
	if page.truncated {
		out.NextKeyMarker, out.NextVersionIDMarker = p.enc(page.lastKey), page.lastID
	}
	for _, v := range page.entries {
		if v.deleteMarker {
			out.DeleteMarkers = append(out.DeleteMarkers, deleteMarkerItem{Key: p.enc(v.key), VersionID: v.versionID,
				IsLatest: v.latest, LastModified: s3Time(v.modified), Owner: theOwner()})
			continue
		}
		out.Versions = append(out.Versions, versionEntry{Key: p.enc(v.key), VersionID: v.versionID, IsLatest: v.latest,
			LastModified: s3Time(v.modified), ETag: quoteETag(v.etag), Size: v.size, StorageClass: storageClass, Owner: theOwner()})
	}
	for _, cp := range page.prefixes {
		out.CommonPrefixes = append(out.CommonPrefixes, commonPrefix{Prefix: p.enc(cp)})
	}
	return out
}
