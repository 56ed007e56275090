//go:build linux

package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// loop is the fast path's engine: one goroutine serving the plain-HTTP
// clients and the upstream connections they use from one epoll instance. Sockets are non-blocking
// and edge-triggered, and a read that returns less than it asked for is taken to have drained the
// socket, so no read is made only to hear EAGAIN; that and the absence of goroutine hand-offs is
// what makes it cheaper than goroutines on Go's netpoller. It never blocks on the network: dials,
// which may resolve names, run in goroutines that post their result back, and connections it
// gives up go to net/http through the handoff listener.
type loop struct {
	g        *Gateway
	ln       net.Listener
	handoff  *handoffListener
	dialer   net.Dialer
	epfd     int
	lfd      int // the listener's descriptor (a duplicate), -1 once closed
	wakefd   int // an eventfd: a dial is done, or shutdown began
	conns    map[int]*lconn
	clients  int
	idle     map[string][]*lconn // pooled upstream connections by address, most recently used last
	events   []unix.EpollEvent
	scratch  []byte // output being built
	bodyBuf  []byte // body bytes read from an upstream
	now      time.Time
	lastScan time.Time
	stopping bool
	// acceptPaused is when to listen again after accept failed; zero while listening.
	acceptPaused time.Time
	dateSec      int64
	date         []byte

	mu     sync.Mutex // guards what other goroutines post, and wakefd's closing
	exited bool
	dialed []dialResult
	stop   bool // shutdown asked
	force  bool // shutdown's grace is over
	done   chan struct{}
}

// lconn is a client's or an upstream's connection.
type lconn struct {
	fd       int
	upstream bool
	in       connReader
	pending  []byte    // output the socket has not taken yet
	deadline time.Time // zero for none
	closed   bool

	// A client's.
	clientIP      string
	host, hostKey string
	req           requestHead
	headerTimer   bool // the deadline is the head's, not the idle one
	closeAfter    bool // close once pending is written
	handOffAfter  bool // hand to net/http once pending is written
	more          bool // reading stopped with the buffer full: the socket may hold more
	ex            exchange

	// An upstream's.
	resp      responseHead
	addr      string
	peer      *lconn // the client it serves; nil when pooled
	idleSince time.Time
}

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
	noBody    bool
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

// rawRead, rawWrite and rawEpollWait make system calls that cannot block (the sockets are
// non-blocking; the epoll_wait does not wait) without telling the runtime: a blocking call's
// bookkeeping, and the runtime threads it wakes to take the P over, cost as much as the proxying.
func rawRead(fd int, p []byte) (int, error) {
	r, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(bufPtr(p)), uintptr(len(p)))
	return rawResult(r, e)
}

func rawWrite(fd int, p []byte) (int, error) {
	r, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(bufPtr(p)), uintptr(len(p)))
	return rawResult(r, e)
}

func rawEpollWait(epfd int, events []unix.EpollEvent) (int, error) {
	r, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	return rawResult(r, e)
}

func bufPtr(p []byte) unsafe.Pointer {
	if len(p) == 0 {
		return nil
	}
	return unsafe.Pointer(&p[0])
}

func rawResult(r uintptr, e unix.Errno) (int, error) {
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// fdReader reads a non-blocking descriptor: errAgain when it has nothing, io.EOF at its end.
type fdReader int

var errAgain = errors.New("would block")

func (fd fdReader) Read(p []byte) (int, error) {
	for {
		n, err := rawRead(int(fd), p)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return 0, errAgain
		case err != nil:
			return 0, os.NewSyscallError("read", err)
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

const (
	scanInterval = 50 * time.Millisecond // how often deadlines are checked
	acceptPause  = 100 * time.Millisecond
	maxEvents    = 256
)

// newLoop sets the loop up on ln's socket; ln must be a *net.TCPListener.
func newLoop(g *Gateway, ln net.Listener) (*loop, error) {
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		return nil, fmt.Errorf("the fast path needs a TCP listener, got %T", ln)
	}
	lfd, err := dupFD(tl)
	if err != nil {
		return nil, err
	}
	l := &loop{
		g: g, ln: ln, handoff: newHandoffListener(ln.Addr()), lfd: lfd, epfd: -1, wakefd: -1,
		dialer: net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second},
		conns:  map[int]*lconn{}, idle: map[string][]*lconn{},
		events: make([]unix.EpollEvent, maxEvents), bodyBuf: make([]byte, copyBufferSize),
		done: make(chan struct{}),
	}
	if err := l.setup(); err != nil {
		l.closeFDs()
		return nil, err
	}
	return l, nil
}

func (l *loop) setup() error {
	var err error
	if l.epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return os.NewSyscallError("epoll_create1", err)
	}
	if l.wakefd, err = unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC); err != nil {
		return os.NewSyscallError("eventfd", err)
	}
	for _, fd := range []int{l.lfd, l.wakefd} {
		if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}); err != nil {
			return os.NewSyscallError("epoll_ctl", err)
		}
	}
	return unix.SetNonblock(l.lfd, true)
}

func (l *loop) closeFDs() {
	for _, fd := range []int{l.lfd, l.wakefd, l.epfd} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
	l.lfd, l.wakefd, l.epfd = -1, -1, -1
}

// dupFD returns a close-on-exec duplicate of a socket's descriptor; the socket's original stays
// with its Go value.
func dupFD(c syscall.Conn) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	var dupErr error
	if err := rc.Control(func(s uintptr) { fd, dupErr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return -1, err
	}
	if dupErr != nil {
		return -1, os.NewSyscallError("fcntl", dupErr)
	}
	return fd, nil
}

// run serves until shutdown; it returns an error only if epoll fails.
func (l *loop) run() error {
	defer close(l.done)
	defer l.closeAll()
	l.now = time.Now()
	l.lastScan = l.now
	for {
		timeout := -1
		if len(l.conns) > 0 || l.stopping || !l.acceptPaused.IsZero() {
			timeout = int(scanInterval / time.Millisecond)
		}
		// Under load there is nearly always something to do: ask without blocking first, so that
		// the thread stays running; block (telling the runtime, which lends the thread's P to
		// other goroutines meanwhile) only when there is nothing.
		n, err := rawEpollWait(l.epfd, l.events)
		if n == 0 && err == nil {
			n, err = unix.EpollWait(l.epfd, l.events, timeout)
		}
		if err != nil && err != unix.EINTR {
			return fmt.Errorf("gateway: epoll_wait: %w", err)
		}
		l.now = time.Now()
		for _, ev := range l.events[:max(n, 0)] {
			switch fd := int(ev.Fd); fd {
			case l.lfd:
				l.accept()
			case l.wakefd:
				l.woken()
			default:
				if c := l.conns[fd]; c != nil {
					l.event(c, ev.Events)
				}
			}
		}
		if l.now.Sub(l.lastScan) >= scanInterval {
			l.lastScan = l.now
			l.scan()
		}
		if l.stopping && l.clients == 0 {
			return nil
		}
	}
}

// shutdown stops accepting and closes idle clients; requests in flight finish until ctx is done,
// and then every connection closes.
func (l *loop) shutdown(ctx context.Context) {
	l.post(func() { l.stop = true })
	l.ln.Close()
	l.handoff.Close()
	select {
	case <-l.done:
	case <-ctx.Done():
		l.post(func() { l.force = true })
		<-l.done
	}
}

// post changes what the loop reads under mu, then wakes it (if it still runs).
func (l *loop) post(f func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f()
	if !l.exited {
		one := [8]byte{1}
		unix.Write(l.wakefd, one[:])
	}
}

func (l *loop) woken() {
	var b [8]byte
	unix.Read(l.wakefd, b[:])
	l.mu.Lock()
	dialed := l.dialed
	l.dialed = nil
	stop, force := l.stop, l.force
	l.mu.Unlock()
	for _, d := range dialed {
		l.dialDone(d)
	}
	if stop && !l.stopping {
		l.stopping = true
		unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, l.lfd, nil)
		unix.Close(l.lfd)
		l.lfd = -1
		for _, c := range l.conns {
			if !c.upstream && !c.ex.active && len(c.in.buffered()) == 0 && len(c.pending) == 0 {
				l.close(c)
			}
		}
		l.closeIdle()
	}
	if force {
		for _, c := range l.conns {
			l.close(c)
		}
	}
}

func (l *loop) closeAll() {
	for _, c := range l.conns {
		l.close(c)
	}
	l.mu.Lock()
	l.exited = true
	for _, d := range l.dialed {
		if d.fd >= 0 {
			unix.Close(d.fd)
		}
	}
	l.dialed = nil
	l.closeFDs()
	l.mu.Unlock()
}

func (l *loop) accept() {
	for {
		fd, sa, err := unix.Accept4(l.lfd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		switch {
		case err == unix.EINTR || err == unix.ECONNABORTED:
			continue
		case err == unix.EAGAIN:
			return
		case err != nil:
			// Out of descriptors, most likely: leave the rest queued, and the listener out of the
			// epoll set for a while, rather than spin on it.
			l.g.log.Warn("accepting a connection; pausing", "err", err, "for", acceptPause)
			unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, l.lfd, nil)
			l.acceptPaused = l.now.Add(acceptPause)
			return
		}
		unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		c := &lconn{fd: fd, clientIP: sockaddrIP(sa), in: connReader{conn: fdReader(fd), buf: make([]byte, readBufferSize)}}
		c.deadline = l.now.Add(idleTimeout)
		if !l.register(c) {
			continue
		}
		l.clients++
	}
}

func (l *loop) register(c *lconn) bool {
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(c.fd)}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, c.fd, &ev); err != nil {
		l.g.log.Warn("registering a connection", "err", err)
		unix.Close(c.fd)
		return false
	}
	l.conns[c.fd] = c
	return true
}

func sockaddrIP(sa unix.Sockaddr) string {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrFrom4(sa.Addr).String()
	case *unix.SockaddrInet6:
		return netip.AddrFrom16(sa.Addr).Unmap().String()
	}
	return ""
}

// close closes c; a client's request in flight ends with it.
func (l *loop) close(c *lconn) {
	if c.closed {
		return
	}
	c.closed = true
	delete(l.conns, c.fd)
	unix.Close(c.fd) // leaves the epoll set with it: nothing else holds the descriptor
	if c.upstream {
		if c.peer == nil {
			l.unpool(c)
		}
		return
	}
	l.clients--
	if ex := &c.ex; ex.active {
		ex.gen++ // a dial in progress now finds no one waiting
		if ex.up != nil {
			l.close(ex.up)
		}
		if !ex.gotHead {
			ex.status = statusClientClosed
		}
		l.logAccess(c)
		ex.active = false
	}
}

func (l *loop) event(c *lconn, events uint32) {
	if events&(unix.EPOLLOUT|unix.EPOLLERR|unix.EPOLLHUP) != 0 && len(c.pending) > 0 {
		l.flush(c)
		if c.closed {
			return
		}
	}
	if events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLERR|unix.EPOLLHUP) != 0 {
		if c.upstream {
			l.upstreamReadable(c)
		} else {
			l.clientReadable(c, events&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0)
		}
	}
}

// clientReadable reads what the client sent. Between requests that is the next head; during one,
// it can only be a pipelined request, kept for later, or the end of the connection: the client left.
func (l *loop) clientReadable(c *lconn, hangup bool) {
	c.more = false
	for {
		short, err := c.in.fill(readBufferSize)
		if errors.Is(err, errHeadTooLarge) {
			c.more = true // read on once the buffered requests are served
			break
		}
		if errors.Is(err, errAgain) {
			break
		}
		if err != nil {
			l.close(c) // the client left; a request in flight is logged with 499
			return
		}
		if short && !hangup { // with a hang-up, read on to the end
			break
		}
	}
	if !c.ex.active {
		l.process(c)
	}
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
	ex.noBody = ex.method == http.MethodHead
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
	noBody := ex.noBody || resp.status == http.StatusNoContent || resp.status == http.StatusNotModified
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

// scan enforces deadlines: a client idle too long or slow to send its head is closed, an upstream
// slow to answer gets its client a 504, and pooled connections idle too long are closed.
func (l *loop) scan() {
	if !l.acceptPaused.IsZero() && !l.now.Before(l.acceptPaused) && l.lfd >= 0 {
		l.acceptPaused = time.Time{}
		unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, l.lfd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(l.lfd)})
	}
	for _, c := range l.conns {
		if c.deadline.IsZero() || l.now.Before(c.deadline) {
			continue
		}
		c.deadline = time.Time{}
		switch {
		case !c.upstream:
			l.close(c)
		case c.peer != nil:
			l.upstreamFailed(c.peer, os.ErrDeadlineExceeded)
		}
	}
	for addr, conns := range l.idle {
		for len(conns) > 0 && l.now.Sub(conns[0].idleSince) >= upstreamIdleTimeout {
			l.close(conns[0]) // unpools it
			conns = l.idle[addr]
		}
	}
}

// pool keeps up for reuse, or closes it if its address has as many idle connections as allowed.
func (l *loop) pool(up *lconn) {
	up.peer, up.idleSince, up.deadline = nil, l.now, time.Time{}
	if conns := l.idle[up.addr]; len(conns) < maxIdlePerUpstream {
		l.idle[up.addr] = append(conns, up)
		return
	}
	l.close(up)
}

// pooled takes the most recently used idle connection to addr.
func (l *loop) pooled(addr string) *lconn {
	for conns := l.idle[addr]; len(conns) > 0; conns = l.idle[addr] {
		up := conns[len(conns)-1]
		conns[len(conns)-1] = nil
		l.idle[addr] = conns[:len(conns)-1]
		if l.now.Sub(up.idleSince) < upstreamIdleTimeout {
			return up
		}
		l.close(up)
	}
	return nil
}

func (l *loop) unpool(up *lconn) {
	conns := l.idle[up.addr]
	for i, pc := range conns {
		if pc == up {
			l.idle[up.addr] = append(conns[:i], conns[i+1:]...)
			return
		}
	}
}

// dropIdle closes addr's pooled connections: the upstream restarted, and they are as dead as the
// one that failed.
func (l *loop) dropIdle(addr string) {
	for len(l.idle[addr]) > 0 {
		l.close(l.idle[addr][0])
	}
}

func (l *loop) closeIdle() {
	for addr := range l.idle {
		l.dropIdle(addr)
	}
}

// appendDate appends the current time in HTTP's format, formatted once a second.
func (l *loop) appendDate(b []byte) []byte {
	if sec := l.now.Unix(); sec != l.dateSec || l.date == nil {
		l.dateSec = sec
		l.date = l.now.UTC().AppendFormat(l.date[:0], http.TimeFormat)
	}
	return append(b, l.date...)
}
