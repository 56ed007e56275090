package gateway_test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/websocket"

	"github.com/goldenpathidp/goldenpath/internal/gateway"
)

func TestNotRoutedPage(t *testing.T) {
	g := start(t, gateway.Options{})
	g.setRoutes(t, gateway.Route{Name: "secret-admin", Host: "secret-admin.test", Upstream: upstream(t, "svc")})
	tests := []struct {
		name, accept, wantType string
		want                   []string
	}{
		{"curl gets text", "*/*", "text/plain", []string{"404 Host not routed", `"unknown.test"`, "change request"}},
		{"browser gets HTML", "text/html,application/xhtml+xml;q=0.9", "text/html", []string{"<h1>404 Host not routed</h1>", "&#34;unknown.test&#34;", "change request"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := do(t, g.http(t), "http://unknown.test:8080/x", "Accept", tt.accept)
			body := readBody(t, resp)
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("got status %d, want 404", resp.StatusCode)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, tt.wantType) {
				t.Errorf("got Content-Type %q, want %s", ct, tt.wantType)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %q:\n%s", w, body)
				}
			}
			if strings.Contains(body, "secret-admin") {
				t.Errorf("page for an unknown host lists a routed host:\n%s", body)
			}
		})
	}
}

func TestUpstreamFailurePages(t *testing.T) {
	g := start(t, gateway.Options{UpstreamTimeout: 300 * time.Millisecond})
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := mustURL(t, down.URL)
	down.Close() // nothing listens on its port any more
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	slow := serverURL(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	hangup := serverURL(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, _ := http.NewResponseController(w).Hijack()
		conn.Close()
	}))
	g.setRoutes(t,
		gateway.Route{Name: "billing", Host: "down.test", Upstream: downURL},
		gateway.Route{Name: "reports", Host: "slow.test", Upstream: slow},
		gateway.Route{Name: "crashy", Host: "hangup.test", Upstream: hangup},
	)
	tests := []struct {
		name   string
		url    string
		status int
		want   []string
	}{
		{"refused", "http://down.test/", http.StatusBadGateway, []string{"502 Upstream unreachable", `"billing"`, downURL.String(), "refused"}},
		{"timeout", "http://slow.test/", http.StatusGatewayTimeout, []string{"504 Upstream timed out", `"reports"`, slow.String(), "300ms"}},
		{"hang-up", "http://hangup.test/", http.StatusBadGateway, []string{"502 Upstream unreachable", `"crashy"`, hangup.String(), "closed the connection before answering"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t0 := time.Now()
			resp := do(t, g.http(t), tt.url)
			body := readBody(t, resp)
			if resp.StatusCode != tt.status {
				t.Errorf("got status %d, want %d", resp.StatusCode, tt.status)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %q:\n%s", w, body)
				}
			}
			if d := time.Since(t0); d > 3*time.Second {
				t.Errorf("error page took %s, want it within the upstream timeout", d)
			}
		})
	}
}

func TestStreamingResponse(t *testing.T) {
	g := start(t, gateway.Options{})
	next := make(chan struct{})
	up := serverURL(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 3 {
			fmt.Fprintf(w, "data: %d\n\n", i)
			w.(http.Flusher).Flush()
			select {
			case <-next:
			case <-r.Context().Done():
				return
			}
		}
	}))
	g.setRoutes(t, gateway.Route{Name: "events", Host: "events.test", Upstream: up})
	resp, err := g.http(t).Get("http://events.test/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	for i := range 3 {
		// The upstream writes event i+1 only after the client has read event i, so each read
		// succeeds only if the gateway forwards events as they come.
		line, err := readWithin(r, 2*time.Second)
		if want := fmt.Sprintf("data: %d\n", i); err != nil || line != want {
			t.Fatalf("event %d: got %q (err %v), want %q before the upstream finishes", i, line, err, want)
		}
		r.ReadString('\n') // blank line
		next <- struct{}{}
	}
}

func readWithin(r *bufio.Reader, d time.Duration) (string, error) {
	type result struct {
		line string
		err  error
	}
	c := make(chan result, 1)
	go func() { line, err := r.ReadString('\n'); c <- result{line, err} }()
	select {
	case res := <-c:
		return res.line, res.err
	case <-time.After(d):
		return "", fmt.Errorf("nothing within %s", d)
	}
}

func TestStreamingRequestBody(t *testing.T) {
	g := start(t, gateway.Options{})
	got := make(chan string, 1)
	up := serverURL(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 5)
		n, _ := io.ReadFull(r.Body, buf)
		got <- string(buf[:n]) // before the client has sent the rest
		io.Copy(io.Discard, r.Body)
	}))
	g.setRoutes(t, gateway.Route{Name: "upload", Host: "upload.test", Upstream: up})
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		resp, err := g.http(t).Post("http://upload.test/", "application/octet-stream", pr)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	pw.Write([]byte("first"))
	select {
	case first := <-got:
		if first != "first" {
			t.Errorf("upstream got %q first, want first", first)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("upstream got nothing of a body still being sent, want it streamed")
	}
	pw.Write([]byte(" and the rest"))
	pw.Close()
	if err := <-done; err != nil {
		t.Fatalf("POST: %v", err)
	}
}

func TestWebSocketThroughGateway(t *testing.T) {
	g := start(t, gateway.Options{})
	up := serverURL(t, websocket.Handler(func(ws *websocket.Conn) { io.Copy(ws, ws) }))
	g.setRoutes(t, gateway.Route{Name: "ws", Host: "ws.test", Upstream: up})
	for _, tt := range []struct {
		name, scheme, origin string
		dial                 func() (net.Conn, error)
	}{
		{"ws", "ws", "http://ws.test", func() (net.Conn, error) { return net.Dial("tcp", g.httpAddr) }},
		{"wss", "wss", "https://ws.test", func() (net.Conn, error) {
			return dialTLS(g.httpsAddr, "ws.test", g.CACertPEM())
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := tt.dial()
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := websocket.NewConfig(tt.scheme+"://ws.test/echo", tt.origin)
			if err != nil {
				t.Fatal(err)
			}
			ws, err := websocket.NewClient(cfg, conn)
			if err != nil {
				t.Fatalf("WebSocket handshake through the gateway: %v", err)
			}
			defer ws.Close()
			for _, msg := range []string{"hello", "again"} {
				if err := websocket.Message.Send(ws, msg); err != nil {
					t.Fatalf("send: %v", err)
				}
				var echo string
				ws.SetReadDeadline(time.Now().Add(5 * time.Second))
				if err := websocket.Message.Receive(ws, &echo); err != nil || echo != msg {
					t.Fatalf("got echo %q (err %v), want %q", echo, err, msg)
				}
			}
		})
	}
	// The access log line comes when the proxied connection ends.
	g.accessLines(t, 2)
	if got := strings.Count(g.access.String(), "status=101"); got != 2 {
		t.Errorf("got %d access log lines with status=101, want 2:\n%s", got, g.access.String())
	}
}

func TestAccessLog(t *testing.T) {
	g := start(t, gateway.Options{})
	up := serverURL(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, "twelve bytes")
	}))
	g.setRoutes(t, gateway.Route{Name: "orders", Host: "orders.test", Upstream: up})
	c := g.http(t)
	do(t, c, "http://orders.test/v1/orders?token=s3cr3t")
	do(t, c, "http://nowhere.test/x")
	lines := g.accessLines(t, 2)
	if len(lines) != 2 {
		t.Fatalf("got %d access log lines, want 2:\n%s", len(lines), g.access.String())
	}
	// Lines are written as handlers return, which need not be the order of the requests.
	byHost := map[string]string{}
	for _, line := range lines {
		if f := strings.Fields(line); len(f) > 1 {
			byHost[strings.TrimPrefix(f[1], "host=")] = line
		}
	}
	tests := []struct {
		host string
		want map[string]string
	}{
		{"orders.test", map[string]string{"method": "GET", "path": "/v1/orders", "status": "201", "bytes": "12", "upstream": up.String(), "route": "orders"}},
		{"nowhere.test", map[string]string{"path": "/x", "status": "404", "upstream": "-", "route": "-"}},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			line, ok := byHost[tt.host]
			if !ok {
				t.Fatalf("no line with host=%s in\n%s", tt.host, g.access.String())
			}
			fields := strings.Fields(line)
			if _, err := time.Parse(time.RFC3339, fields[0]); err != nil {
				t.Errorf("line %q: first field is not a time: %v", line, err)
			}
			kv := map[string]string{}
			for _, f := range fields[1:] {
				k, v, _ := strings.Cut(f, "=")
				kv[k] = v
			}
			for k, want := range tt.want {
				if kv[k] != want {
					t.Errorf("line %q: got %s=%q, want %q", line, k, kv[k], want)
				}
			}
			if _, err := time.ParseDuration(kv["dur"]); err != nil {
				t.Errorf("line %q: dur %q is not a duration", line, kv["dur"])
			}
			if strings.Contains(line, "s3cr3t") {
				t.Errorf("line %q holds the query string, which may carry secrets", line)
			}
		})
	}
}

func TestBadRequestsDoNotBreakTheGateway(t *testing.T) {
	g := start(t, gateway.Options{})
	g.setRoutes(t, gateway.Route{Name: "a", Host: "a.test", Upstream: upstream(t, "svc")})
	huge := strings.Repeat("x", 900<<10) // under net/http's 1 MB header limit
	tests := []struct {
		name    string
		request string
		want    []int // acceptable statuses
	}{
		{"malformed Host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", []int{400}},
		{"unbalanced IPv6 Host", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", []int{400, 404}},
		{"empty Host", "GET / HTTP/1.1\r\nHost: \r\n\r\n", []int{404}},
		{"port only", "GET / HTTP/1.1\r\nHost: :80\r\n\r\n", []int{404}},
		{"asterisk target (net/http answers it)", "OPTIONS * HTTP/1.1\r\nHost: a.test\r\n\r\n", []int{200}},
		{"absolute-form target", "GET http://a.test/x HTTP/1.1\r\nHost: other.test\r\n\r\n", []int{200}},
		{"huge header", "GET / HTTP/1.1\r\nHost: a.test\r\nX-Big: " + huge + "\r\n\r\n", []int{200, 431}},
		{"header over the limit", "GET / HTTP/1.1\r\nHost: a.test\r\nX-Big: " + huge + huge + "\r\n\r\n", []int{431}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, err := rawRequest(g.httpAddr, tt.request)
			if err != nil {
				t.Fatalf("raw request: %v", err)
			}
			if !slices.Contains(tt.want, status) {
				t.Errorf("got status %d, want one of %v", status, tt.want)
			}
			if got := get(t, g.http(t), "http://a.test/").Name; got != "svc" {
				t.Errorf("after the bad request: got upstream %q, want svc", got)
			}
		})
	}
}

func rawRequest(addr, request string) (int, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	go io.WriteString(conn, request) // the server may answer 431 before reading it all
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func dialTLS(addr, host string, caPEM []byte) (net.Conn, error) {
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	return tls.Dial("tcp", addr, &tls.Config{ServerName: host, RootCAs: roots, NextProtos: []string{"http/1.1"}})
}
