package objectstore

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
)

// copySourceRange parses x-amz-copy-source-range ("bytes=first-last", both inclusive) against the source's size.
func copySourceRange(v string, size int64) (start, length int64, err error) {
	if v == "" {
		return 0, size, nil
	}
	invalid := errBadArgument("x-amz-copy-source-range", v,
		"The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy")
	spec, ok := strings.CutPrefix(v, "bytes=")
	if !ok {
		return 0, 0, invalid
	}
	a, b, ok := strings.Cut(spec, "-")
	if !ok {
		return 0, 0, invalid
	}
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || first < 0 || last < first {
		return 0, 0, invalid
	}
	if last >= size {
		return 0, 0, errBadArgument("x-amz-copy-source-range", strconv.FormatInt(size, 10),
			fmt.Sprintf("Range specified is not valid for source object of size: %d", size))
	}
	return first, last - first + 1, nil
}

// uploadPartCopy serves UploadPartCopy: a part made of (a range of) an existing object, which may be in
// another bucket the key may use.
func (s *Store) uploadPartCopy(ctx context.Context, rq *request) error {
	if _, err := mustBucket(ctx, s.db, rq.bucket); err != nil {
		return err
	}
	n, err := partNumberParam(rq)
	if err != nil {
		return err
	}
	src, err := parseCopySource(rq.r.Header.Get("X-Amz-Copy-Source"))
	if err != nil {
		return err
	}
	uploadID := rq.query().Get("uploadId")
	u, err := getUpload(ctx, s.db, rq.bucket, rq.key, uploadID)
	if err != nil {
		return err
	}
	if !rq.sr.cred.mayUse(src.bucket) {
		return errAccessDenied("Access Denied: this access key may not read the copy source bucket %q.", src.bucket)
	}
	if _, err := mustBucket(ctx, s.db, src.bucket); err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		from, err := findObject(ctx, s.db, src.bucket, src.key, src.versionID)
		if err != nil {
			return err
		}
		if err := checkCopyPreconditions(rq.r.Header, from); err != nil {
			return err
		}
		start, length, err := copySourceRange(rq.r.Header.Get("X-Amz-Copy-Source-Range"), from.size)
		if err != nil {
			return err
		}
		f, err := s.blobs.open(from.blob)
		if errors.Is(err, fs.ErrNotExist) && attempt < 3 {
			continue // overwritten between the lookup and the open: look again
		}
		if err != nil {
			return errInternal(fmt.Errorf("opening blob of %q: %w", from.key, err))
		}
		err = s.copyPart(ctx, rq, u, n, from, io.NewSectionReader(f, start, length), length)
		f.Close()
		return err
	}
}

// copyPart stores the bytes of r as part n of upload u and answers with a CopyPartResult.
func (s *Store) copyPart(ctx context.Context, rq *request, u uploadRow, n int, from versionRow, r io.Reader, size int64) error {
	p := &payload{Reader: r, size: size}
	p.computeChecksum(u.checksumAlgo)
	blob, err := s.blobs.write(p)
	if err != nil {
		return err
	}
	part := partRow{number: n, size: blob.size, etag: hex.EncodeToString(blob.md5), blob: blob.id, modified: s.now().UTC()}
	if blob.checksum != nil {
		part.checksum = blob.checksum.value
	}
	if err := s.commitPart(ctx, rq, u.id, part); err != nil {
		s.dropBlob(ctx, blob.id)
		return err
	}
	if from.versionID != "" && from.versionID != nullVersion {
		rq.w.Header().Set("x-amz-copy-source-version-id", from.versionID)
	}
	out := copyPartResult{Xmlns: s3Namespace, ETag: quoteETag(part.etag), LastModified: s3Time(part.modified)}
	if part.checksum != "" {
		out.checksumFields = checksumsOf(u.checksumAlgo, part.checksum)
	}
	writeXML(rq.w, http.StatusOK, out)
	return nil
}
