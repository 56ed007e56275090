package objectstore

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
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
	prevSig  string
	sig      string
	left     int64
	hash     hash.Hash
	done     bool
	err      error
	trailers map[string]string
}

func newChunkedReader(body io.Reader, sr *signedRequest) *chunkedReader {
	mode := sr.payloadHash
	return &chunkedReader{
		br:       bufio.NewReaderSize(body, 64<<10),
		sr:       sr,
		signed:   mode == streamingSigned || mode == streamingSignedTrailer,
		trailer:  mode == streamingSignedTrailer || mode == streamingUnsignedTrailer,
		prevSig:  sr.signature,
		hash:     sha256.New(),
		trailers: map[string]string{},
	}
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
	if errors.Is(err, io.EOF) {
		c.err = errIncompleteBody("The aws-chunked body ended inside a chunk.")
		return n, c.err
	}
	return n, err
}

// trailerValue returns a trailing header; it is set once Read has returned io.EOF.
func (c *chunkedReader) trailerValue(name string) string { return c.trailers[strings.ToLower(name)] }

func (c *chunkedReader) nextChunk() error {
	line, err := c.readLine()
	if err != nil {
		return err
	}
	sizeHex, ext, _ := strings.Cut(line, ";")
	size, err := strconv.ParseInt(strings.TrimSpace(sizeHex), 16, 64)
	if err != nil || size < 0 {
		return errIncompleteBody("Malformed aws-chunked chunk header %q.", truncate(line, 80))
	}
	c.sig = ""
	if sig, ok := strings.CutPrefix(strings.TrimSpace(ext), chunkSigPrefix); ok {
		c.sig = sig
	}
	if c.signed && c.sig == "" {
		return errIncompleteBody("Every chunk of a %s body must carry a chunk-signature.", c.sr.payloadHash)
	}
	c.hash.Reset()
	if size > 0 {
		c.left = size
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
	if err != nil {
		return err
	}
	if line != "" {
		return errIncompleteBody("A chunk of the aws-chunked body is longer than its declared size.")
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

// readTrailers reads the trailing headers after the final chunk up to the blank line
// (or the end of the body, which some clients send instead).
func (c *chunkedReader) readTrailers() error {
	var canonical strings.Builder
	var sig string
	for {
		line, err := c.readLine()
		if errors.Is(err, io.EOF) || err == nil && line == "" {
			break
		}
		if err != nil {
			return err
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return errIncompleteBody("Malformed trailing header %q.", truncate(line, 80))
		}
		name, value = strings.ToLower(strings.TrimSpace(name)), strings.TrimSpace(value)
		if name == trailerSigHeader {
			sig = value
			continue
		}
		c.trailers[name] = value
		canonical.WriteString(name + ":" + value + "\n")
	}
	if !c.signed || !c.trailer {
		return nil
	}
	sum := sha256.Sum256([]byte(canonical.String()))
	sts := "AWS4-HMAC-SHA256-TRAILER\n" + c.sr.amzDate + "\n" + c.sr.scope + "\n" + c.prevSig + "\n" +
		hex.EncodeToString(sum[:])
	if !hmac.Equal([]byte(hmacHex(c.sr.signingKey, sts)), []byte(sig)) {
		return errSignatureDoesNotMatch(sts, "")
	}
	return nil
}

// readLine returns one line without its line ending. It returns io.EOF only when the
// body ends cleanly before the line starts.
func (c *chunkedReader) readLine() (string, error) {
	line, err := c.br.ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull) || len(line) > maxChunkLine:
		return "", errIncompleteBody("An aws-chunked header line is longer than %d bytes.", maxChunkLine)
	case errors.Is(err, io.EOF) && len(line) == 0:
		return "", io.EOF
	case errors.Is(err, io.EOF):
		return "", errIncompleteBody("The aws-chunked body ended inside a header line.")
	case err != nil:
		return "", err
	}
	return strings.TrimRight(string(line), "\r\n"), nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
