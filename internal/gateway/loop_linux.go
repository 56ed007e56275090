//go:build linux

package gateway

import (
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
