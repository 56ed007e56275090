package gateway

import (
	"bytes"
	"errors"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync/atomic"
	"time"
)

// fastConn is one client connection on the fast path, served by one goroutine.
type fastConn struct {
	s        *fastServer
	conn     net.Conn
	in       connReader
	out      []byte // the head, and as much body as fits, for one write
	req      requestHead
	resp     responseHead
	clientIP string
	active   atomic.Bool // serving a request, not waiting for one
	handed   bool        // given to net/http
	bodies   struct {    // the response body's framing, kept here to spare an allocation a request
		length  lengthBody
		chunked chunkedBody
	}

	host, hostKey string // the last Host header and its table key: most connections keep one host
	dateSec       int64
	date          []byte // the Date header's value for dateSec
}

// fastUpstream is a pooled keep-alive connection to an upstream.
type fastUpstream struct {
	conn net.Conn
	in   connReader
}

func (u *fastUpstream) Close() error { return u.conn.Close() }

const (
	// maxOutBuffer bounds the body bytes gathered behind the head for a single write; past it the
	// body streams.
	maxOutBuffer = 64 << 10
	// watchAfter is how long a request waits for the upstream's response head before the gateway
	// also watches the client, so that an upstream on a long poll learns when the client leaves.
	watchAfter = 200 * time.Millisecond
)

func newFastConn(s *fastServer, c net.Conn) *fastConn {
	fc := &fastConn{s: s, conn: c, in: connReader{conn: c, buf: make([]byte, readBufferSize)}, out: make([]byte, 0, readBufferSize)}
	fc.clientIP, _, _ = net.SplitHostPort(c.RemoteAddr().String())
	fc.active.Store(true)
	return fc
}

// serve reads and answers requests until the client leaves, asks to close, or the connection goes
// to net/http.
func (fc *fastConn) serve() {
	defer func() {
		if !fc.handed {
			fc.conn.Close()
		}
		fc.s.untrack(fc)
	}()
	for {
		head, ok := fc.readHead()
		if !ok {
			return
		}
		if head == nil || !parseRequestHead(head, &fc.req) {
			fc.handOff()
			return
		}
		rt := fc.route()
		if rt == nil || rt.fast == nil {
			fc.handOff() // net/http writes the "not routed" page, or proxies what the fast path cannot
			return
		}
		fc.in.discard(len(head))
		if !fc.proxy(rt, rt.fast) || fc.req.close || fc.s.closing.Load() {
			return
		}
	}
}

// readHead waits for the next request head. ok is false when the connection should close (client
// gone, idle too long, shutting down); a nil head with ok means net/http should take over (the
// head is larger than the fast path reads).
func (fc *fastConn) readHead() (head []byte, ok bool) {
	if len(fc.in.buffered()) == 0 {
		fc.active.Store(false)
		if fc.s.closing.Load() {
			return nil, false
		}
		fc.conn.SetReadDeadline(time.Now().Add(idleTimeout))
		err := fc.in.fill(readBufferSize)
		fc.active.Store(true)
		if err != nil {
			return nil, false
		}
	}
	if headEnd(fc.in.buffered(), 0) == 0 {
		fc.conn.SetReadDeadline(time.Now().Add(readHeaderTimeout))
	}
	head, err := fc.in.head(readBufferSize)
	switch {
	case errors.Is(err, errHeadTooLarge):
		return nil, true
	case err != nil:
		return nil, false
	}
	return head, true
}

func (fc *fastConn) handOff() {
	fc.handed = true
	fc.conn.SetReadDeadline(time.Time{})
	fc.s.handoff.push(&handedConn{Conn: fc.conn, r: &fc.in})
}

// route looks the request up in the route table.
func (fc *fastConn) route() *route {
	if string(fc.req.host) != fc.host {
		fc.host = string(fc.req.host)
		fc.hostKey = normalizeHost(fc.host)
	}
	path, _, _ := bytes.Cut(fc.req.target, []byte{'?'})
	return fc.s.g.routes.Load().lookup(fc.hostKey, string(path))
}

// fastRoute is what the fast path needs of a route, computed once; a route the fast path cannot
// serve byte for byte (an https upstream, credentials or escapes in its URL) has none.
type fastRoute struct {
	addr  string // host:port to dial
	host  string // the Host header for the upstream
	base  string // the upstream's base path, without a trailing slash
	strip string // the prefix to strip, without a trailing slash; empty if none
}

// proxy sends the parsed request to rt's upstream and relays the response. It reports whether the
// client connection can serve another request.
func (fc *fastConn) proxy(rt *route, fr *fastRoute) bool {
	start := time.Now()
	ex := exchange{fc: fc, rt: rt, start: start}
	keep := ex.run(fr)
	if a := fc.s.g.access; a != nil {
		path, _, _ := bytes.Cut(fc.req.target, []byte{'?'})
		a.line(start, fc.host, string(fc.req.method), string(path), ex.status, ex.bytes, rt)
	}
	return keep
}

// exchange is one request's trip to the upstream and back.
type exchange struct {
	fc     *fastConn
	rt     *route
	start  time.Time
	up     *fastUpstream
	watch  *clientWatch
	status int   // sent to the client, for the access log
	bytes  int64 // body bytes sent to the client
}

func (ex *exchange) run(fr *fastRoute) bool {
	fc := ex.fc
	fc.out = fc.appendUpstreamHead(fc.out[:0], ex.rt, fr)
	resp, err := ex.roundTrip(fr)
	if err != nil {
		return ex.fail(err)
	}
	keep, err := ex.relay(resp)
	if ex.watch != nil {
		if gone := ex.watch.stop(); gone {
			keep = false
		}
	}
	if err != nil {
		ex.up.conn.Close()
		return false
	}
	return keep
}

// roundTrip writes the request head on a pooled connection and reads the final response head,
// forwarding interim 1xx responses to the client. A pooled connection the upstream closed while idle
// fails before any byte of the response; the request is idempotent and body-less, so it is sent
// again on a fresh connection, once.
func (ex *exchange) roundTrip(fr *fastRoute) (*responseHead, error) {
	for attempt := 0; ; attempt++ {
		up, reused, err := ex.fc.s.upstream(fr.addr, attempt > 0)
		if err != nil {
			return nil, err
		}
		ex.up = up
		resp, err := ex.send()
		if err == nil {
			return resp, nil
		}
		up.conn.Close()
		// (Not once the client is watched: the watch is tied to this connection.)
		if reused && attempt == 0 && errors.Is(err, errNothingRead) && ex.watch == nil {
			ex.fc.s.pool.drop(fr.addr)
			continue
		}
		return nil, err
	}
}

func (s *fastServer) upstream(addr string, fresh bool) (*fastUpstream, bool, error) {
	if !fresh {
		if up, ok := s.pool.get(addr); ok {
			return up, true, nil
		}
	}
	c, err := s.dialer.Dial("tcp", addr)
	if err != nil {
		return nil, false, err
	}
	return &fastUpstream{conn: c, in: connReader{conn: c, buf: make([]byte, readBufferSize)}}, false, nil
}

// send writes the request head and reads the response head. The upstream gets the gateway's
// timeout for its head; past watchAfter, the client is watched too, so that one who leaves
// cancels the wait.
func (ex *exchange) send() (*responseHead, error) {
	up, fc := ex.up, ex.fc
	if _, err := up.conn.Write(fc.out); err != nil {
		return nil, errors.Join(errNothingRead, err)
	}
	deadline := ex.start.Add(fc.s.g.timeout)
	first := time.Now().Add(watchAfter)
	if first.After(deadline) {
		first = deadline
	}
	up.conn.SetReadDeadline(first)
	for {
		head, err := up.in.head(maxResponseHeaderBytes)
		if err != nil {
			if isTimeout(err) && ex.watch == nil && time.Now().Before(deadline) {
				up.conn.SetReadDeadline(deadline) // before the watch, which may cut it short
				ex.watch = fc.watchClient(up.conn)
				continue
			}
			if errors.Is(err, errHeadTooLarge) {
				return nil, errors.New("upstream response headers exceed " + strconv.Itoa(maxResponseHeaderBytes) + " bytes")
			}
			if len(up.in.buffered()) == 0 && !isTimeout(err) {
				return nil, errors.Join(errNothingRead, err)
			}
			return nil, err
		}
		if err := parseResponseHead(head, &fc.resp); err != nil {
			return nil, err
		}
		up.in.discard(len(head))
		switch {
		case fc.resp.status == http.StatusSwitchingProtocols:
			return nil, errors.New("upstream switched protocols on a request that asked for no upgrade")
		case fc.resp.status >= 200:
			return &fc.resp, nil
		}
		// 103 Early Hints and the like go to the client at once, as net/http's proxy sends them.
		if _, err := fc.conn.Write(fc.appendClientHead(fc.out[:0], &fc.resp, false, false)); err != nil {
			return nil, err
		}
	}
}

func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// clientGone reports whether the watch saw the client leave.
func (ex *exchange) clientGone() bool { return ex.watch != nil && ex.watch.gone.Load() }

// fail answers a request the upstream did not: a 502 or 504 page, as the net/http path writes it,
// or only an access log entry if the client has gone.
func (ex *exchange) fail(err error) bool {
	fc := ex.fc
	if ex.watch != nil {
		ex.watch.stop()
	}
	if ex.clientGone() {
		ex.status = statusClientClosed
		return false
	}
	h := http.Header{"X-Forwarded-Host": {fc.host}}
	for _, a := range fc.req.accept {
		h.Add("Accept", string(a))
	}
	w := &pageWriter{header: http.Header{}}
	fc.s.g.upstreamError(w, &http.Request{Method: string(fc.req.method), Header: h}, ex.rt, err)
	withBody := string(fc.req.method) != http.MethodHead
	ex.status = w.status
	if withBody {
		ex.bytes = int64(w.body.Len())
	}
	fc.out = w.appendResponse(fc.out[:0], fc.appendDate, withBody, fc.req.close)
	_, werr := fc.conn.Write(fc.out)
	return werr == nil
}

// relay sends the response head and body to the client. It reports whether the client connection
// can be kept; an error means the upstream connection is unusable (the caller closes it).
func (ex *exchange) relay(resp *responseHead) (keep bool, err error) {
	fc, up := ex.fc, ex.up
	noBody := string(fc.req.method) == http.MethodHead || resp.status == http.StatusNoContent || resp.status == http.StatusNotModified
	untilClose := !noBody && !resp.chunked && resp.contentLength < 0
	fc.out = fc.appendClientHead(fc.out[:0], resp, untilClose, fc.req.close)
	ex.status = resp.status
	var body bodyCopier
	switch {
	case noBody:
		body = doneBody{}
	case resp.chunked:
		fc.bodies.chunked = chunkedBody{}
		body = &fc.bodies.chunked
	case untilClose:
		body = rechunkedBody{}
	default:
		fc.bodies.length = lengthBody{left: resp.contentLength}
		body = &fc.bodies.length
	}
	done, err := ex.copyBody(body)
	if err != nil {
		return false, err
	}
	reusable := done && resp.version12 && !resp.close && !untilClose && len(up.in.buffered()) == 0
	if reusable && !ex.clientGone() {
		fc.s.pool.put(ex.rt.fast.addr, up)
	} else {
		up.conn.Close()
	}
	return done && !ex.clientGone(), nil
}

// copyBody sends fc.out and the body. Whatever of the body the upstream has already sent goes out
// in the same write as the head; the rest streams as it comes, each read written at once, so that
// a slow download or a stream of events is never held back.
func (ex *exchange) copyBody(body bodyCopier) (done bool, err error) {
	fc, up := ex.fc, ex.up
	var n int
	var sent int64
	fc.out, n, sent, done, err = body.take(fc.out, up.in.buffered(), maxOutBuffer)
	if err != nil {
		return false, err
	}
	up.in.discard(n)
	if _, werr := fc.conn.Write(fc.out); werr != nil {
		return false, errClientGone
	}
	ex.bytes += sent
	if done {
		return true, nil
	}
	// The rest is streamed: no deadline (the timeout covers the head only), and the client is
	// watched, so that a client who leaves mid-body releases the upstream.
	up.conn.SetReadDeadline(time.Time{})
	if ex.watch == nil {
		ex.watch = fc.watchClient(up.conn)
	} else if ex.clientGone() {
		return false, errClientGone // the watch's cut came before the deadline was cleared
	}
	buf := fc.s.g.buffers.Get()
	defer fc.s.g.buffers.Put(buf)
	for !done {
		r, rerr := up.in.Read(buf[:body.want(len(buf))])
		fc.out, n, sent, done, err = body.take(fc.out[:0], buf[:r], maxOutBuffer)
		if err == nil && n < r {
			err = errors.New("upstream sent bytes after the response body")
		}
		if len(fc.out) > 0 {
			if _, werr := fc.conn.Write(fc.out); werr != nil {
				return false, errClientGone
			}
			ex.bytes += sent
		}
		switch {
		case err != nil:
			return false, err
		case done:
		case errors.Is(rerr, io.EOF) && body.endsAtEOF():
			if _, werr := fc.conn.Write(body.finish(fc.out[:0])); werr != nil {
				return false, errClientGone
			}
			return true, nil // relay does not pool a connection whose body ended with it
		case rerr != nil:
			return false, rerr
		}
	}
	return true, nil
}

var errClientGone = errors.New("client gone")

// appendUpstreamHead writes the request head for the upstream: the target joined to the upstream's
// base path, the upstream's Host (or the client's, with PreserveHost), the client's end-to-end
// headers, and X-Forwarded-For, -Host and -Proto from this hop only — what the client sent in them,
// or in Forwarded, is dropped, as net/http's proxy does.
func (fc *fastConn) appendUpstreamHead(b []byte, rt *route, fr *fastRoute) []byte {
	req := &fc.req
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
	b = append(b, fc.clientIP...)
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
func (fc *fastConn) appendClientHead(b []byte, resp *responseHead, rechunk, close bool) []byte {
	b = append(b, "HTTP/1.1 "...)
	b = append(b, resp.statusLine...)
	b = append(b, "\r\n"...)
	for _, f := range resp.fields {
		if resp.hopByHop(f.name) || !resp.chunked && (asciiEqualFold(f.name, "transfer-encoding") || asciiEqualFold(f.name, "trailer")) {
			continue
		}
		b = append(b, f.name...)
		b = append(b, ": "...)
		b = append(b, f.value...)
		b = append(b, "\r\n"...)
	}
	if !resp.hasDate && resp.status >= 200 {
		b = append(b, "Date: "...)
		b = fc.appendDate(b)
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

// appendDate appends the current time in HTTP's format, formatted once a second per connection.
func (fc *fastConn) appendDate(b []byte) []byte {
	now := time.Now()
	if sec := now.Unix(); sec != fc.dateSec || fc.date == nil {
		fc.dateSec = sec
		fc.date = now.UTC().AppendFormat(fc.date[:0], http.TimeFormat)
	}
	return append(b, fc.date...)
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

// clientWatch reads from the client while the gateway waits on the upstream. The client sends
// nothing then (its request has no body), so a read that ends means the client left: the watch
// cuts the upstream's wait short. A byte that does come — a pipelined request — is kept.
type clientWatch struct {
	fc       *fastConn
	done     chan struct{}
	stopping atomic.Bool
	gone     atomic.Bool
	stopped  bool
	b        [1]byte
	n        int
}

func (fc *fastConn) watchClient(up net.Conn) *clientWatch {
	w := &clientWatch{fc: fc, done: make(chan struct{})}
	fc.conn.SetReadDeadline(time.Time{}) // the head's deadline would end the watch early
	go func() {
		defer close(w.done)
		n, err := fc.conn.Read(w.b[:])
		w.n = n
		if err != nil && !w.stopping.Load() {
			w.gone.Store(true)
			up.SetReadDeadline(aLongTimeAgo)
		}
	}()
	return w
}

// stop ends the watch and reports whether the client left.
func (w *clientWatch) stop() bool {
	if !w.stopped {
		w.stopped = true
		w.stopping.Store(true)
		w.fc.conn.SetReadDeadline(aLongTimeAgo)
		<-w.done
		w.fc.conn.SetReadDeadline(time.Time{})
		if w.n > 0 {
			w.fc.in.appendByte(w.b[0])
		}
	}
	return w.gone.Load()
}

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
