package objectstore

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
)

const (
	maxPutSize = 5 << 30 // S3's limit for one PUT (and one part)
	maxXMLBody = 4 << 20 // a 10,000-part CompleteMultipartUpload fits comfortably
)

// payload is a request body decoded and verified the way its client signed it: reading
// it to the end returns an *apiError instead of io.EOF when a hash, chunk signature or
// checksum does not match.
type payload struct {
	io.Reader
	size       int64  // decoded length, -1 if the client did not say
	contentMD5 []byte // from Content-MD5, checked by the writer that computes the MD5
	checksum   *checksumReader
}

// payloadOptions say how a body is read.
type payloadOptions struct {
	// noChecksum: the x-amz-checksum-* headers describe something else than the body (the object a
	// CompleteMultipartUpload assembles).
	noChecksum bool
}

// openPayload wraps r.Body according to x-amz-content-sha256 and the checksum headers.
func openPayload(r *http.Request, sr *signedRequest, limit int64, opts ...payloadOptions) (*payload, error) {
	var o payloadOptions
	for _, opt := range opts {
		o = opt
	}
	p := &payload{size: r.ContentLength}
	var chunked *chunkedReader
	switch h := sr.payloadHash; {
	case h == unsignedPayload:
		p.Reader = r.Body
	case h == streamingSigned || h == streamingSignedTrailer || h == streamingUnsignedTrailer:
		n, err := strconv.ParseInt(r.Header.Get("X-Amz-Decoded-Content-Length"), 10, 64)
		if err != nil || n < 0 {
			return nil, newAPIError(http.StatusLengthRequired, "MissingContentLength", "You must provide the Content-Length HTTP header.")
		}
		chunked = newChunkedReader(r.Body, sr, r.Header.Get("X-Amz-Trailer"))
		p.Reader, p.size = chunked, n
	case isHexSHA256(h):
		p.Reader = &sha256Reader{r: r.Body, h: sha256.New(), want: strings.ToLower(h)}
	default:
		return nil, errInvalidArgument("x-amz-content-sha256 must be UNSIGNED-PAYLOAD, a STREAMING-* value, or the hex SHA-256 of the payload.")
	}
	if p.size > limit {
		return nil, errEntityTooLarge(p.size, limit)
	}
	p.Reader = &lengthReader{r: p.Reader, want: p.size, limit: limit}
	if !o.noChecksum {
		d, err := declaredChecksum(r.Header, chunked != nil)
		if err != nil {
			return nil, err
		}
		if d.algo != "" {
			want := func() (string, bool) { return d.value, false }
			if d.trailer {
				want = func() (string, bool) { return chunked.trailerValue(checksumHdr + d.algo), true }
			}
			p.checksum = &checksumReader{r: p.Reader, algo: d.algo, h: newChecksumHash(d.algo), want: want}
			p.Reader = p.checksum
		}
	}
	return p, p.addContentMD5(r)
}

// computeChecksum makes the payload compute a checksum of algo when the client declared none.
func (p *payload) computeChecksum(algo string) {
	if p.checksum != nil || algo == "" {
		return
	}
	p.checksum = &checksumReader{r: p.Reader, algo: algo, h: newChecksumHash(algo)}
	p.Reader = p.checksum
}

// declared is the checksum a request declares for its body, as a header or as a trailer.
type declared struct {
	algo, value string
	trailer     bool
}

func declaredChecksum(h http.Header, chunked bool) (declared, error) {
	var d declared
	var headers []string
	for name := range h {
		suffix, ok := strings.CutPrefix(strings.ToLower(name), "x-amz-checksum-")
		if ok && suffix != "type" && suffix != "algorithm" && suffix != "mode" {
			headers = append(headers, suffix)
		}
	}
	trailer := strings.ToLower(strings.TrimSpace(h.Get("X-Amz-Trailer")))
	if trailer != "" && chunked {
		algo, ok := strings.CutPrefix(trailer, "x-amz-checksum-")
		if !ok || !knownAlgorithm(algo) {
			return d, errInvalidRequest("The value specified in the x-amz-trailer header is not supported")
		}
		d = declared{algo: algo, trailer: true}
	}
	count := len(headers)
	if d.trailer {
		count++
	}
	switch {
	case count > 1:
		return d, errInvalidRequest("Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
	case len(headers) == 1 && !knownAlgorithm(headers[0]):
		return d, errInvalidRequest("The algorithm type you specified in x-amz-checksum- header is invalid.")
	case len(headers) == 1:
		d = declared{algo: headers[0], value: h.Get(checksumHdr + headers[0])}
		if !validChecksum(d.algo, d.value) {
			return d, errInvalidChecksumHeader("x-amz-checksum-" + d.algo)
		}
	}
	if sdk := strings.ToLower(h.Get(sdkChecksumAlgoHdr)); sdk != "" {
		switch {
		case !knownAlgorithm(sdk):
			return d, errInvalidChecksumAlgorithm()
		case d.algo == "":
			return d, errInvalidRequest("x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer headers were found.")
		case sdk != d.algo:
			return d, errInvalidChecksumHeader("x-amz-sdk-checksum-algorithm")
		}
	}
	return d, nil
}

func (p *payload) addContentMD5(r *http.Request) error {
	if _, ok := r.Header["Content-Md5"]; !ok {
		return nil
	}
	v := r.Header.Get("Content-Md5")
	sum, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(sum) != md5.Size {
		return newAPIError(http.StatusBadRequest, "InvalidDigest", "The Content-Md5 you specified is not valid.").with("Content-MD5", v)
	}
	p.contentMD5 = sum
	return nil
}

// checkContentMD5 compares the body's MD5 with the Content-MD5 the client sent, if any.
func (p *payload) checkContentMD5(sum []byte) error {
	if p.contentMD5 == nil || string(sum) == string(p.contentMD5) {
		return nil
	}
	return newAPIError(http.StatusBadRequest, "BadDigest", "The Content-MD5 you specified did not match what we received.").
		with("CalculatedDigest", base64.StdEncoding.EncodeToString(sum)).with("ExpectedDigest", hex.EncodeToString(p.contentMD5))
}

// readAll reads a small verified body (XML documents).
func (p *payload) readAll() ([]byte, error) {
	b, err := io.ReadAll(p)
	if err != nil {
		return nil, bodyError(err)
	}
	sum := md5.Sum(b)
	return b, p.checkContentMD5(sum[:])
}

// bodyError turns a failure to read the body into what the client sees: our own
// verification errors as they are, anything else as an incomplete body.
func bodyError(err error) error {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	e := errIncompleteBody("The request body terminated unexpectedly")
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
	if errors.Is(err, io.EOF) {
		if got := hex.EncodeToString(s.h.Sum(nil)); got != s.want {
			return n, errContentSHA256Mismatch(s.want, got)
		}
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
	case err != nil && !errors.Is(err, io.EOF):
		return n, err // the body's own error (a broken aws-chunked framing, say) says more than its length
	case l.got > l.limit:
		return n, errEntityTooLarge(l.got, l.limit)
	case l.want >= 0 && l.got > l.want, errors.Is(err, io.EOF) && l.want >= 0 && l.got < l.want:
		return n, errIncompleteBody("You did not provide the number of bytes specified by the Content-Length HTTP header")
	}
	return n, err
}

// checksumReader checks a flexible checksum (x-amz-checksum-*), sent as a header or as a
// trailer, or computes one the client did not send (want nil); want is read only at the end
// because a trailer arrives after the data.
type checksumReader struct {
	r     io.Reader
	algo  string
	h     hash.Hash
	want  func() (value string, trailer bool)
	value string // base64 of the verified checksum, once the body has been read
}

func (c *checksumReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	if !errors.Is(err, io.EOF) {
		return n, err
	}
	got := base64.StdEncoding.EncodeToString(c.h.Sum(nil))
	if c.want != nil {
		want, trailer := c.want()
		switch {
		case trailer && want == "":
			return n, errInvalidRequest("The x-amz-checksum-%s trailer announced in x-amz-trailer was not sent.", c.algo)
		case trailer && !validChecksum(c.algo, want):
			return n, errInvalidRequest("Value for x-amz-checksum-%s trailing header is invalid.", c.algo)
		case got != want:
			return n, errChecksumBadDigest(c.algo)
		}
	}
	c.value = got
	return n, err
}
