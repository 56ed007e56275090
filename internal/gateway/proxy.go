package gateway

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"
)

// route is a validated Route with its own reverse proxy; all routes share the gateway's transport.
type route struct {
	Route
	prefix   string // normalized PathPrefix
	upstream string // Upstream without credentials, for pages and logs
	proxy    *httputil.ReverseProxy
	fast     *fastRoute // nil if the fast path cannot serve this route
}

func (g *Gateway) newRoute(r Route, prefix string) *route {
	target := *r.Upstream
	rt := &route{Route: r, prefix: prefix, upstream: target.Redacted()}
	rt.Upstream = &target
	rt.fast = newFastRoute(target, prefix, r.StripPrefix)
	rt.proxy = &httputil.ReverseProxy{
		Rewrite: rt.rewrite,
		// Bytes go to the client as they come from the upstream, whatever the response's length:
		// a slow download or a long poll must not sit in a buffer. It costs no extra write for
		// a small response, whose one read is flushed once.
		FlushInterval: -1,
		Transport:     g.transport,
		BufferPool:    g.buffers,
		ErrorLog:      slog.NewLogLogger(g.log.Handler(), slog.LevelDebug),
		ErrorHandler:  func(w http.ResponseWriter, req *http.Request, err error) { g.upstreamError(w, req, rt, err) },
	}
	return rt
}

// newFastRoute returns what the fast path needs to serve a route, or nil if it cannot: an https
// upstream, or credentials or escapes in the upstream's URL, which net/http's proxy handles.
func newFastRoute(u url.URL, prefix string, strip bool) *fastRoute {
	if u.Scheme != "http" || u.User != nil || u.RawPath != "" {
		return nil
	}
	for i := 0; i < len(u.Path); i++ {
		if !pathByte[u.Path[i]] {
			return nil
		}
	}
	fr := &fastRoute{addr: dialAddr(&u), host: u.Host, base: strings.TrimSuffix(u.Path, "/")}
	if strip && prefix != "/" {
		fr.strip = strings.TrimSuffix(prefix, "/")
	}
	return fr
}

// rewrite sends the request to the upstream with X-Forwarded-For, -Host and -Proto set from this
// hop only: ReverseProxy has already dropped whatever the client sent in those headers.
func (rt *route) rewrite(pr *httputil.ProxyRequest) {
	if rt.StripPrefix && rt.prefix != "/" {
		stripPrefix(pr.Out.URL, strings.TrimSuffix(rt.prefix, "/"))
		pr.Out.Header.Set("X-Forwarded-Prefix", strings.TrimSuffix(rt.prefix, "/"))
	}
	pr.SetURL(rt.Upstream)
	if rt.PreserveHost {
		pr.Out.Host = pr.In.Host
	}
	pr.SetXForwarded()
}

func stripPrefix(u *url.URL, prefix string) {
	u.Path = strings.TrimPrefix(u.Path, prefix)
	if u.Path == "" {
		u.Path = "/"
	}
	if u.RawPath == "" {
		return
	}
	// The prefix matched the decoded path; if the escaped form spells it differently, let
	// URL.EscapedPath re-derive it from Path.
	if raw, ok := strings.CutPrefix(u.RawPath, prefix); ok && raw != "" {
		u.RawPath = raw
	} else {
		u.RawPath = ""
	}
}

// statusClientClosed is nginx's code for a client that went away before the response: it is what
// the access log shows, as nobody is left to read a page.
const statusClientClosed = 499

// upstreamError answers a failed proxy attempt: 504 if the upstream was too slow, 502 otherwise,
// with a page naming the route and the upstream.
func (g *Gateway) upstreamError(w http.ResponseWriter, r *http.Request, rt *route, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		w.WriteHeader(statusClientClosed)
		return
	}
	status, reason := classify(err, g.timeout)
	// r is the outbound request: its Host is the upstream's, the client's is in X-Forwarded-Host.
	g.log.Warn("upstream failed", "route", rt.Name, "host", r.Header.Get("X-Forwarded-Host"), "upstream", rt.upstream, "status", status, "err", err)
	upstreamPage(w, r, status, rt, reason)
}

// classify maps a proxy error to a status and the reason the error page gives.
func classify(err error, timeout time.Duration) (int, string) {
	var ne net.Error
	var op *net.OpError
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &op) && op.Op == "dial" && op.Timeout():
		return http.StatusGatewayTimeout, "connecting to the upstream timed out after " + dialTimeout.String() + "."
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return http.StatusGatewayTimeout, "the upstream did not answer within " + timeout.String() + "."
	case errors.Is(err, syscall.ECONNREFUSED):
		return http.StatusBadGateway, "the upstream refused the connection: is it running, and on this port?"
	case errors.As(err, &dnsErr):
		return http.StatusBadGateway, "the upstream's host name does not resolve."
	case errors.Is(err, errNothingRead) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return http.StatusBadGateway, "the upstream closed the connection before answering."
	}
	return http.StatusBadGateway, "the upstream could not be reached or sent an invalid response."
}

// bufferPool reuses ReverseProxy's copy buffers: without it each proxied body allocates 32 KiB.
type bufferPool struct{ p sync.Pool }

const copyBufferSize = 32 << 10

func newBufferPool() *bufferPool {
	return &bufferPool{p: sync.Pool{New: func() any { b := make([]byte, copyBufferSize); return &b }}}
}

func (b *bufferPool) Get() []byte { return *b.p.Get().(*[]byte) }

func (b *bufferPool) Put(buf []byte) {
	if cap(buf) == copyBufferSize {
		b.p.Put(&buf)
	}
}
