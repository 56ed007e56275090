package gateway

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// transport is the proxy's RoundTripper. Small body-less requests to plain-HTTP upstreams — nearly
// all of a dev gateway's traffic — take a direct path: the handler's goroutine writes the request
// on a pooled keep-alive connection and reads the response itself. http.Transport instead hands
// each request to two goroutines per connection (a writer and a reader) and back, and those
// handoffs, each a thread wake-up, cost more than the proxying itself on a busy machine. Anything
// else (request bodies, upgrades such as WebSocket, https upstreams) goes to http.Transport.
type transport struct {
	fallback      *http.Transport
	dialer        net.Dialer
	headerTimeout time.Duration
	idle          *idlePool
}

func newGatewayTransport(headerTimeout time.Duration) *transport {
	return &transport{
		fallback:      newTransport(headerTimeout),
		dialer:        net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second},
		headerTimeout: headerTimeout,
		idle:          newIdlePool(maxIdlePerUpstream, upstreamIdleTimeout),
	}
}

// Pooled upstream connections: many, for many small concurrent requests, and closed after a while
// unused.
const (
	maxIdlePerUpstream  = 256
	upstreamIdleTimeout = 90 * time.Second
)

// newTransport pools keep-alive connections to upstreams, sized for many small concurrent requests:
// without a large MaxIdleConnsPerHost (default 2) most requests would dial a fresh connection.
func newTransport(timeout time.Duration) *http.Transport {
	return &http.Transport{
		Proxy:                 nil, // upstreams are local; HTTP_PROXY must not reroute them
		DialContext:           (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   maxIdlePerUpstream,
		IdleConnTimeout:       upstreamIdleTimeout,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ResponseHeaderTimeout: timeout,
		DisableCompression:    true, // pass the client's Accept-Encoding and the upstream's bytes through
	}
}

// direct reports whether req can take the direct path: no body (so a request can be retried on a
// fresh connection when a pooled one turns out closed, and no body write can block the response
// read), idempotent, and no protocol switch.
func direct(req *http.Request) bool {
	if req.URL.Scheme != "http" || req.Body != nil && req.Body != http.NoBody || req.ContentLength > 0 {
		return false
	}
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		return false
	}
	_, upgrade := req.Header["Upgrade"]
	return !upgrade && len(req.TransferEncoding) == 0
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !direct(req) {
		return t.fallback.RoundTrip(req)
	}
	ctx := req.Context()
	addr := dialAddr(req.URL)
	for attempt := 0; ; attempt++ {
		pc, reused, err := t.conn(ctx, addr, attempt > 0)
		if err != nil {
			return nil, err
		}
		resp, err := pc.roundTrip(ctx, req)
		if err == nil {
			return resp, nil
		}
		pc.close()
		// A pooled connection the upstream closed while idle fails before any byte of the
		// response; the request is idempotent and body-less, so a fresh connection may retry it.
		// The other idle connections to a restarted upstream are as dead: drop them all.
		if reused && attempt == 0 && ctx.Err() == nil && staleConn(err) {
			t.dropIdle(addr)
			continue
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
}

// errNothingRead marks a connection that ended before the first byte of a response.
var errNothingRead = errors.New("upstream closed the connection before answering")

func staleConn(err error) bool { return errors.Is(err, errNothingRead) }

// dialAddr is the host:port of an upstream URL's host, with the scheme's default port if it has none.
func dialAddr(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

// conn takes the most recently used idle connection to hostport, or dials one (always if fresh).
func (t *transport) conn(ctx context.Context, hostport string, fresh bool) (*upstreamConn, bool, error) {
	if !fresh {
		if pc, ok := t.idle.get(hostport); ok {
			return pc, true, nil
		}
	}
	c, err := t.dialer.DialContext(ctx, "tcp", hostport)
	if err != nil {
		return nil, false, err
	}
	pc := &upstreamConn{t: t, key: hostport, conn: c, bw: bufio.NewWriterSize(c, 4096)}
	pc.limit = limitReader{r: c}
	pc.br = bufio.NewReaderSize(&pc.limit, 4096)
	return pc, false, nil
}

func (t *transport) put(pc *upstreamConn) { t.idle.put(pc.key, pc) }

func (t *transport) dropIdle(hostport string) { t.idle.drop(hostport) }

// CloseIdleConnections closes pooled connections of both paths.
func (t *transport) CloseIdleConnections() {
	t.idle.closeAll()
	t.fallback.CloseIdleConnections()
}

// upstreamConn is one keep-alive HTTP/1.1 connection to an upstream, used by one request at a time.
type upstreamConn struct {
	t     *transport
	key   string
	conn  net.Conn
	limit limitReader // bounds the response headers
	br    *bufio.Reader
	bw    *bufio.Writer
}

// aLongTimeAgo is a deadline in the past: setting it unblocks a pending read or write at once.
var aLongTimeAgo = time.Unix(1, 0)

func (pc *upstreamConn) roundTrip(ctx context.Context, req *http.Request) (*http.Response, error) {
	// A client that goes away cancels ctx; the deadline unblocks whatever this connection is
	// doing, and the connection is not reused.
	stop := context.AfterFunc(ctx, func() { pc.conn.SetDeadline(aLongTimeAgo) })
	pc.conn.SetReadDeadline(time.Now().Add(pc.t.headerTimeout))
	if err := req.Write(pc.bw); err != nil {
		stop()
		return nil, fmt.Errorf("%w: writing request: %w", errNothingRead, err)
	}
	if err := pc.bw.Flush(); err != nil {
		stop()
		return nil, fmt.Errorf("%w: writing request: %w", errNothingRead, err)
	}
	resp, err := pc.readResponse(req)
	if err != nil {
		stop()
		return nil, err
	}
	pc.conn.SetReadDeadline(time.Time{}) // the timeout covers the headers, not a streamed body
	reuse := !resp.Close && !req.Close
	if resp.Body == http.NoBody {
		if !stop() || !reuse {
			pc.close()
		} else {
			pc.t.put(pc)
		}
		return resp, nil
	}
	resp.Body = &upstreamBody{rc: resp.Body, pc: pc, stop: stop, reuse: reuse}
	return resp, nil
}

// maxResponseHeaderBytes bounds what an upstream may send before its body, as net/http's server
// bounds requests: a broken upstream must not make the gateway buffer without end.
const maxResponseHeaderBytes = 1 << 20

// readResponse reads the final response, skipping interim 1xx ones (100 Continue, 103 Early Hints).
func (pc *upstreamConn) readResponse(req *http.Request) (*http.Response, error) {
	for {
		pc.limit.n = maxResponseHeaderBytes
		resp, err := http.ReadResponse(pc.br, req)
		nothingRead := pc.limit.n == maxResponseHeaderBytes && pc.br.Buffered() == 0
		pc.limit.n = -1
		if err != nil {
			if pc.limit.hit {
				return nil, fmt.Errorf("upstream response headers exceed %d bytes", maxResponseHeaderBytes)
			}
			if nothingRead {
				return nil, fmt.Errorf("%w: %w", errNothingRead, err)
			}
			return nil, err
		}
		if resp.StatusCode >= 200 {
			return resp, nil
		}
		if resp.StatusCode == http.StatusSwitchingProtocols {
			return nil, errors.New("upstream switched protocols on a request that asked for no upgrade")
		}
	}
}

func (pc *upstreamConn) close() { pc.conn.Close() }

// upstreamBody returns its connection to the pool once the response has been read to the end, and
// closes the connection if the proxy stops reading before (a client gone mid-body).
type upstreamBody struct {
	rc    io.ReadCloser
	pc    *upstreamConn
	stop  func() bool
	reuse bool
	done  bool
}

func (b *upstreamBody) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.finish(true)
	} else if err != nil {
		b.finish(false)
	}
	return n, err
}

func (b *upstreamBody) Close() error {
	if !b.done {
		b.finish(false)
	}
	return nil
}

func (b *upstreamBody) finish(complete bool) {
	b.done = true
	// stop reports false if the client's cancellation already poisoned the connection's deadline.
	if b.stop() && complete && b.reuse {
		b.pc.t.put(b.pc)
		return
	}
	b.pc.close()
}

// limitReader fails reads past n bytes while n ≥ 0; a negative n means no limit.
type limitReader struct {
	r   io.Reader
	n   int64
	hit bool
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n < 0 {
		return l.r.Read(p)
	}
	if l.n == 0 {
		l.hit = true
		return 0, errHeaderLimit
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

var errHeaderLimit = errors.New("response header limit reached")
