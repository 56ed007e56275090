package gateway_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/gateway"
)

// running is a gateway serving HTTP and HTTPS on loopback ports.
type running struct {
	*gateway.Gateway
	httpAddr, httpsAddr string
	access              *syncBuffer
	dir                 string
}

func start(t *testing.T, opts gateway.Options) *running {
	t.Helper()
	if opts.DataDir == "" {
		opts.DataDir = t.TempDir()
	}
	access := &syncBuffer{}
	if opts.AccessLog == nil {
		opts.AccessLog = access
	}
	g, err := gateway.New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	r := serve(t, g)
	r.access, r.dir = access, opts.DataDir
	return r
}

// serve runs g on two loopback listeners until the test ends.
func serve(t testing.TB, g *gateway.Gateway) *running {
	t.Helper()
	httpLn := listen(t)
	httpsLn := listen(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx, httpLn, httpsLn) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return &running{Gateway: g, httpAddr: httpLn.Addr().String(), httpsAddr: httpsLn.Addr().String()}
}

func listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func (g *running) setRoutes(t *testing.T, routes ...gateway.Route) {
	t.Helper()
	if err := g.SetRoutes(routes); err != nil {
		t.Fatalf("SetRoutes: %v", err)
	}
}

// client sends every host name to addr, like `curl --resolve`; for HTTPS it trusts only caPEM (none
// if nil), and verifies the server name as a browser would.
func client(t testing.TB, addr string, caPEM []byte) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if caPEM != nil && !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("CACertPEM holds no certificate")
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig: &tls.Config{RootCAs: pool},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func (g *running) http(t *testing.T) *http.Client  { return client(t, g.httpAddr, nil) }
func (g *running) https(t *testing.T) *http.Client { return client(t, g.httpsAddr, g.CACertPEM()) }

// echo is what an echo upstream saw.
type echo struct {
	Name    string      `json:"name"`
	Path    string      `json:"path"`
	Query   string      `json:"query"`
	Host    string      `json:"host"`
	Headers http.Header `json:"headers"`
}

// upstream starts an echo server that answers with its name and the request it received.
func upstream(t *testing.T, name string) *url.URL {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(echo{Name: name, Path: r.URL.Path, Query: r.URL.RawQuery, Host: r.Host, Headers: r.Header})
	}))
	t.Cleanup(srv.Close)
	return mustURL(t, srv.URL)
}

func serverURL(t testing.TB, h http.Handler) *url.URL {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return mustURL(t, srv.URL)
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// get fetches url and decodes the upstream's echo; it fails the test on any status but 200.
func get(t *testing.T, c *http.Client, url string, header ...string) echo {
	t.Helper()
	resp := do(t, c, url, header...)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: got status %d, want 200; body: %s", url, resp.StatusCode, body)
	}
	var e echo
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("GET %s: decoding echo %q: %v", url, body, err)
	}
	return e
}

// do sends a GET with header pairs and returns the response with its body read into memory.
func do(t *testing.T, c *http.Client, url string, header ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// syncBuffer is an access log sink the test reads while the gateway writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// accessLines waits a little for n access log lines (a line is written when the handler returns,
// which may be just after the client has the whole response) and returns the lines there are.
func (g *running) accessLines(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		lines := strings.Split(strings.TrimSpace(g.access.String()), "\n")
		if lines[0] == "" {
			lines = nil
		}
		if len(lines) >= n || time.Now().After(deadline) {
			return lines
		}
		time.Sleep(5 * time.Millisecond)
	}
}
