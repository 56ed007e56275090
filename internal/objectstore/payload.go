package objectstore

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"net/http"
	"strconv"
	"strings"
)

const (
	maxPutSize   = 5 << 30 // S3's limit for one PUT (and one part)
	maxXMLBody   = 4 << 20 // a 10,000-part CompleteMultipartUpload fits comfortably
	checksumHdr  = "X-Amz-Checksum-"
	crc64NVMERev = 0x9a6c9329ac4bc9b5 // CRC-64/NVME polynomial, bit-reversed as hash/crc64 wants
)

// checksumAlgorithms are the flexible checksums S3 accepts, by header suffix.
var checksumAlgorithms = []string{"crc32", "crc32c", "crc64nvme", "sha1", "sha256", "sha512"}

func newChecksumHash(algo string) hash.Hash {
	switch algo {
	case "crc32":
		return crc32.NewIEEE()
	case "crc32c":
		return crc32.New(crc32.MakeTable(crc32.Castagnoli))
	case "crc64nvme":
		return crc64.New(crc64.MakeTable(crc64NVMERev))
	case "sha1":
		return sha1.New()
	case "sha256":
		return sha256.New()
	case "sha512":
		return sha512.New()
	}
	return nil
}

// payload is a request body decoded and verified the way its client signed it: reading
// it to the end returns an *apiError instead of io.EOF when a hash, chunk signature or
// checksum does not match.
type payload struct {
	io.Reader
	size       int64  // decoded length, -1 if the client did not say
	contentMD5 []byte // from Content-MD5, checked by the writer that computes the MD5
	checksum   *checksumReader
}

// openPayload wraps r.Body according to x-amz-content-sha256 and the checksum headers.
func openPayload(r *http.Request, sr *signedRequest, limit int64) (*payload, error) {
	p := &payload{size: r.ContentLength}
	var chunked *chunkedReader
	switch h := sr.payloadHash; {
	case h == unsignedPayload:
		p.Reader = r.Body
	case h == streamingSigned || h == streamingSignedTrailer || h == streamingUnsignedTrailer:
		chunked = newChunkedReader(r.Body, sr)
		p.Reader, p.size = chunked, -1
		if dl := r.Header.Get("X-Amz-Decoded-Content-Length"); dl != "" {
			n, err := strconv.ParseInt(dl, 10, 64)
			if err != nil || n < 0 {
				return nil, errInvalidArgument("x-amz-decoded-content-length %q must be a non-negative integer.", dl)
			}
			p.size = n
		}
	case isHexSHA256(h):
		p.Reader = &sha256Reader{r: r.Body, h: sha256.New(), want: strings.ToLower(h)}
	default:
		return nil, errInvalidArgument("x-amz-content-sha256 must be UNSIGNED-PAYLOAD, a STREAMING-* value, or the hex SHA-256 of the payload.")
	}
	if p.size > limit {
		return nil, errEntityTooLarge(p.size, limit)
	}
	p.Reader = &lengthReader{r: p.Reader, want: p.size, limit: limit}
	if err := p.addChecksum(r, chunked); err != nil {
		return nil, err
	}
	return p, p.addContentMD5(r)
}

func (p *payload) addChecksum(r *http.Request, chunked *chunkedReader) error {
	var algo, value string
	for _, a := range checksumAlgorithms {
		if v := r.Header.Get(checksumHdr + a); v != "" {
			if algo != "" {
				return errInvalidRequest("Expecting a single x-amz-checksum- header; got %s and %s.", algo, a)
			}
			algo, value = a, v
		}
	}
	want := func() string { return value }
	if algo == "" && chunked != nil {
		trailer := strings.ToLower(strings.TrimSpace(r.Header.Get("X-Amz-Trailer")))
		a, ok := strings.CutPrefix(trailer, strings.ToLower(checksumHdr))
		if !ok || newChecksumHash(a) == nil {
			return nil // no trailer we know how to check; the chunk signatures still hold
		}
		algo, want = a, func() string { return chunked.trailerValue(trailer) }
	}
	if algo == "" {
		return nil
	}
	p.checksum = &checksumReader{r: p.Reader, algo: algo, h: newChecksumHash(algo), want: want}
	p.Reader = p.checksum
	return nil
}

func (p *payload) addContentMD5(r *http.Request) error {
	v := r.Header.Get("Content-Md5")
	if v == "" {
		return nil
	}
	sum, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(sum) != md5.Size {
		return newAPIError(http.StatusBadRequest, "InvalidDigest", "The Content-MD5 you specified is not valid.")
	}
	p.contentMD5 = sum
	return nil
}

// readAll reads a small verified body (XML documents).
func (p *payload) readAll() ([]byte, error) {
	b, err := io.ReadAll(p)
	if err != nil {
		return nil, bodyError(err)
	}
	if p.contentMD5 != nil {
		if sum := md5.Sum(b); string(sum[:]) != string(p.contentMD5) {
			return nil, errBadDigest("Content-MD5")
		}
	}
	return b, nil
}

// bodyError turns a failure to read the body into what the client sees: our own
// verification errors as they are, anything else as an incomplete body.
func bodyError(err error) error {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	e := errIncompleteBody("The request body could not be read completely.")
	e.cause = err
	return e
}

func isHexSHA256(s string) bool {
	if len(s) != sha256.Size*2 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// sha256Reader checks the payload against the x-amz-content-sha256 the client signed.
type sha256Reader struct {
	r    io.Reader
	h    hash.Hash
	want string
}

func (s *sha256Reader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.h.Write(p[:n])
	if errors.Is(err, io.EOF) && hex.EncodeToString(s.h.Sum(nil)) != s.want {
		return n, newAPIError(http.StatusBadRequest, "XAmzContentSHA256Mismatch",
			"The provided 'x-amz-content-sha256' header does not match what was computed.")
	}
	return n, err
}

// lengthReader enforces the declared length (want, -1 if unknown) and the size limit.
type lengthReader struct {
	r           io.Reader
	want, limit int64
	got         int64
}

func (l *lengthReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.got += int64(n)
	switch {
	case l.got > l.limit:
		return n, errEntityTooLarge(l.got, l.limit)
	case l.want >= 0 && l.got > l.want:
		return n, errIncompleteBody("The body is longer than the %d bytes declared.", l.want)
	case errors.Is(err, io.EOF) && l.want >= 0 && l.got < l.want:
		return n, errIncompleteBody("You did not provide the number of bytes declared (%d); got %d.", l.want, l.got)
	}
	return n, err
}

// checksumReader checks a flexible checksum (x-amz-checksum-*), sent as a header or as a
// trailer; want is read only at the end because a trailer arrives after the data.
type checksumReader struct {
	r     io.Reader
	algo  string
	h     hash.Hash
	want  func() string
	value string // base64 of the verified checksum, once the body has been read
}

func (c *checksumReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	if !errors.Is(err, io.EOF) {
		return n, err
	}
	got := base64.StdEncoding.EncodeToString(c.h.Sum(nil))
	want := c.want()
	if want == "" {
		return n, errInvalidRequest("The x-amz-checksum-%s trailer announced in x-amz-trailer was not sent.", c.algo)
	}
	if got != want {
		return n, errBadDigest("x-amz-checksum-" + c.algo)
	}
	c.value = got
	return n, err
}
