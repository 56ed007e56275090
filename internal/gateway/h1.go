package gateway

import (
	"bytes"
	"errors"
	"io"
)

// This file holds the HTTP/1.1 wire handling of the fast path (fast.go): reading a message head off a
// connection, parsing request and response heads without allocating, and finding where a chunked
// body ends. It accepts only what it is sure of; the fast path hands anything else to net/http.

// connReader buffers one connection's input. Unlike bufio.Reader it grows, up to a limit, to hold a
// whole message head, and gives the parsers the head as one slice.
type connReader struct {
	conn io.Reader
	buf  []byte
	r, w int // buf[r:w] is read from conn and not yet consumed
}

const readBufferSize = 4 << 10

var (
	errHeadTooLarge = errors.New("message head too large")
	errBadHead      = errors.New("malformed message head")
)

// head returns the next message head — through the empty line that ends it — without consuming it.
// It reads more when needed, growing the buffer to at most limit bytes (errHeadTooLarge past it).
func (cr *connReader) head(limit int) ([]byte, error) {
	scanned := 0
	for {
		if end := headEnd(cr.buf[cr.r:cr.w], scanned); end > 0 {
			return cr.buf[cr.r : cr.r+end], nil
		}
		if n := cr.w - cr.r; n > 3 {
			scanned = n - 3 // the terminator may straddle what is there and what comes
		}
		if _, err := cr.fill(limit); err != nil {
			return nil, err
		}
	}
}

// fill reads once into the free space, first making room by moving the unread bytes to the front
// or, when the buffer is full of them, by growing it. short reports a read that took less than the
// room it had: the connection has nothing more for now. An error comes only with nothing read.
func (cr *connReader) fill(limit int) (short bool, err error) {
	if cr.r > 0 && cr.w == len(cr.buf) {
		cr.w = copy(cr.buf, cr.buf[cr.r:cr.w])
		cr.r = 0
	}
	if cr.w == len(cr.buf) {
		if len(cr.buf) >= limit {
			return false, errHeadTooLarge
		}
		grown := make([]byte, min(2*len(cr.buf), limit))
		cr.w = copy(grown, cr.buf[cr.r:cr.w])
		cr.r = 0
		cr.buf = grown
	}
	room := len(cr.buf) - cr.w
	n, err := cr.conn.Read(cr.buf[cr.w:])
	cr.w += n
	if n > 0 {
		return n < room, nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return false, err
}

// buffered returns the unread bytes; they stay unread.
func (cr *connReader) buffered() []byte { return cr.buf[cr.r:cr.w] }

func (cr *connReader) discard(n int) {
	cr.r += n
	if cr.r == cr.w {
		cr.r, cr.w = 0, 0
	}
}

// Read drains what is buffered, then reads the connection.
func (cr *connReader) Read(p []byte) (int, error) {
	if cr.r < cr.w {
		n := copy(p, cr.buf[cr.r:cr.w])
		cr.discard(n)
		return n, nil
	}
	return cr.conn.Read(p)
}

// headEnd returns the length of the head at the start of b (through "\r\n\r\n", or a bare
// "\n\n" as RFC 9112 §2.2 allows), or 0 if b does not hold a whole head yet. from skips what an
// earlier call has searched.
func headEnd(b []byte, from int) int {
	for i := from; ; {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return 0
		}
		i += j + 1
		switch {
		case i < len(b) && b[i] == '\n':
			return i + 1
		case i+1 < len(b) && b[i] == '\r' && b[i+1] == '\n':
			return i + 2
		}
	}
}

// field is one header line of a head, as slices of it.
type field struct{ name, value []byte }

// requestHead is a parsed request head; its slices point into the connection's buffer and are
// valid until the next read.
type requestHead struct {
	method, target, host []byte
	fields               []field // all header fields, in order
	close                bool    // Connection: close
	accept               [][]byte
}

// parseRequestHead parses a head the fast path can proxy byte for byte: HTTP/1.1, an origin-form
// target of plain characters, one valid Host, no body, no upgrade, no Expect, no TE, and a
// Connection header naming nothing but close or keep-alive. ok is false for anything else, and the
// request goes to net/http, which serves it or says what is wrong with it.
func parseRequestHead(h []byte, req *requestHead) (ok bool) {
	line, rest, ok := cutLine(h)
	if !ok {
		return false
	}
	sp1 := bytes.IndexByte(line, ' ')
	sp2 := bytes.LastIndexByte(line, ' ')
	if sp1 <= 0 || sp2 <= sp1 || string(line[sp2+1:]) != "HTTP/1.1" {
		return false
	}
	req.method, req.target = line[:sp1], line[sp1+1:sp2]
	if !bodylessMethod(req.method) || !plainTarget(req.target) {
		return false
	}
	req.fields, req.host, req.close, req.accept = req.fields[:0], nil, false, req.accept[:0]
	for len(rest) > 0 {
		if line, rest, ok = cutLine(rest); !ok {
			return false
		}
		if len(line) == 0 {
			break
		}
		f, ok := parseField(line)
		if !ok {
			return false
		}
		switch {
		case asciiEqualFold(f.name, "host"):
			if req.host != nil || !validHostHeader(f.value) {
				return false
			}
			req.host = f.value
		case asciiEqualFold(f.name, "connection"):
			if req.close, ok = connectionClose(f.value); !ok {
				return false
			}
		case asciiEqualFold(f.name, "accept"):
			req.accept = append(req.accept, f.value)
		case asciiEqualFold(f.name, "content-length"), asciiEqualFold(f.name, "transfer-encoding"),
			asciiEqualFold(f.name, "upgrade"), asciiEqualFold(f.name, "expect"), asciiEqualFold(f.name, "te"),
			asciiEqualFold(f.name, "trailer"):
			return false
		}
		req.fields = append(req.fields, f)
	}
	return req.host != nil
}

// bodylessMethod lists the methods the fast path takes: without a body and idempotent, so that a
// request that meets a pooled connection the upstream has just closed can be sent again.
func bodylessMethod(m []byte) bool {
	switch string(m) {
	case "GET", "HEAD", "OPTIONS":
		return true
	}
	return false
}

// plainTarget accepts an origin-form target ("/path?query") of characters that need no escaping
// and mean the same raw and decoded: no '%', so that routing on it matches routing on the decoded
// path, and no ';' in the query, which net/http's proxy would drop.
func plainTarget(t []byte) bool {
	if len(t) == 0 || t[0] != '/' {
		return false
	}
	inQuery := false
	for _, c := range t {
		switch {
		case c == '?':
			inQuery = true
		case c == ';' && inQuery:
			return false
		case !pathByte[c]:
			return false
		}
	}
	return true
}

// pathByte marks RFC 3986's unreserved and sub-delims characters plus ':', '@' and '/'.
var pathByte = func() (t [256]bool) {
	for _, c := range []byte("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/") {
		t[c] = true
	}
	return t
}()

// validHostHeader accepts the host names and IP literals, with an optional port, that routes can
// match; anything else goes to net/http, which refuses invalid ones.
func validHostHeader(h []byte) bool {
	if len(h) == 0 {
		return false
	}
	for _, c := range h {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' || c == ':' || c == '[' || c == ']'
		if !ok {
			return false
		}
	}
	return true
}

// connectionClose reads a Connection header: close reports "close"; ok is false if it names
// anything but close and keep-alive (hop-by-hop headers to strip, or an upgrade).
func connectionClose(v []byte) (close, ok bool) {
	for len(v) > 0 {
		var tok []byte
		tok, v, _ = bytes.Cut(v, []byte{','})
		tok = trimOWS(tok)
		switch {
		case asciiEqualFold(tok, "close"):
			close = true
		case asciiEqualFold(tok, "keep-alive"), len(tok) == 0:
		default:
			return false, false
		}
	}
	return close, true
}

// cutLine splits off the first line, without its CRLF or LF.
func cutLine(b []byte) (line, rest []byte, ok bool) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return nil, nil, false
	}
	line, rest = b[:i], b[i+1:]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, rest, true
}

// parseField splits "Name: value", refusing obsolete line folding, names that are not tokens and
// values with control characters.
func parseField(line []byte) (field, bool) {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return field{}, false
	}
	name, value := line[:i], trimOWS(line[i+1:])
	for _, c := range name {
		if !tokenByte[c] {
			return field{}, false
		}
	}
	for _, c := range value {
		if c < ' ' && c != '\t' || c == 0x7f {
			return field{}, false
		}
	}
	return field{name: name, value: value}, true
}

var tokenByte = func() (t [256]bool) {
	for _, c := range []byte("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") {
		t[c] = true
	}
	return t
}()

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// asciiEqualFold compares b to the lower-case ASCII lower, ignoring b's case.
func asciiEqualFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// responseHead is a parsed response head; its slices point into the upstream connection's buffer.
type responseHead struct {
	version12     bool   // HTTP/1.1 (else 1.0): only 1.1 connections are kept alive
	status        int    // three digits
	statusLine    []byte // code and reason, "200 OK"
	fields        []field
	contentLength int64 // -1 if absent
	chunked       bool
	close         bool // Connection: close
	hasDate       bool
	hop           [][]byte // header names the Connection header lists, to strip
}

// parseResponseHead parses an upstream's response head. It is stricter than it needs to be only
// where a proxy must be: the body's framing (RFC 9112 §6.3).
func parseResponseHead(h []byte, resp *responseHead) error {
	line, rest, ok := cutLine(h)
	if !ok || len(line) < 12 || line[8] != ' ' {
		return errBadHead
	}
	switch string(line[:8]) {
	case "HTTP/1.1":
		resp.version12 = true
	case "HTTP/1.0":
		resp.version12 = false
	default:
		return errBadHead
	}
	resp.statusLine = line[9:]
	code := line[9:12]
	if code[0] < '1' || code[0] > '5' || code[1] < '0' || code[1] > '9' || code[2] < '0' || code[2] > '9' || len(line) > 12 && line[12] != ' ' {
		return errBadHead
	}
	for _, c := range line[12:] { // the reason phrase goes to the client as it is
		if c < ' ' && c != '\t' || c == 0x7f {
			return errBadHead
		}
	}
	resp.status = int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0')
	resp.fields, resp.contentLength, resp.chunked, resp.close, resp.hasDate, resp.hop = resp.fields[:0], -1, false, false, false, resp.hop[:0]
	for len(rest) > 0 {
		if line, rest, ok = cutLine(rest); !ok {
			return errBadHead
		}
		if len(line) == 0 {
			break
		}
		f, ok := parseField(line)
		if !ok {
			return errBadHead
		}
		if err := resp.note(f); err != nil {
			return err
		}
		resp.fields = append(resp.fields, f)
	}
	if resp.chunked {
		resp.contentLength = -1 // Transfer-Encoding overrides Content-Length
	}
	return nil
}

var errBadFraming = errors.New("response has an invalid Content-Length or Transfer-Encoding")

// note records what a header field says about the body's framing and the connection.
func (resp *responseHead) note(f field) error {
	switch {
	case asciiEqualFold(f.name, "content-length"):
		n, ok := parseContentLength(f.value)
		if !ok || resp.contentLength >= 0 && resp.contentLength != n {
			return errBadFraming
		}
		resp.contentLength = n
	case asciiEqualFold(f.name, "transfer-encoding"):
		// Only chunked is understood; a proxy that guessed at another coding could misread where
		// the body ends.
		if !asciiEqualFold(trimOWS(f.value), "chunked") || resp.chunked {
			return errBadFraming
		}
		resp.chunked = true
	case asciiEqualFold(f.name, "connection"):
		for v := f.value; len(v) > 0; {
			var tok []byte
			tok, v, _ = bytes.Cut(v, []byte{','})
			if tok = trimOWS(tok); asciiEqualFold(tok, "close") {
				resp.close = true
			} else if len(tok) > 0 {
				resp.hop = append(resp.hop, tok)
			}
		}
	case asciiEqualFold(f.name, "date"):
		resp.hasDate = true
	}
	return nil
}

// parseContentLength accepts digits, or a list of equal values ("5, 5") as net/http does.
func parseContentLength(v []byte) (int64, bool) {
	n := int64(-1)
	for len(v) > 0 {
		var tok []byte
		tok, v, _ = bytes.Cut(v, []byte{','})
		tok = trimOWS(tok)
		if len(tok) == 0 || len(tok) > 18 {
			return 0, false
		}
		var m int64
		for _, c := range tok {
			if c < '0' || c > '9' {
				return 0, false
			}
			m = m*10 + int64(c-'0')
		}
		if n >= 0 && m != n {
			return 0, false
		}
		n = m
	}
	return n, n >= 0
}

// hopByHop reports whether a response header is for this connection only and is not forwarded:
// RFC 9110 §7.6.1's list, as net/http/httputil's proxy strips it, plus those Connection names.
// Transfer-Encoding and Trailer are kept by the caller when it passes a chunked body through.
func (resp *responseHead) hopByHop(name []byte) bool {
	for _, h := range [...]string{"connection", "proxy-connection", "keep-alive", "proxy-authenticate", "te", "upgrade"} {
		if asciiEqualFold(name, h) {
			return true
		}
	}
	for _, h := range resp.hop {
		if bytes.EqualFold(name, h) {
			return true
		}
	}
	return false
}

// chunkScanner follows a chunked body (RFC 9112 §7.1) as it passes through, to find where it ends:
// the proxy forwards the bytes as they are, framing and trailers included.
type chunkScanner struct {
	state   int
	size    int64 // data bytes left in the current chunk
	lineLen int   // bytes of the current size or trailer line, bounded
	digits  int
	empty   bool // the trailer line so far is empty
}

const (
	chunkSize     = iota // in the hex size, or its extensions, up to LF
	chunkExt             // in chunk extensions
	chunkData            // in data
	chunkDataCR          // after data, want CR or LF
	chunkDataLF          // after data's CR, want LF
	chunkTrailer         // in the trailer section, at the start of or in a line
	chunkDone            // after the last CRLF
	maxChunkLine  = 4096 // a size line or trailer line longer than this is refused
	maxSizeDigits = 15
)

var errBadChunk = errors.New("malformed chunked body")

// scan consumes p's bytes up to the end of the body and returns how many belong to it, how many of
// those are data, and whether the body ended.
func (s *chunkScanner) scan(p []byte) (n int, data int64, done bool, err error) {
	for n < len(p) {
		c := p[n]
		switch s.state {
		case chunkSize:
			switch {
			case hexValue(c) >= 0 && s.digits < maxSizeDigits:
				s.size = s.size<<4 | int64(hexValue(c))
				s.digits++
			case s.digits > 0 && (c == ';' || c == ' ' || c == '\t'):
				s.state = chunkExt
			case s.digits > 0 && (c == '\r' || c == '\n'):
				s.state = chunkExt
				continue // let chunkExt see the line's end
			default:
				return n, data, false, errBadChunk
			}
		case chunkExt:
			if c == '\n' {
				s.digits, s.lineLen = 0, 0
				if s.size == 0 {
					s.state, s.empty = chunkTrailer, true
				} else {
					s.state = chunkData
				}
			}
		case chunkData:
			k := int64(len(p) - n)
			if k > s.size {
				k = s.size
			}
			n += int(k)
			data += k
			if s.size -= k; s.size == 0 {
				s.state = chunkDataCR
			}
			continue
		case chunkDataCR:
			if c != '\r' {
				return n, data, false, errBadChunk
			}
			s.state = chunkDataLF
		case chunkDataLF:
			if c != '\n' {
				return n, data, false, errBadChunk
			}
			s.state = chunkSize
		case chunkTrailer:
			switch c {
			case '\n':
				if s.empty {
					s.state = chunkDone
					return n + 1, data, true, nil
				}
				s.empty, s.lineLen = true, 0
			case '\r':
			default:
				s.empty = false
			}
		}
		if s.state != chunkData {
			if s.lineLen++; s.lineLen > maxChunkLine {
				return n, data, false, errBadChunk
			}
		}
		n++
	}
	return n, data, false, nil
}

func hexValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
