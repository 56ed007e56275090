//go:build linux

package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// This file is the loop's side of one request: the head parsed, the upstream found or dialled, the
// request written, the response relayed — or the connection handed to net/http, or an error page.

// exchange is a client's request in flight.
type exchange struct {
	active    bool
	gen       uint64 // tells a dial's result for this request from one for an earlier one
	rt        *route
	up        *lconn
	reused    bool
	retried   bool
	start     time.Time
	method    string
	path      string // for the access log
	wantsHTML bool
	close     bool
	reqOut    []byte // the request head, kept for a retry
	gotHead   bool
	body      bodyCopier
	length    lengthBody
	chunked   chunkedBody
	reusable  bool
	status    int
	bytes     int64
}

type dialResult struct {
	c   *lconn
	gen uint64
	fd  int
	err error
}

// process starts the next request in c's buffer, if a whole head is there.
func (l *loop) process(c *lconn) {
	buf := c.in.buffered()
	end := headEnd(buf, 0)
	switch {
	case end == 0 && len(buf) == len(c.in.buf):
		l.handOff(c) // a head larger than the fast path reads: net/http takes it
		return
	case end == 0 && c.more:
		l.clientReadable(c, false)
		return
	case end == 0 && len(buf) > 0:
		if !c.headerTimer {
			c.headerTimer, c.deadline = true, l.now.Add(readHeaderTimeout)
		}
		return
	case end == 0:
		if l.stopping {
			l.close(c)
		}
		return
	}
	head := buf[:end]
	if !parseRequestHead(head, &c.req) {
		l.handOff(c)
		return
	}
	if string(c.req.host) != c.host {
		c.host = string(c.req.host)
		c.hostKey = normalizeHost(c.host)
	}
	path, _, _ := bytes.Cut(c.req.target, []byte{'?'})
	rt := l.g.routes.Load().lookup(c.hostKey, string(path))
	if rt == nil || rt.fast == nil {
		l.handOff(c) // net/http writes the "not routed" page, or proxies what the fast path cannot
		return
	}
	ex := &c.ex
	*ex = exchange{gen: ex.gen + 1, reqOut: ex.reqOut[:0], active: true, rt: rt, start: l.now, close: c.req.close}
	ex.method = methodName(c.req.method)
	if l.g.access != nil {
		ex.path = string(path)
	}
	for _, a := range c.req.accept {
		ex.wantsHTML = ex.wantsHTML || bytes.Contains(a, []byte("text/html"))
	}
	ex.reqOut = appendUpstreamHead(ex.reqOut, &c.req, rt, c.clientIP)
	c.in.discard(end)
	c.deadline, c.headerTimer = time.Time{}, false
	l.send(c, false)
}

// methodName returns the fast path's methods as constants, sparing an allocation.
func methodName(m []byte) string {
	switch string(m) {
	case http.MethodGet:
		return http.MethodGet
	case http.MethodHead:
		return http.MethodHead
	}
	return http.MethodOptions
}

// handOff gives c, with what it has read, to the net/http server — once the responses the fast path
// has queued for it are written, so that they reach the client before net/http's.
func (l *loop) handOff(c *lconn) {
	if len(c.pending) > 0 {
		c.handOffAfter = true
		return
	}
	delete(l.conns, c.fd)
	l.clients--
	c.closed = true
	unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, c.fd, nil)
	f := os.NewFile(uintptr(c.fd), "client")
	nc, err := net.FileConn(f) // a duplicate, on Go's netpoller
	f.Close()
	if err != nil {
		l.g.log.Warn("handing a connection to net/http", "err", err)
		return
	}
	c.in.conn = nc
	go l.handoff.push(&handedConn{Conn: nc, r: &c.in})
}

// send writes the request to a pooled upstream connection, or dials one (always if fresh).
func (l *loop) send(c *lconn, fresh bool) {
	ex := &c.ex
	addr := ex.rt.fast.addr
	if !fresh {
		if up := l.pooled(addr); up != nil {
			ex.up, ex.reused = up, true
			up.peer = c
			l.writeRequest(c)
			return
		}
	}
	ex.reused = false
	gen := ex.gen
	go func() {
		fd := -1
		conn, err := l.dialer.Dial("tcp", addr)
		if err == nil {
			fd, err = dupFD(conn.(*net.TCPConn))
			conn.Close()
		}
		l.post(func() {
			if l.exited && fd >= 0 {
				unix.Close(fd)
				return
			}
			l.dialed = append(l.dialed, dialResult{c: c, gen: gen, fd: fd, err: err})
		})
	}()
}

func (l *loop) dialDone(d dialResult) {
	c, ex := d.c, &d.c.ex
	if c.closed || !ex.active || ex.gen != d.gen {
		if d.fd >= 0 {
			unix.Close(d.fd)
		}
		return
	}
	if d.err != nil {
		l.fail(c, d.err)
		return
	}
	unix.SetNonblock(d.fd, true)
	up := &lconn{fd: d.fd, upstream: true, addr: ex.rt.fast.addr, peer: c, in: connReader{conn: fdReader(d.fd), buf: make([]byte, readBufferSize)}}
	if !l.register(up) {
		l.fail(c, errors.New("registering the upstream connection failed"))
		return
	}
	ex.up = up
	l.writeRequest(c)
}

func (l *loop) writeRequest(c *lconn) {
	ex := &c.ex
	ex.up.deadline = ex.start.Add(l.g.timeout)
	if !l.write(ex.up, ex.reqOut) {
		l.upstreamFailed(c, errors.Join(errNothingRead, errors.New("writing the request failed")))
	}
}

// write sends b on c, keeping what the socket does not take for its next EPOLLOUT. It reports
// false if the connection failed.
func (l *loop) write(c *lconn, b []byte) bool {
	if len(c.pending) > 0 {
		c.pending = append(c.pending, b...)
		return true
	}
	for len(b) > 0 {
		n, err := rawWrite(c.fd, b)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			c.pending = append(c.pending[:0], b...)
			return true
		case err != nil:
			return false
		}
		b = b[n:]
	}
	return true
}

// flush writes pending output; once a client's is written, its response or connection goes on.
func (l *loop) flush(c *lconn) {
	for len(c.pending) > 0 {
		n, err := rawWrite(c.fd, c.pending)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return
		case err != nil:
			switch {
			case !c.upstream:
				l.close(c)
			case c.peer != nil && c.peer.ex.gotHead:
				l.abort(c.peer) // the response has begun: it can only be cut short
			default:
				l.upstreamFailed(c.peer, errors.Join(errNothingRead, err))
			}
			return
		}
		c.pending = c.pending[n:]
	}
	c.pending = c.pending[:0:cap(c.pending)]
	if c.upstream {
		return
	}
	switch {
	case c.closeAfter:
		l.close(c)
	case c.handOffAfter:
		l.handOff(c)
	case c.ex.active && c.ex.gotHead:
		l.pump(c)
	}
}

// upstreamFailed handles a failure before the response head: a pooled connection the upstream
// closed while idle fails before any byte of the response; the request is idempotent and
// body-less, so it is sent again on a fresh connection, once.
func (l *loop) upstreamFailed(c *lconn, err error) {
	if c == nil {
		return
	}
	ex := &c.ex
	addr := ex.rt.fast.addr
	l.close(ex.up)
	ex.up = nil
	if ex.reused && !ex.retried && errors.Is(err, errNothingRead) {
		ex.retried = true
		l.dropIdle(addr)
		l.send(c, true)
		return
	}
	l.fail(c, err)
}

func (l *loop) upstreamReadable(up *lconn) {
	c := up.peer
	if c == nil {
		l.close(up) // a pooled connection speaks only to say it is closing
		return
	}
	ex := &c.ex
	for !ex.gotHead {
		head, err := up.in.head(maxResponseHeaderBytes)
		switch {
		case errors.Is(err, errAgain):
			return
		case errors.Is(err, errHeadTooLarge):
			l.upstreamFailed(c, fmt.Errorf("upstream response headers exceed %d bytes", maxResponseHeaderBytes))
			return
		case err != nil && len(up.in.buffered()) == 0:
			l.upstreamFailed(c, errors.Join(errNothingRead, err))
			return
		case err != nil:
			l.upstreamFailed(c, err)
			return
		}
		if err := parseResponseHead(head, &up.resp); err != nil {
			l.upstreamFailed(c, err)
			return
		}
		resp := &up.resp
		up.in.discard(len(head))
		switch {
		case resp.status == http.StatusSwitchingProtocols:
			l.upstreamFailed(c, errors.New("upstream switched protocols on a request that asked for no upgrade"))
			return
		case resp.status < 200:
			// 103 Early Hints and the like go to the client at once, as net/http's proxy sends them.
			l.write(c, appendClientHead(l.scratch[:0], resp, false, false, l.appendDate))
			continue
		}
		l.startResponse(c, resp)
		return
	}
	l.pump(c)
}

// startResponse sends the response head and whatever of the body came with it.
func (l *loop) startResponse(c *lconn, resp *responseHead) {
	ex, up := &c.ex, c.ex.up
	ex.gotHead, ex.status = true, resp.status
	up.deadline = time.Time{} // the timeout covers the head; a streamed body may take its time
	noBody := ex.method == http.MethodHead || resp.status == http.StatusNoContent || resp.status == http.StatusNotModified
	untilClose := !noBody && !resp.chunked && resp.contentLength < 0
	ex.reusable = resp.version12 && !resp.close && !untilClose
	switch {
	case noBody:
		ex.body = doneBody{}
	case resp.chunked:
		ex.chunked = chunkedBody{}
		ex.body = &ex.chunked
	case untilClose:
		ex.body = rechunkedBody{}
	default:
		ex.length = lengthBody{left: resp.contentLength}
		ex.body = &ex.length
	}
	out := appendClientHead(l.scratch[:0], resp, untilClose, ex.close || l.stopping, l.appendDate)
	out, n, sent, done, err := ex.body.take(out, up.in.buffered(), maxOutBuffer)
	l.scratch = out[:0]
	up.in.discard(n)
	if err != nil {
		ex.reusable = false
	}
	if !l.write(c, out) {
		l.close(c)
		return
	}
	ex.bytes += sent
	switch {
	case err != nil:
		l.abort(c)
	case done:
		l.finish(c)
	case len(c.pending) == 0:
		l.pump(c)
	}
}

// pump streams the body: each read from the upstream is written to the client at once, and
// reading waits while the client has output pending.
func (l *loop) pump(c *lconn) {
	ex := &c.ex
	up := ex.up
	for len(c.pending) == 0 && ex.active {
		buf := l.bodyBuf[:max(ex.body.want(len(l.bodyBuf)), 1)]
		fromSocket := len(up.in.buffered()) == 0
		n, err := up.in.Read(buf)
		if n > 0 {
			out, took, sent, done, terr := ex.body.take(l.scratch[:0], buf[:n], len(buf)+chunkFraming+len(l.scratch))
			l.scratch = out[:0]
			if terr == nil && took < n {
				terr = errors.New("upstream sent bytes after the response body")
			}
			if !l.write(c, out) {
				l.close(c)
				return
			}
			ex.bytes += sent
			switch {
			case terr != nil:
				l.abort(c)
				return
			case done:
				l.finish(c)
				return
			case n < len(buf) && fromSocket:
				return // drained for now: the next edge brings more
			}
			continue
		}
		switch {
		case errors.Is(err, errAgain):
			return
		case errors.Is(err, io.EOF) && ex.body.endsAtEOF():
			ex.reusable = false
			if !l.write(c, ex.body.finish(l.scratch[:0])) {
				l.close(c)
				return
			}
			l.finish(c)
		default: // the upstream ended or failed mid-body: the client's response is cut short
			l.abort(c)
		}
		return
	}
}

// finish ends a complete exchange: the upstream connection goes back to the pool, and the client
// connection to its next request.
func (l *loop) finish(c *lconn) {
	ex := &c.ex
	up := ex.up
	if ex.reusable && len(up.in.buffered()) == 0 && len(up.pending) == 0 && !l.stopping {
		l.pool(up)
	} else {
		l.close(up)
	}
	ex.up = nil
	l.next(c)
}

// next logs the exchange and moves the client on to its next request, or closes it.
func (l *loop) next(c *lconn) {
	ex := &c.ex
	l.logAccess(c)
	ex.active = false
	if ex.close || l.stopping {
		c.closeAfter = true
		if len(c.pending) == 0 {
			l.close(c)
		}
		return
	}
	c.deadline = l.now.Add(idleTimeout)
	if len(c.in.buffered()) > 0 || c.more {
		l.process(c) // a pipelined request
	}
}

// abort ends an exchange whose response cannot be completed: closing both connections is how the
// client learns its response is cut short.
func (l *loop) abort(c *lconn) {
	l.close(c)
}

// fail answers a request the upstream did not: a 502 or 504 page, as the net/http path writes it.
func (l *loop) fail(c *lconn, err error) {
	ex := &c.ex
	h := http.Header{"X-Forwarded-Host": {c.host}}
	if ex.wantsHTML {
		h.Set("Accept", "text/html")
	}
	w := &pageWriter{header: http.Header{}}
	l.g.upstreamError(w, &http.Request{Method: ex.method, Header: h}, ex.rt, err)
	ex.status, ex.gotHead = w.status, true
	withBody := ex.method != http.MethodHead
	if withBody {
		ex.bytes = int64(w.body.Len())
	}
	out := w.appendResponse(l.scratch[:0], l.appendDate, withBody, ex.close || l.stopping)
	l.scratch = out[:0]
	if ex.up != nil {
		l.close(ex.up)
		ex.up = nil
	}
	if !l.write(c, out) {
		l.close(c)
		return
	}
	l.next(c)
}

func (l *loop) logAccess(c *lconn) {
	if a := l.g.access; a != nil {
		a.line(c.ex.start, c.host, c.ex.method, c.ex.path, c.ex.status, c.ex.bytes, c.ex.rt)
	}
}
