package gateway

import (
	"bytes"
	"maps"
	"net/http"
	"slices"
	"strconv"
)

// maxOutBuffer bounds the body bytes gathered behind a response head for a single write; past it
// the body streams.
const maxOutBuffer = 64 << 10

// fastRoute is what the fast path needs of a route, computed once; a route the fast path cannot
// serve byte for byte (an https upstream, credentials or escapes in its URL) has none.
type fastRoute struct {
	addr  string // host:port to dial
	host  string // the Host header for the upstream
	base  string // the upstream's base path, without a trailing slash
	strip string // the prefix to strip, without a trailing slash; empty if none
}

// appendUpstreamHead writes the request head for the upstream: the target joined to the upstream's
// base path, the upstream's Host (or the client's, with PreserveHost), the client's end-to-end
// headers, and X-Forwarded-For, -Host and -Proto from this hop only — what the client sent in them,
// or in Forwarded, is dropped, as net/http's proxy does.
func appendUpstreamHead(b []byte, req *requestHead, rt *route, clientIP string) []byte {
	fr := rt.fast
	b = append(b, req.method...)
	b = append(b, ' ')
	b = append(b, fr.base...)
	target := req.target
	if fr.strip != "" {
		target = bytes.TrimPrefix(target, []byte(fr.strip))
		if len(target) == 0 || target[0] != '/' {
			b = append(b, '/')
		}
	}
	b = append(b, target...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	if rt.PreserveHost {
		b = append(b, req.host...)
	} else {
		b = append(b, fr.host...)
	}
	b = append(b, "\r\n"...)
	for _, f := range req.fields {
		if requestHopOrForwarded(f.name, fr.strip != "") {
			continue
		}
		b = append(b, f.name...)
		b = append(b, ": "...)
		b = append(b, f.value...)
		b = append(b, "\r\n"...)
	}
	b = append(b, "X-Forwarded-For: "...)
	b = append(b, clientIP...)
	b = append(b, "\r\nX-Forwarded-Host: "...)
	b = append(b, req.host...)
	b = append(b, "\r\nX-Forwarded-Proto: http\r\n"...)
	if fr.strip != "" {
		b = append(b, "X-Forwarded-Prefix: "...)
		b = append(b, fr.strip...)
		b = append(b, "\r\n"...)
	}
	return append(b, "\r\n"...)
}

// requestHopOrForwarded lists the request headers not passed on: Host (written first), hop-by-hop
// ones, and the forwarding headers this hop sets itself.
func requestHopOrForwarded(name []byte, stripping bool) bool {
	if len(name) == 0 {
		return true
	}
	switch name[0] | 0x20 {
	case 'h':
		return asciiEqualFold(name, "host")
	case 'c':
		return asciiEqualFold(name, "connection")
	case 'k':
		return asciiEqualFold(name, "keep-alive")
	case 'p':
		return asciiEqualFold(name, "proxy-connection") || asciiEqualFold(name, "proxy-authorization") || asciiEqualFold(name, "proxy-authenticate")
	case 'f':
		return asciiEqualFold(name, "forwarded")
	case 'x':
		return asciiEqualFold(name, "x-forwarded-for") || asciiEqualFold(name, "x-forwarded-host") || asciiEqualFold(name, "x-forwarded-proto") ||
			stripping && asciiEqualFold(name, "x-forwarded-prefix")
	}
	return false
}

// appendClientHead writes the response head for the client: HTTP/1.1, the upstream's status and
// end-to-end headers, a Date if the upstream sent none, chunked framing when the upstream's body
// runs until it closes, and Connection: close when this is the connection's last response.
func appendClientHead(b []byte, resp *responseHead, rechunk, close bool, appendDate func([]byte) []byte) []byte {
	b = append(b, "HTTP/1.1 "...)
	b = append(b, resp.statusLine...)
	b = append(b, "\r\n"...)
	for _, f := range resp.fields {
		if resp.hopByHop(f.name) || !resp.chunked && (asciiEqualFold(f.name, "transfer-encoding") || asciiEqualFold(f.name, "trailer")) {
			continue
		}
		if resp.chunked && asciiEqualFold(f.name, "content-length") {
			continue // a length beside chunked framing would let the client read the body differently
		}
		b = append(b, f.name...)
		b = append(b, ": "...)
		b = append(b, f.value...)
		b = append(b, "\r\n"...)
	}
	if !resp.hasDate && resp.status >= 200 {
		b = append(b, "Date: "...)
		b = appendDate(b)
		b = append(b, "\r\n"...)
	}
	if rechunk {
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	}
	if close {
		b = append(b, "Connection: close\r\n"...)
	}
	return append(b, "\r\n"...)
}

// bodyCopier frames one response body on its way to the client.
type bodyCopier interface {
	// take appends to out the bytes of p that belong to the body, keeping out within limit, and
	// returns how many of p it took, how many body data bytes those hold, and whether the body is
	// complete.
	take(out, p []byte, limit int) (_ []byte, n int, data int64, done bool, err error)
	// want bounds the next read from the upstream, so that no byte past the body is read.
	want(n int) int
	// endsAtEOF is true of a body that the upstream ends by closing the connection.
	endsAtEOF() bool
	// finish appends what follows the last byte of a body that ends at EOF.
	finish(out []byte) []byte
}

// doneBody is the empty body of a HEAD response, a 204 or a 304.
type doneBody struct{}

func (doneBody) take(out, _ []byte, _ int) ([]byte, int, int64, bool, error) {
	return out, 0, 0, true, nil
}
func (doneBody) want(int) int             { return 0 }
func (doneBody) endsAtEOF() bool          { return false }
func (doneBody) finish(out []byte) []byte { return out }

// lengthBody is a body of Content-Length bytes.
type lengthBody struct{ left int64 }

func (b *lengthBody) take(out, p []byte, limit int) ([]byte, int, int64, bool, error) {
	k := int64(max(0, min(len(p), limit-len(out))))
	k = min(k, b.left)
	b.left -= k
	return append(out, p[:k]...), int(k), k, b.left == 0, nil
}
func (b *lengthBody) want(n int) int           { return int(min(int64(n), b.left)) }
func (b *lengthBody) endsAtEOF() bool          { return false }
func (b *lengthBody) finish(out []byte) []byte { return out }

// chunkedBody passes a chunked body through as it is, framing and trailers included.
type chunkedBody struct{ scan chunkScanner }

func (b *chunkedBody) take(out, p []byte, limit int) ([]byte, int, int64, bool, error) {
	p = p[:max(0, min(len(p), limit-len(out)))]
	n, data, done, err := b.scan.scan(p)
	return append(out, p[:n]...), n, data, done, err
}
func (b *chunkedBody) want(n int) int           { return n }
func (b *chunkedBody) endsAtEOF() bool          { return false }
func (b *chunkedBody) finish(out []byte) []byte { return out }

// rechunkedBody is a body the upstream ends by closing the connection; the client gets it chunked,
// so that its connection stays open.
type rechunkedBody struct{}

const chunkFraming = 16 + 4 // a size line and the CRLF after the data

func (rechunkedBody) take(out, p []byte, limit int) ([]byte, int, int64, bool, error) {
	p = p[:max(0, min(len(p), limit-len(out)-chunkFraming))]
	if len(p) == 0 {
		return out, 0, 0, false, nil
	}
	out = strconv.AppendInt(out, int64(len(p)), 16)
	out = append(out, "\r\n"...)
	out = append(out, p...)
	return append(out, "\r\n"...), len(p), int64(len(p)), false, nil
}
func (rechunkedBody) want(n int) int           { return n - chunkFraming }
func (rechunkedBody) endsAtEOF() bool          { return true }
func (rechunkedBody) finish(out []byte) []byte { return append(out, "0\r\n\r\n"...) }

// pageWriter holds an error page the fast path sends: pages are written for net/http's
// ResponseWriter, and are small.
type pageWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *pageWriter) Header() http.Header { return w.header }

func (w *pageWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *pageWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}

// appendResponse serializes the page, with the body unless withBody is false (HEAD).
func (w *pageWriter) appendResponse(b []byte, appendDate func([]byte) []byte, withBody, close bool) []byte {
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(w.status), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(w.status)...)
	b = append(b, "\r\n"...)
	for _, k := range slices.Sorted(maps.Keys(w.header)) {
		for _, v := range w.header[k] {
			b = append(b, k+": "+v+"\r\n"...)
		}
	}
	b = append(b, "Content-Length: "...)
	b = strconv.AppendInt(b, int64(w.body.Len()), 10)
	b = append(b, "\r\nDate: "...)
	b = appendDate(b)
	b = append(b, "\r\n"...)
	if close {
		b = append(b, "Connection: close\r\n"...)
	}
	b = append(b, "\r\n"...)
	if withBody {
		b = append(b, w.body.Bytes()...)
	}
	return b
}
