package gateway

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// fastServer serves the plain-HTTP listener. It reads each request head itself and proxies the
// common case — a body-less GET, HEAD or OPTIONS over HTTP/1.1 to a plain-HTTP upstream, which is
// nearly all of a dev gateway's traffic — byte for byte on pooled keep-alive connections: no
// http.Request, no header maps, one write to the upstream and, for a small response, one to the
// client. That costs about a third of the CPU of net/http's server and httputil's proxy, which is
// what decides throughput when the gateway, its upstreams and their clients share a laptop's cores.
//
// Any other request — a body, an upgrade, HTTP/1.0, an unusual target or header, an unrouted host —
// hands its connection, with the bytes already read, to the net/http server, which serves it and the
// rest of that connection as before. So behaviour is net/http's wherever the fast path is unsure.
type fastServer struct {
	g       *Gateway
	handoff *handoffListener
	pool    *idlePool[*fastUpstream]
	dialer  net.Dialer

	closing atomic.Bool
	mu      sync.Mutex
	conns   map[*fastConn]struct{}
	wg      sync.WaitGroup
}

// Client-side timeouts, as the net/http server is configured (Gateway.newServer).
const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 2 * time.Minute
)

func newFastServer(g *Gateway, addr net.Addr) *fastServer {
	return &fastServer{
		g:       g,
		handoff: newHandoffListener(addr),
		pool:    newIdlePool[*fastUpstream](maxIdlePerUpstream, upstreamIdleTimeout),
		dialer:  net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second},
		conns:   map[*fastConn]struct{}{},
	}
}

// serve accepts connections on ln until shutdown closes it (it then returns nil) or ln fails.
func (s *fastServer) serve(ln net.Listener) error {
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// Out of file descriptors and the like: wait, as net/http does, rather than spin.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.g.log.Warn("accepting a connection", "err", err, "retry_in", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		fc := newFastConn(s, c)
		if !s.track(fc) {
			c.Close()
			continue
		}
		go fc.serve()
	}
}

func (s *fastServer) track(fc *fastConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return false
	}
	s.conns[fc] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *fastServer) untrack(fc *fastConn) {
	s.mu.Lock()
	delete(s.conns, fc)
	s.mu.Unlock()
	s.wg.Done()
}

// shutdown stops accepting, closes idle connections, lets requests in flight finish until ctx is
// done and then closes what is left. ln is the listener serve runs on.
func (s *fastServer) shutdown(ctx context.Context, ln net.Listener) {
	s.mu.Lock()
	s.closing.Store(true)
	s.mu.Unlock()
	ln.Close()
	s.handoff.Close()
	s.closeConns(false)
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		s.closeConns(true)
		<-done
	}
	s.pool.closeAll()
}

// closeConns closes the idle connections, or all of them. A connection that turns idle after
// closing was set closes itself.
func (s *fastServer) closeConns(all bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for fc := range s.conns {
		if all || !fc.active.Load() {
			fc.conn.Close()
		}
	}
}

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
