package objectstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// responseOverrides are GetObject's response-* query parameters and the headers they set.
var responseOverrides = map[string]string{
	"response-content-type":        "Content-Type",
	"response-content-language":    "Content-Language",
	"response-expires":             "Expires",
	"response-cache-control":       "Cache-Control",
	"response-content-disposition": "Content-Disposition",
	"response-content-encoding":    "Content-Encoding",
}

func (s *Store) getObject(ctx context.Context, rq *request) error {
	return s.readObject(ctx, rq, false)
}
func (s *Store) headObject(ctx context.Context, rq *request) error {
	return s.readObject(ctx, rq, true)
}

func (s *Store) readObject(ctx context.Context, rq *request, head bool) error {
	versionID, err := versionIDParam(rq.query())
	if err != nil {
		return err
	}
	if q := rq.query(); q.Has("partNumber") {
		if _, err := readPartNumber(q); err != nil {
			return err
		}
	}
	if _, err := mustBucket(ctx, s.db, rq.bucket); err != nil {
		return err
	}
	// A concurrent overwrite can delete the blob between the lookup and the open; the
	// lookup then finds the new version.
	for attempt := 0; ; attempt++ {
		v, err := findObject(ctx, s.db, rq.bucket, rq.key, versionID)
		if err != nil {
			return err
		}
		if head {
			return s.serveObject(rq, v, nil)
		}
		f, err := s.blobs.open(v.blob)
		if errors.Is(err, fs.ErrNotExist) && attempt < 3 {
			continue
		}
		if err != nil {
			return errInternal(fmt.Errorf("opening blob of %q: %w", v.key, err))
		}
		defer f.Close()
		return s.serveObject(rq, v, f)
	}
}

// byteRange is the slice of an object a response carries.
type byteRange struct {
	start, length int64
	partial       bool // 206 with Content-Range
}

func (s *Store) serveObject(rq *request, v versionRow, f *os.File) error {
	h := rq.w.Header()
	h.Set("Last-Modified", v.modified.Format(http.TimeFormat))
	setVersionHeaders(rq.w, v)
	if status, err := checkPreconditions(rq.r.Header, v); err != nil || status != 0 {
		if status != 0 {
			rq.w.WriteHeader(status)
		}
		return err
	}
	rng, err := selectRange(rq, v)
	if err != nil {
		return err
	}
	s.setObjectHeaders(rq, v, rng)
	status := http.StatusOK
	if rng.partial {
		status = http.StatusPartialContent
	}
	if f == nil {
		rq.w.WriteHeader(status)
		return nil
	}
	if _, err := f.Seek(rng.start, io.SeekStart); err != nil {
		return errInternal(fmt.Errorf("seeking blob of %q: %w", v.key, err))
	}
	rq.w.WriteHeader(status)
	if _, err := io.CopyN(rq.w, f, rng.length); err != nil {
		return fmt.Errorf("sending %q: %w", v.key, err) // headers are out; only the log sees this
	}
	return nil
}

func (s *Store) setObjectHeaders(rq *request, v versionRow, rng byteRange) {
	h := rq.w.Header()
	h.Set("Content-Type", v.contentType)
	h.Set("Accept-Ranges", "bytes")
	h.Set("x-amz-storage-class", storageClass)
	if n := len(v.tags); n > 0 {
		h.Set("x-amz-tagging-count", strconv.Itoa(n))
	}
	h.Set("Content-Length", strconv.FormatInt(rng.length, 10))
	if rng.partial {
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", rng.start, rng.start+rng.length-1, v.size))
	}
	for name, value := range v.headers {
		h.Set(name, value)
	}
	q := rq.query()
	for param, header := range responseOverrides {
		if val := q.Get(param); val != "" {
			h.Set(header, val)
		}
	}
	if len(v.parts) > 0 && q.Has("partNumber") {
		h.Set("x-amz-mp-parts-count", strconv.Itoa(len(v.parts)))
	}
	// The SDKs validate a full-object checksum when they asked for it (x-amz-checksum-mode).
	if !rng.partial && strings.EqualFold(rq.r.Header.Get("X-Amz-Checksum-Mode"), "ENABLED") {
		setChecksumHeaders(h, v.checksumAlgo, v.checksum, v.checksumType)
	}
}

// selectRange applies ?partNumber= or the Range header.
func selectRange(rq *request, v versionRow) (byteRange, error) {
	full := byteRange{start: 0, length: v.size}
	q := rq.query()
	rangeHdr := rq.r.Header.Get("Range")
	if !q.Has("partNumber") {
		if rangeHdr == "" {
			return full, nil
		}
		return parseRange(rangeHdr, v.size)
	}
	if rangeHdr != "" {
		return full, errInvalidRequest("Cannot specify both Range header and partNumber query parameter")
	}
	n, err := readPartNumber(q)
	if err != nil {
		return full, err
	}
	if len(v.parts) == 0 && n == 1 {
		// S3 serves a single-part object as its part 1, with a Content-Range.
		return byteRange{start: 0, length: v.size, partial: v.size > 0}, nil
	}
	if n > len(v.parts) {
		return full, newAPIError(http.StatusRequestedRangeNotSatisfiable, "InvalidPartNumber",
			"The requested partnumber is not satisfiable.")
	}
	var start int64
	for _, size := range v.parts[:n-1] {
		start += size
	}
	return byteRange{start: start, length: v.parts[n-1], partial: true}, nil
}

// readPartNumber reads GetObject's and HeadObject's ?partNumber=.
func readPartNumber(q url.Values) (int, error) {
	v := q.Get("partNumber")
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxPartNumber {
		return 0, errBadArgument("partNumber", v, fmt.Sprintf("Part number must be an integer between 1 and %d, inclusive.", maxPartNumber))
	}
	return n, nil
}

// parseRange handles one "bytes=" range. Like S3, it ignores a header it cannot parse
// (or several ranges) and serves the whole object.
func parseRange(h string, size int64) (byteRange, error) {
	full := byteRange{start: 0, length: size}
	spec, ok := strings.CutPrefix(strings.TrimSpace(h), "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return full, nil
	}
	first, last, ok := strings.Cut(spec, "-")
	if !ok {
		return full, nil
	}
	unsatisfiable := newAPIError(http.StatusRequestedRangeNotSatisfiable, "InvalidRange",
		"The requested range is not satisfiable").with("RangeRequested", h).with("ActualObjectSize", size)
	if first == "" { // suffix: the last n bytes
		n, err := strconv.ParseInt(last, 10, 64)
		switch {
		case err != nil || n < 0:
			return full, nil
		case n == 0:
			return full, unsatisfiable
		case size == 0:
			return full, nil // S3 serves an empty object whole for a suffix range
		}
		n = min(n, size)
		return byteRange{start: size - n, length: n, partial: true}, nil
	}
	start, err := strconv.ParseInt(first, 10, 64)
	if err != nil || start < 0 {
		return full, nil
	}
	end := size - 1
	if last != "" {
		if end, err = strconv.ParseInt(last, 10, 64); err != nil || end < start {
			return full, nil
		}
	}
	if start >= size {
		return full, unsatisfiable
	}
	end = min(end, size-1)
	return byteRange{start: start, length: end - start + 1, partial: true}, nil
}

// checkPreconditions applies If-Match, If-Unmodified-Since (412) and If-None-Match,
// If-Modified-Since (304) in RFC 9110's order. A non-zero status means: stop here.
func checkPreconditions(h http.Header, v versionRow) (int, error) {
	return preconditions(h, "", v)
}

// preconditions checks the conditional headers whose names start with prefix ("" for a read,
// "X-Amz-Copy-Source-" for the source of a copy). If-Match overrides If-Unmodified-Since, and
// If-None-Match overrides If-Modified-Since, as S3 does.
func preconditions(h http.Header, prefix string, v versionRow) (int, error) {
	modified := v.modified.Truncate(time.Second)
	if im := h.Get(prefix + "If-Match"); im != "" {
		if !etagMatches(im, v.etag) {
			return 0, errPreconditionFailed(prefix + "If-Match")
		}
	} else if t, err := http.ParseTime(h.Get(prefix + "If-Unmodified-Since")); err == nil && modified.After(t) {
		return 0, errPreconditionFailed(prefix + "If-Unmodified-Since")
	}
	if inm := h.Get(prefix + "If-None-Match"); inm != "" {
		if etagMatches(inm, v.etag) {
			return http.StatusNotModified, nil
		}
	} else if t, err := http.ParseTime(h.Get(prefix + "If-Modified-Since")); err == nil && !modified.After(t) {
		return http.StatusNotModified, nil
	}
	return 0, nil
}

// checkCopyPreconditions applies the x-amz-copy-source-if-* headers to the source of a copy, with a read's
// precedence. Where a read would answer 304, a copy fails with 412 Precondition Failed, as S3 documents.
func checkCopyPreconditions(h http.Header, v versionRow) error {
	status, err := preconditions(h, "X-Amz-Copy-Source-", v)
	if status == http.StatusNotModified {
		condition := "x-amz-copy-source-If-None-Match"
		if h.Get("X-Amz-Copy-Source-If-None-Match") == "" {
			condition = "x-amz-copy-source-If-Modified-Since"
		}
		return errPreconditionFailed(condition)
	}
	return err
}

func etagMatches(list, etag string) bool {
	for _, candidate := range strings.Split(list, ",") {
		candidate = strings.TrimPrefix(strings.TrimSpace(candidate), "W/")
		if candidate == "*" || strings.Trim(candidate, `"`) == etag {
			return true
		}
	}
	return false
}
