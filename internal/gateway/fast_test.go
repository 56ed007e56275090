package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/gateway"
)

// rawUpstream answers every request on a connection with the response its handler writes, byte
// for byte, and keeps the connection for the next one unless the response is HTTP/1.0: what a
// hand-written or unusual upstream sends, which net/http's server would normalize.
func rawUpstream(t *testing.T, respond func(req *http.Request) string) string {
	t.Helper()
	ln := listen(t)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					resp := respond(req)
					if _, err := io.WriteString(c, resp); err != nil || strings.HasPrefix(resp, "HTTP/1.0") {
						return
					}
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// conn is a raw client connection to the gateway's HTTP port.
type conn struct {
	t *testing.T
	net.Conn
	br *bufio.Reader
}

func dial(t *testing.T, addr string) *conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return &conn{t: t, Conn: c, br: bufio.NewReader(c)}
}

func (c *conn) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c, s); err != nil {
		c.t.Fatalf("writing request: %v", err)
	}
}

// response reads one response (to a request of method) with its body.
func (c *conn) response(method string) (*http.Response, string) {
	c.t.Helper()
	resp, err := http.ReadResponse(c.br, &http.Request{Method: method})
	if err != nil {
		c.t.Fatalf("reading response: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("reading body: %v", err)
	}
	return resp, string(body)
}

func echoPath(t *testing.T, body string) string {
	t.Helper()
	var e echo
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("decoding echo %q: %v", body, err)
	}
	return e.Path
}

func TestPipelinedAndMixedRequestsOnOneConnection(t *testing.T) {
	g := start(t, gateway.Options{})
	g.setRoutes(t, gateway.Route{Name: "echo", Host: "echo.test", Upstream: upstream(t, "echo")})
	c := dial(t, g.httpAddr)
	// Three requests in one write: answers come back in order.
	c.send("GET /1 HTTP/1.1\r\nHost: echo.test\r\n\r\nGET /2 HTTP/1.1\r\nHost: echo.test\r\n\r\nGET /3 HTTP/1.1\r\nHost: echo.test\r\n\r\n")
	for _, want := range []string{"/1", "/2", "/3"} {
		resp, body := c.response("GET")
		if resp.StatusCode != 200 || echoPath(t, body) != want {
			t.Fatalf("pipelined: got %d %q, want 200 with path %s", resp.StatusCode, body, want)
		}
	}
	// A request with a body goes to net/http, with the connection and what follows it.
	c.send("POST /form HTTP/1.1\r\nHost: echo.test\r\nContent-Length: 3\r\n\r\nabcGET /after HTTP/1.1\r\nHost: echo.test\r\n\r\n")
	for _, want := range []string{"/form", "/after"} {
		resp, body := c.response("GET")
		if resp.StatusCode != 200 || echoPath(t, body) != want {
			t.Fatalf("after the hand-over: got %d %q, want 200 with path %s", resp.StatusCode, body, want)
		}
	}
}

func TestRequestsTheFastPathHandsOver(t *testing.T) {
	g := start(t, gateway.Options{})
	g.setRoutes(t, gateway.Route{Name: "echo", Host: "echo.test", Upstream: upstream(t, "echo")})
	cookie := strings.Repeat("c", 6000) // a head larger than the fast path's buffer
	tests := []struct {
		name, request, wantPath string
	}{
		{"HTTP/1.0", "GET /old HTTP/1.0\r\nHost: echo.test\r\n\r\n", "/old"},
		{"escaped path", "GET /a%20b HTTP/1.1\r\nHost: echo.test\r\n\r\n", "/a b"},
		{"large head", "GET /big HTTP/1.1\r\nHost: echo.test\r\nCookie: " + cookie + "\r\n\r\n", "/big"},
		{"DELETE", "DELETE /item HTTP/1.1\r\nHost: echo.test\r\n\r\n", "/item"},
		{"head in pieces", "GET /slowly HTTP/1.1\r\nHo", "/slowly"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, g.httpAddr)
			c.send(tt.request)
			if tt.name == "head in pieces" {
				time.Sleep(50 * time.Millisecond)
				c.send("st: echo.test\r\n\r\n")
			}
			resp, body := c.response("GET")
			if resp.StatusCode != 200 || echoPath(t, body) != tt.wantPath {
				t.Fatalf("got %d %q, want 200 with path %q", resp.StatusCode, body, tt.wantPath)
			}
		})
	}
}

func TestFastPathRelaysResponsesAsWritten(t *testing.T) {
	up := rawUpstream(t, func(req *http.Request) string {
		switch req.URL.Path {
		case "/hop":
			// Header names as the upstream spells them; hop-by-hop ones, including those its
			// Connection header names, must not reach the client. No Date: the gateway adds one.
			return "HTTP/1.1 200 OK\r\nx-lower-case: kept\r\nConnection: x-hop\r\nX-Hop: dropped\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\nok"
		case "/chunked":
			return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Sum: 5\r\n\r\n"
		case "/hints":
			return "HTTP/1.1 103 Early Hints\r\nLink: </app.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal"
		case "/big-head":
			// Response headers past the fast path's first 4 KiB buffer.
			return "HTTP/1.1 200 OK\r\nX-Policy: " + strings.Repeat("p", 20_000) + "\r\nContent-Length: 4\r\n\r\nbody"
		case "/until-close":
			return "HTTP/1.0 200 OK\r\n\r\nuntil close" // and the connection closes: see below
		}
		return "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
	})
	g := start(t, gateway.Options{})
	g.setRoutes(t, gateway.Route{Name: "raw", Host: "raw.test", Upstream: mustURL(t, up)})

	// The raw head shows header names as sent.
	c := dial(t, g.httpAddr)
	c.send("GET /hop HTTP/1.1\r\nHost: raw.test\r\n\r\n")
	raw := readRawHead(t, c.br)
	for _, want := range []string{"HTTP/1.1 200 OK\r\n", "\r\nx-lower-case: kept\r\n", "\r\nDate: "} {
		if !strings.Contains(raw, want) {
			t.Errorf("response head lacks %q:\n%s", want, raw)
		}
	}
	for _, gone := range []string{"X-Hop", "Keep-Alive", "x-hop"} {
		if strings.Contains(raw, gone) {
			t.Errorf("response head passes the hop-by-hop %q:\n%s", gone, raw)
		}
	}

	client := g.http(t)
	t.Run("chunked body and trailer pass through", func(t *testing.T) {
		resp, err := client.Get("http://raw.test/chunked")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "abcde" || resp.Trailer.Get("X-Sum") != "5" {
			t.Errorf("got body %q trailer %v, want abcde and X-Sum 5", body, resp.Trailer)
		}
	})
	t.Run("response headers larger than the first buffer", func(t *testing.T) {
		resp, err := client.Get("http://raw.test/big-head")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "body" || len(resp.Header.Get("X-Policy")) != 20_000 {
			t.Errorf("got body %q and a %d-byte X-Policy, want body and 20000", body, len(resp.Header.Get("X-Policy")))
		}
	})
	t.Run("103 Early Hints reach the client before the response", func(t *testing.T) {
		var hints []string
		trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
			hints = append(hints, h.Get("Link"))
			return nil
		}}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace), http.MethodGet, "http://raw.test/hints", nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "final" || len(hints) != 1 || hints[0] != "</app.css>; rel=preload" {
			t.Errorf("got body %q and hints %q, want final after one Link hint", body, hints)
		}
	})
	t.Run("a body that ends with the upstream's connection is re-framed for a kept client connection", func(t *testing.T) {
		c := dial(t, g.httpAddr)
		for range 2 {
			c.send("GET /until-close HTTP/1.1\r\nHost: raw.test\r\n\r\n")
			resp, body := c.response("GET")
			if body != "until close" || resp.Close {
				t.Errorf("got body %q (connection closing: %v), want \"until close\" on a kept connection", body, resp.Close)
			}
		}
	})
}

// readRawHead reads a response head through its empty line.
func readRawHead(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	var b strings.Builder
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading head: %v (so far %q)", err, b.String())
		}
		b.WriteString(line)
		if line == "\r\n" {
			return b.String()
		}
	}
}

func TestFastPathConnectionHandling(t *testing.T) {
	g := start(t, gateway.Options{})
	g.setRoutes(t, gateway.Route{Name: "echo", Host: "echo.test", Upstream: upstream(t, "echo")})
	t.Run("Connection: close is honoured", func(t *testing.T) {
		c := dial(t, g.httpAddr)
		c.send("GET /bye HTTP/1.1\r\nHost: echo.test\r\nConnection: close\r\n\r\n")
		resp, _ := c.response("GET")
		if !resp.Close {
			t.Error("response lacks Connection: close")
		}
		if n, err := c.br.ReadByte(); err != io.EOF {
			t.Errorf("after the last response: got byte %q, err %v; want the gateway to close the connection", n, err)
		}
	})
	t.Run("HEAD gets the head only and the connection goes on", func(t *testing.T) {
		c := dial(t, g.httpAddr)
		c.send("HEAD /h HTTP/1.1\r\nHost: echo.test\r\n\r\nGET /g HTTP/1.1\r\nHost: echo.test\r\n\r\n")
		if resp, body := c.response("HEAD"); resp.StatusCode != 200 || body != "" {
			t.Errorf("HEAD: got %d with body %q, want 200 without a body", resp.StatusCode, body)
		}
		if resp, body := c.response("GET"); resp.StatusCode != 200 || echoPath(t, body) != "/g" {
			t.Errorf("GET after HEAD: got %d %q", resp.StatusCode, body)
		}
	})
}

func TestClientLeavingCancelsTheUpstreamWait(t *testing.T) {
	g := start(t, gateway.Options{})
	canceled := make(chan struct{})
	up := serverURL(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // a long poll that answers only when the client is gone
		case <-r.Context().Done():
			close(canceled)
		case <-time.After(10 * time.Second):
		}
	}))
	g.setRoutes(t, gateway.Route{Name: "poll", Host: "poll.test", Upstream: up})
	c := dial(t, g.httpAddr)
	c.send("GET /events HTTP/1.1\r\nHost: poll.test\r\n\r\n")
	time.Sleep(400 * time.Millisecond) // past the time after which the gateway watches the client
	c.Close()
	select {
	case <-canceled:
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream was still waited on 5 s after the client left, want the request canceled")
	}
	lines := g.accessLines(t, 1)
	if len(lines) != 1 || !strings.Contains(lines[0], "path=/events status=499") {
		t.Errorf("got access log %q, want the request logged with status 499", lines)
	}
}

func TestShutdownFinishesRequestsInFlight(t *testing.T) {
	release := make(chan struct{})
	up := serverURL(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		io.WriteString(w, "finished")
	}))
	g, err := gateway.New(gateway.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.SetRoutes([]gateway.Route{{Name: "up", Host: "up.test", Upstream: up}}); err != nil {
		t.Fatal(err)
	}
	ln := listen(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx, ln, nil) }()

	idle := dial(t, ln.Addr().String())
	busy := dial(t, ln.Addr().String())
	busy.send("GET / HTTP/1.1\r\nHost: up.test\r\n\r\n")
	time.Sleep(100 * time.Millisecond)
	cancel()
	if _, err := idle.br.ReadByte(); err != io.EOF {
		t.Errorf("idle connection at shutdown: got err %v, want it closed (EOF)", err)
	}
	close(release)
	if resp, body := busy.response("GET"); resp.StatusCode != 200 || body != "finished" {
		t.Errorf("request in flight at shutdown: got %d %q, want 200 finished", resp.StatusCode, body)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after shutdown")
	}
}

func TestManyPipelinedRequestsBeyondOneBuffer(t *testing.T) {
	g := start(t, gateway.Options{})
	g.setRoutes(t, gateway.Route{Name: "echo", Host: "echo.test", Upstream: upstream(t, "echo")})
	c := dial(t, g.httpAddr)
	const n = 200 // about 8 KiB of requests in one write: more than the fast path buffers at once
	var reqs strings.Builder
	for i := range n {
		fmt.Fprintf(&reqs, "GET /r%d HTTP/1.1\r\nHost: echo.test\r\n\r\n", i)
	}
	go io.WriteString(c, reqs.String())
	for i := range n {
		resp, body := c.response("GET")
		if want := fmt.Sprintf("/r%d", i); resp.StatusCode != 200 || echoPath(t, body) != want {
			t.Fatalf("response %d: got %d %q, want 200 with path %s", i, resp.StatusCode, body, want)
		}
	}
}

func TestSlowClientGetsTheWholeBody(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 256<<10) // 4 MiB: more than the sockets buffer
	up := serverURL(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(big) }))
	g := start(t, gateway.Options{})
	g.setRoutes(t, gateway.Route{Name: "big", Host: "big.test", Upstream: up})
	c := dial(t, g.httpAddr)
	c.send("GET /a HTTP/1.1\r\nHost: big.test\r\n\r\nGET /b HTTP/1.1\r\nHost: big.test\r\n\r\n")
	for range 2 {
		resp, err := http.ReadResponse(c.br, nil)
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		buf := make([]byte, 64<<10)
		for {
			n, err := resp.Body.Read(buf)
			got.Write(buf[:n])
			if err != nil {
				break
			}
			if got.Len()%(1<<20) < len(buf) {
				time.Sleep(20 * time.Millisecond) // a slow reader, now and then
			}
		}
		if !bytes.Equal(got.Bytes(), big) {
			t.Fatalf("got %d bytes that differ from the upstream's %d", got.Len(), len(big))
		}
	}
}

func TestAccessLogFileStartsAfreshPast64MiB(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	reopen := func() *gateway.AccessLogFile {
		t.Helper()
		f, err := gateway.OpenAccessLog(path)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	f := reopen()
	io.WriteString(f, "first line\n")
	f.Close()
	f = reopen() // small: appended to
	io.WriteString(f, "second line\n")
	f.Close()
	if b, _ := os.ReadFile(path); string(b) != "first line\nsecond line\n" {
		t.Fatalf("got %q, want both lines in one file", b)
	}

	// Grown past the limit while stopped: the next start moves it aside.
	os.Truncate(path, 65<<20)
	reopen().Close()
	if fi, err := os.Stat(path); err != nil || fi.Size() != 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("after rotation at open: got %v (err %v), want an empty file with mode 0600", fi, err)
	}
	if old, _ := os.ReadFile(path + ".1"); !bytes.HasPrefix(old, []byte("first line\nsecond line\n")) {
		t.Errorf("the old log starts %.40q, want both lines kept", old)
	}

	// Reaching the limit while running: the line that would pass it starts the new file.
	os.Truncate(path, 64<<20-5)
	f = reopen()
	io.WriteString(f, "a line past the limit\n")
	f.Close()
	if b, _ := os.ReadFile(path); string(b) != "a line past the limit\n" {
		t.Errorf("after rotation while running: the file holds %.40q, want only the new line", b)
	}
	if fi, _ := os.Stat(path + ".1"); fi == nil || fi.Size() != 64<<20-5 {
		t.Errorf("the full file was not kept as .1: %v", fi)
	}
}

// TestHandOverWaitsForQueuedResponses pipelines a large GET, whose response the client is slow to
// read, and a POST that net/http must serve: the POST's answer must come after the whole GET's. (The
// loop also holds a hand-over back while output is queued for the client; that race, a final write
// taken only in part, is too narrow to force from here.)
func TestHandOverWaitsForQueuedResponses(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 512<<10) // 8 MiB: more than a socket's send buffer
	up := serverURL(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			io.WriteString(w, "posted")
			return
		}
		w.Write(big)
	}))
	g := start(t, gateway.Options{})
	g.setRoutes(t, gateway.Route{Name: "big", Host: "big.test", Upstream: up})
	// A small receive window, so that the gateway's writes back up instead of landing in the kernel.
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	nc, err := d.Dial("tcp", g.httpAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	c := &conn{t: t, Conn: nc, br: bufio.NewReaderSize(nc, 1024)}
	c.send("GET /big HTTP/1.1\r\nHost: big.test\r\n\r\nPOST /form HTTP/1.1\r\nHost: big.test\r\nContent-Length: 1\r\n\r\nx")
	time.Sleep(300 * time.Millisecond) // the GET's response backs up in the gateway
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	for buf := make([]byte, 16<<10); ; {
		n, err := resp.Body.Read(buf) // slowly: the gateway's queue stays full to the end
		got.Write(buf[:n])
		if err != nil {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if body := got.String(); body != string(big) {
		t.Fatalf("the GET's body: got %d bytes, want the upstream's %d intact", len(body), len(big))
	}
	if resp, body := c.response("POST"); resp.StatusCode != 200 || body != "posted" {
		t.Errorf("the POST after it: got %d %q, want 200 posted", resp.StatusCode, body)
	}
}
