package gateway_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/gateway"
)

// countingUpstream is an httptest server that counts the connections it accepts.
func countingUpstream(t *testing.T, h http.Handler, configure func(*http.Server)) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	if configure != nil {
		configure(srv.Config)
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

func TestUpstreamConnectionsAreReused(t *testing.T) {
	g := start(t, gateway.Options{})
	srv, conns := countingUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		case "/not-modified":
			w.WriteHeader(http.StatusNotModified)
		default:
			io.WriteString(w, "hello")
		}
	}), nil)
	g.setRoutes(t, gateway.Route{Name: "up", Host: "up.test", Upstream: mustURL(t, srv.URL)})
	c := g.http(t)
	const n = 50
	for i := range n {
		path := []string{"/", "/empty", "/not-modified"}[i%3]
		resp := do(t, c, "http://up.test"+path)
		if resp.StatusCode >= 400 {
			t.Fatalf("GET %s: got status %d", path, resp.StatusCode)
		}
	}
	req, _ := http.NewRequest(http.MethodHead, "http://up.test/", nil)
	if resp, err := c.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("HEAD: got %v, %v; want 200", resp, err)
	}
	if got := conns.Load(); got > 2 {
		t.Errorf("%d sequential requests opened %d upstream connections, want them to share one", n+1, got)
	}
}

func TestUpstreamConnectionEdgeCases(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	bigSum := sha256.Sum256(big)
	mux := http.NewServeMux()
	mux.HandleFunc("/close", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, "closing")
	})
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		for i := range 3 {
			fmt.Fprintf(w, "part%d ", i)
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) { w.Write(big) })
	mux.HandleFunc("/until-close", func(w http.ResponseWriter, r *http.Request) {
		// An HTTP/1.0-style response: no length, the body ends when the connection does.
		conn, brw, _ := http.NewResponseController(w).Hijack()
		defer conn.Close()
		brw.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close")
		brw.Flush()
	})
	mux.HandleFunc("/huge-headers", func(w http.ResponseWriter, r *http.Request) {
		conn, brw, _ := http.NewResponseController(w).Hijack()
		defer conn.Close()
		brw.WriteString("HTTP/1.1 200 OK\r\n")
		for range 2 << 10 {
			brw.WriteString("X-Filler: " + strings.Repeat("y", 1000) + "\r\n")
		}
		brw.Flush()
	})
	srv, _ := countingUpstream(t, mux, func(s *http.Server) { s.IdleTimeout = 50 * time.Millisecond })
	g := start(t, gateway.Options{})
	g.setRoutes(t, gateway.Route{Name: "up", Host: "up.test", Upstream: mustURL(t, srv.URL)})
	tests := []struct {
		name   string
		path   string
		pause  time.Duration // before the request, so that the upstream drops idle connections
		status int
		check  func(t *testing.T, body []byte)
	}{
		{name: "upstream closes after the response", path: "/close", status: 200, check: wantBody("closing")},
		{name: "next request after a closing response", path: "/chunked", status: 200, check: wantBody("part0 part1 part2 ")},
		{name: "after the upstream dropped the idle connection", path: "/chunked", pause: 200 * time.Millisecond, status: 200, check: wantBody("part0 part1 part2 ")},
		{name: "1 MiB body arrives intact", path: "/big", status: 200, check: func(t *testing.T, body []byte) {
			if sha256.Sum256(body) != bigSum {
				t.Errorf("got %d bytes that differ from the upstream's %d", len(body), len(big))
			}
		}},
		{name: "body delimited by connection close", path: "/until-close", status: 200, check: wantBody("until close")},
		{name: "after a close-delimited body", path: "/close", status: 200, check: wantBody("closing")},
		{name: "endless response headers", path: "/huge-headers", status: 502},
	}
	c := g.http(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			time.Sleep(tt.pause)
			resp := do(t, c, "http://up.test"+tt.path)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("got status %d, want %d; body %.200q", resp.StatusCode, tt.status, body)
			}
			if tt.check != nil {
				tt.check(t, body)
			}
		})
	}
}

func wantBody(want string) func(*testing.T, []byte) {
	return func(t *testing.T, body []byte) {
		t.Helper()
		if string(body) != want {
			t.Errorf("got body %q, want %q", body, want)
		}
	}
}

func TestClientGoneMidBody(t *testing.T) {
	g := start(t, gateway.Options{})
	mux := http.NewServeMux()
	upstreamReleased := make(chan struct{})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000000")
		io.WriteString(w, "first bytes")
		w.(http.Flusher).Flush()
		<-r.Context().Done() // the rest never comes; the gateway must give the connection up
		close(upstreamReleased)
	})
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	srv, _ := countingUpstream(t, mux, nil)
	g.setRoutes(t, gateway.Route{Name: "up", Host: "up.test", Upstream: mustURL(t, srv.URL)})

	conn, err := net.Dial("tcp", g.httpAddr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(conn, "GET /slow HTTP/1.1\r\nHost: up.test\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the slow response: %v", err)
	}
	buf := make([]byte, len("first bytes"))
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "first bytes" {
		t.Fatalf("got %q (err %v), want the first bytes streamed", buf, err)
	}
	conn.Close()

	select {
	case <-upstreamReleased:
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream connection was kept after the client left, want it closed")
	}
	g.accessLines(t, 1)
	if !strings.Contains(g.access.String(), "path=/slow status=200 bytes=11") {
		t.Errorf("got access log %q, want a line for the aborted request with the 11 bytes sent", g.access.String())
	}
	for range 3 {
		if body := readBody(t, do(t, g.http(t), "http://up.test/ok")); body != "ok" {
			t.Fatalf("after a client left mid-body: got %q, want ok", body)
		}
	}
}

func TestConcurrentRequestsGetTheirOwnResponses(t *testing.T) {
	g := start(t, gateway.Options{})
	g.setRoutes(t, gateway.Route{Name: "echo", Host: "echo.test", Upstream: upstream(t, "echo")})
	for _, scheme := range []string{"http", "https"} {
		t.Run(scheme, func(t *testing.T) {
			c := g.http(t)
			if scheme == "https" {
				c = g.https(t)
			}
			const workers, each = 16, 25
			errs := make(chan error, workers*each)
			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					for i := range each {
						path := fmt.Sprintf("/w%d/r%d", w, i)
						resp, err := c.Get(scheme + "://echo.test" + path)
						if err != nil {
							errs <- err
							continue
						}
						var e echo
						err = json.NewDecoder(resp.Body).Decode(&e)
						resp.Body.Close()
						if err != nil || e.Path != path {
							errs <- fmt.Errorf("GET %s: got the response for %q (err %v)", path, e.Path, err)
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}

func TestHTTP2OverTLS(t *testing.T) {
	g := start(t, gateway.Options{})
	g.setRoutes(t, gateway.Route{Name: "echo", Host: "echo.test", Upstream: upstream(t, "echo")})
	c := g.https(t)
	c.Transport.(*http.Transport).ForceAttemptHTTP2 = true
	resp, err := c.Get("https://echo.test/h2")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e echo
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || e.Path != "/h2" {
		t.Fatalf("got %+v (err %v), want the echo of /h2", e, err)
	}
	if resp.ProtoMajor != 2 {
		t.Errorf("got %s, want HTTP/2 as browsers negotiate it", resp.Proto)
	}
}

func TestUpstreamRestart(t *testing.T) {
	ln := listen(t)
	addr := ln.Addr().String()
	serveOn := func(ln net.Listener, name string) *http.Server {
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, name) })}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
		return srv
	}
	first := serveOn(ln, "first")
	g := start(t, gateway.Options{})
	g.setRoutes(t, gateway.Route{Name: "dev", Host: "dev.test", Upstream: mustURL(t, "http://"+addr)})
	c := g.http(t)
	// Several connections in the pool, as after a burst of parallel requests.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { do(t, c, "http://dev.test/") })
	}
	wg.Wait()

	first.Close() // a developer restarts the service on the same port
	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s again: %v", addr, err)
	}
	serveOn(ln2, "second")
	for i := range 4 {
		resp := do(t, c, "http://dev.test/")
		if body := readBody(t, resp); resp.StatusCode != 200 || body != "second" {
			t.Fatalf("request %d after the restart: got %d %q, want 200 from the new process", i, resp.StatusCode, body)
		}
	}
}
