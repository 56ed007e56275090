package objectstore

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
)

const (
	chunkSigPrefix   = "chunk-signature="
	trailerSigHeader = "x-amz-trailer-signature"
	maxChunkLine     = 4096
)

// chunkedReader decodes an aws-chunked body:
//
//	<hex size>[;chunk-signature=<sig>]\r\n<data>\r\n ... 0[;chunk-signature=<sig>]\r\n
//	[<trailer name>:<value>\r\n ... [x-amz-trailer-signature:<sig>\r\n]]\r\n
//
// When signed, each chunk's signature chains from the previous one (the first from the
// request's seed signature) and is checked as soon as the chunk ends, so a tampered
// chunk fails the upload before the object becomes visible.
type chunkedReader struct {
	br       *bufio.Reader
	sr       *signedRequest
	signed   bool
	trailer  bool
	declared string // the trailer x-amz-trailer announces, lowercased
	chunks   int    // data chunks begun
	lastSize int64  // size of the latest data chunk
	prevSig  string
	sig      string
	left     int64
	hash     hash.Hash
	done     bool
	err      error
	trailers map[string]string
}

func newChunkedReader(body io.Reader, sr *signedRequest, declaredTrailer string) *chunkedReader {
	mode := sr.payloadHash
	return &chunkedReader{
		br:       bufio.NewReaderSize(body, 64<<10),
		sr:       sr,
		signed:   mode == streamingSigned || mode == streamingSignedTrailer,
		trailer:  mode == streamingSignedTrailer || mode == streamingUnsignedTrailer,
		declared: strings.ToLower(strings.TrimSpace(declaredTrailer)),
		prevSig:  sr.signature,
		hash:     sha256.New(),
		trailers: map[string]string{},
	}
}

// minChunkSize is S3's least size of every data chunk but the last.
const minChunkSize = 8192

// errChunked: the aws-chunked framing is broken. S3 says only that the body ended unexpectedly; Detail says where.
func errChunked(format string, args ...any) *apiError {
	return newAPIError(http.StatusBadRequest, "IncompleteBody", "The request body terminated unexpectedly").
		with("Detail", fmt.Sprintf(format, args...))
}

func errMalformedTrailer(format string, args ...any) *apiError {
	return newAPIError(http.StatusBadRequest, "MalformedTrailerError",
		"The request contained trailing data that was not well-formed or did not conform to our published schema.").
		with("Detail", fmt.Sprintf(format, args...))
}

func (c *chunkedReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	for c.left == 0 {
		if c.done {
			return 0, io.EOF
		}
		if err := c.nextChunk(); err != nil {
			c.err = err
			return 0, err
		}
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.br.Read(p)
	c.left -= int64(n)
	if c.signed {
		c.hash.Write(p[:n])
	}
	if c.left == 0 {
		if err := c.endChunk(); err != nil {
			c.err = err
			return n, err
		}
	}
	if errors.Is(err, io.EOF) && c.left > 0 {
		c.err = errChunked("the body ended inside chunk %d", c.chunks)
		return n, c.err
	}
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return n, err
}

// trailerValue returns a trailing header; it is set once Read has returned io.EOF.
func (c *chunkedReader) trailerValue(name string) string { return c.trailers[strings.ToLower(name)] }

func (c *chunkedReader) nextChunk() error {
	line, err := c.readLine()
	if errors.Is(err, io.EOF) {
		return errChunked("the body ended before its final (zero-length) chunk")
	}
	if err != nil {
		return err
	}
	sizeHex, ext, _ := strings.Cut(line, ";")
	size, err := strconv.ParseUint(sizeHex, 16, 62)
	if err != nil || sizeHex == "" || strings.HasPrefix(sizeHex, "+") {
		return errChunked("malformed chunk header %q", truncate(line, 80))
	}
	c.sig = ""
	if c.signed {
		sig, ok := strings.CutPrefix(ext, chunkSigPrefix)
		if !ok || !isHexSHA256(sig) {
			return errChunked("every chunk of a %s body must carry a chunk-signature of 64 hex digits", c.sr.payloadHash)
		}
		c.sig = sig
	}
	c.hash.Reset()
	if size > 0 {
		if c.lastSize > 0 && c.lastSize < minChunkSize {
			return newAPIError(http.StatusBadRequest, "InvalidChunkSizeError",
				"Only the last chunk is allowed to have a size less than 8192 bytes").
				with("Chunk", c.chunks).with("BadChunkSize", c.lastSize)
		}
		c.chunks++
		c.left, c.lastSize = int64(size), int64(size)
		return nil
	}
	c.done = true
	if c.signed {
		if err := c.verifyChunk(); err != nil {
			return err
		}
	}
	return c.readTrailers()
}

// endChunk consumes the CRLF after a chunk's data and checks the chunk's signature.
func (c *chunkedReader) endChunk() error {
	line, err := c.readLine()
	if errors.Is(err, io.EOF) {
		return errChunked("the body ended after the data of chunk %d", c.chunks)
	}
	if err != nil {
		return err
	}
	if line != "" {
		return errChunked("chunk %d is longer than its declared size", c.chunks)
	}
	if c.signed {
		return c.verifyChunk()
	}
	return nil
}

func (c *chunkedReader) verifyChunk() error {
	sts := "AWS4-HMAC-SHA256-PAYLOAD\n" + c.sr.amzDate + "\n" + c.sr.scope + "\n" + c.prevSig + "\n" +
		emptySHA256 + "\n" + hex.EncodeToString(c.hash.Sum(nil))
	if !hmac.Equal([]byte(hmacHex(c.sr.signingKey, sts)), []byte(c.sig)) {
		return errSignatureDoesNotMatch(sts, "")
	}
	c.prevSig = c.sig
	return nil
}

// readTrailers reads what follows the final chunk: nothing but a blank line, or (STREAMING-*-TRAILER) the
// trailing header x-amz-trailer announced, then its x-amz-trailer-signature when signed, then a blank line.
func (c *chunkedReader) readTrailers() error {
	line, err := c.readLine()
	if err != nil {
		return errChunked("the body ended without the blank line that ends it")
	}
	if line == "" {
		if c.trailer && c.declared != "" {
			return errMalformedTrailer("x-amz-trailer announced %s, and the body has no trailer", c.declared)
		}
		return nil
	}
	if !c.trailer {
		return errChunked("unexpected data after the final chunk")
	}
	name, value, ok := strings.Cut(line, ":")
	name, value = strings.ToLower(strings.TrimSpace(name)), strings.TrimSpace(value)
	switch {
	case !ok:
		return errChunked("malformed trailing header %q", truncate(line, 80))
	case name == "" || name != c.declared:
		return errMalformedTrailer("the trailer %q is not the one x-amz-trailer announced (%q)", name, c.declared)
	}
	c.trailers[name] = value
	if c.signed {
		line, err := c.readLine()
		if err != nil {
			return errChunked("the body ended before the x-amz-trailer-signature")
		}
		sigName, sig, _ := strings.Cut(line, ":")
		if sigName != trailerSigHeader || !isHexSHA256(sig) {
			return errChunked("the trailer must be followed by x-amz-trailer-signature:<64 hex digits>")
		}
		sum := sha256.Sum256([]byte(name + ":" + value + "\n"))
		sts := "AWS4-HMAC-SHA256-TRAILER\n" + c.sr.amzDate + "\n" + c.sr.scope + "\n" + c.prevSig + "\n" +
			hex.EncodeToString(sum[:])
		if !hmac.Equal([]byte(hmacHex(c.sr.signingKey, sts)), []byte(sig)) {
			return errSignatureDoesNotMatch(sts, "")
		}
	}
	if line, err := c.readLine(); err != nil || line != "" {
		return errChunked("the body must end with a blank line after its trailer")
	}
	return nil
}

// readLine returns one CRLF-terminated line without its CRLF. It returns io.EOF only when the body ends
// cleanly before the line starts.
func (c *chunkedReader) readLine() (string, error) {
	line, err := c.br.ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull) || len(line) > maxChunkLine:
		return "", errChunked("a header line is longer than %d bytes", maxChunkLine)
	case errors.Is(err, io.EOF) && len(line) == 0:
		return "", io.EOF
	case errors.Is(err, io.EOF):
		return "", errChunked("the body ended inside a header line")
	case err != nil:
		return "", err
	}
	text, ok := strings.CutSuffix(string(line), "\r\n")
	if !ok || strings.ContainsRune(text, '\r') {
		return "", errChunked("lines of an aws-chunked body end with CRLF")
	}
	return text, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
