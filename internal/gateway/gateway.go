// Package gateway is goldenpath up's dev gateway: a reverse proxy that routes by Host and path prefix
// to local upstreams, over HTTP and over HTTPS with certificates from a local CA.
//
// In production Kong routes traffic; locally this gateway serves the same route table. The first start
// creates a root CA in the data dir (export it with CACertPEM and trust it in a browser or with
// `curl --cacert`); leaf certificates are minted on demand, per host, for routed hosts only.
// Unrouted hosts and unreachable upstreams get error pages that say what happened, in HTML for
// browsers and plain text for curl. Each request writes one access log line.
package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a Gateway.
type Options struct {
	// DataDir holds the local CA (ca.crt, and ca.key with mode 0600). Required.
	DataDir string
	// Logger receives operational events (upstream errors, refused certificates). Nil discards them.
	Logger *slog.Logger
	// AccessLog receives one line per request. Nil writes no access log.
	AccessLog io.Writer
	// UpstreamTimeout bounds the wait for an upstream's response headers; past it the client gets a
	// 504 page. Streaming bodies and WebSockets are not cut by it. Zero means 60 s.
	UpstreamTimeout time.Duration
}

// Gateway is an http.Handler that proxies each request to the route serving its Host and path.
// It is safe for concurrent use; SetRoutes may be called while it serves.
type Gateway struct {
	log       *slog.Logger
	routes    atomic.Pointer[table]
	transport *transport
	ca        *authority
	access    *accessLog
	buffers   *bufferPool
	timeout   time.Duration
}

const (
	defaultUpstreamTimeout = 60 * time.Second
	dialTimeout            = 5 * time.Second
	shutdownGrace          = 5 * time.Second
)

// New loads the local CA from opts.DataDir, creating it on first start, and returns a gateway with
// no routes: every request gets the "not routed" page until SetRoutes.
func New(opts Options) (*Gateway, error) {
	if opts.DataDir == "" {
		return nil, errors.New("gateway: Options.DataDir is required (the local CA is kept there)")
	}
	if opts.UpstreamTimeout < 0 {
		return nil, fmt.Errorf("gateway: Options.UpstreamTimeout must not be negative, got %s", opts.UpstreamTimeout)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "gateway")
	ca, err := loadOrCreateCA(opts.DataDir, log)
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	g := &Gateway{log: log, ca: ca, buffers: newBufferPool(), timeout: opts.UpstreamTimeout}
	if g.timeout == 0 {
		g.timeout = defaultUpstreamTimeout
	}
	g.transport = newGatewayTransport(g.timeout)
	if opts.AccessLog != nil {
		g.access = newAccessLog(opts.AccessLog)
	}
	g.routes.Store(&table{})
	return g, nil
}

// SetRoutes validates routes and atomically replaces the route table; requests in flight finish on
// the old one. On error (naming the route and field) the current table stays.
func (g *Gateway) SetRoutes(routes []Route) error {
	t, err := compile(routes, g.newRoute)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	g.routes.Store(t)
	g.log.Info("routes set", "routes", len(routes))
	return nil
}

// ServeHTTP proxies r to the route for its Host and path, or writes the "not routed" page.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host := normalizeHost(r.Host)
	rt := g.routes.Load().lookup(host, r.URL.Path)
	if g.access == nil {
		g.serve(w, r, host, rt)
		return
	}
	start := time.Now()
	rec := g.access.recorder(w)
	// Deferred, so that requests the proxy aborts (it panics with http.ErrAbortHandler when the
	// client leaves mid-body) are logged too.
	defer func() {
		g.access.write(start, r, rec, rt)
		g.access.release(rec)
	}()
	g.serve(rec, r, host, rt)
}

func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, host string, rt *route) {
	if rt == nil {
		notRouted(w, r, host)
		return
	}
	rt.proxy.ServeHTTP(w, r)
}

// CACertPEM returns the local root CA certificate, PEM-encoded, for clients to trust.
func (g *Gateway) CACertPEM() []byte {
	return append([]byte(nil), g.ca.certPEM...)
}

// TLSConfig returns the configuration the HTTPS listener uses: a leaf certificate per SNI name,
// minted on demand for routed hosts only. Serve uses it; it is exported for callers running their
// own http.Server.
func (g *Gateway) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"h2", "http/1.1"},
		GetCertificate: g.getCertificate,
	}
}

// Serve serves plain HTTP on httpLn and HTTPS on httpsLn (either may be nil) until ctx is done,
// then shuts both down, giving requests in flight a few seconds. It returns the first serving error.
//
// Plain HTTP goes through the fast path (fast.go), which passes what it does not handle itself to
// a net/http server; HTTPS is net/http's.
func (g *Gateway) Serve(ctx context.Context, httpLn, httpsLn net.Listener) error {
	if httpLn == nil && httpsLn == nil {
		return errors.New("gateway: Serve needs an HTTP or an HTTPS listener")
	}
	defer g.transport.CloseIdleConnections()
	var servers []*http.Server
	var fast *loop
	errc := make(chan error, 3)
	if httpLn != nil {
		srv := g.newServer(nil)
		servers = append(servers, srv)
		var err error
		if fast, err = newLoop(g, httpLn); err == nil {
			go func() { errc <- srv.Serve(fast.handoff) }()
			go func() {
				if err := fast.run(); err != nil {
					errc <- err
				}
			}()
		} else {
			g.log.Debug("the fast path is off: net/http serves plain HTTP", "err", err)
			go func() { errc <- srv.Serve(httpLn) }()
		}
		g.log.Info("serving HTTP", "addr", httpLn.Addr().String())
	}
	if httpsLn != nil {
		srv := g.newServer(g.TLSConfig())
		servers = append(servers, srv)
		go func() { errc <- srv.ServeTLS(httpsLn, "", "") }()
		g.log.Info("serving HTTPS", "addr", httpsLn.Addr().String())
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		err = fmt.Errorf("gateway: serving: %w", err)
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	var wg sync.WaitGroup
	for _, srv := range servers {
		wg.Go(func() { srv.Shutdown(shutdownCtx) })
	}
	if fast != nil {
		wg.Go(func() { fast.shutdown(shutdownCtx) })
	}
	wg.Wait()
	return err
}

func (g *Gateway) newServer(tlsConfig *tls.Config) *http.Server {
	return &http.Server{
		Handler:           g,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		// Handshake failures and malformed requests from clients are routine; keep them out of
		// the error log unless debugging.
		ErrorLog: slog.NewLogLogger(g.log.Handler(), slog.LevelDebug),
	}
}

var _ http.Handler = (*Gateway)(nil)
var _ httputil.BufferPool = (*bufferPool)(nil)
