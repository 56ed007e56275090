package gateway

import (
	"net"
	"sync"
	"time"
)

// The fast path serves the plain-HTTP listener. It reads each request head itself and proxies the
// common case — a body-less GET, HEAD or OPTIONS over HTTP/1.1 to a plain-HTTP upstream, which is
// nearly all of a dev gateway's traffic — byte for byte on pooled keep-alive connections: no
// http.Request, no header maps, one write to the upstream and, for a small response, one to the
// client. On Linux one goroutine serves all those connections from an epoll instance, as an nginx
// worker does (loop_linux.go); it costs well under half the CPU of net/http's server and
// httputil's proxy, and CPU is what decides throughput when the gateway, its upstreams and their
// clients share a laptop's cores.
//
// Any other request — a body, an upgrade, HTTP/1.0, an unusual target or header, an unrouted host —
// hands its connection, with the bytes already read, to the net/http server, which serves it and the
// rest of that connection. So behaviour is net/http's wherever the fast path is unsure. Elsewhere
// than Linux, or on a listener that is not TCP, net/http serves everything.

// Client-side timeouts, the same for the fast path and the net/http server (Gateway.newServer).
const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 2 * time.Minute
)

// handoffListener is how connections reach the net/http server: Accept returns those the fast
// path gave up on.
type handoffListener struct {
	addr  net.Addr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newHandoffListener(addr net.Addr) *handoffListener {
	return &handoffListener{addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *handoffListener) Addr() net.Addr { return l.addr }

// push gives c to the net/http server, or closes it if that has stopped.
func (l *handoffListener) push(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.done:
		c.Close()
	}
}

// handedConn is a connection given to net/http: reads return the bytes the fast path had read
// first, then the connection's.
type handedConn struct {
	net.Conn
	r *connReader
}

func (c *handedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// CloseWrite lets net/http half-close the connection, as it does on a plain *net.TCPConn.
func (c *handedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
