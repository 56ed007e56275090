package gateway

import (
	"bytes"
	"io"
	"net"
	"net/http/httputil"
	"strings"
	"testing"
)

func TestParseRequestHead(t *testing.T) {
	tests := []struct {
		name, head string
		fast       bool
		host       string
		close      bool
	}{
		{"plain GET", "GET /a?b=c HTTP/1.1\r\nHost: x.test\r\nAccept: */*\r\n\r\n", true, "x.test", false},
		{"bare LF lines", "GET / HTTP/1.1\nHost: x.test:8080\n\n", true, "x.test:8080", false},
		{"Connection: close", "HEAD / HTTP/1.1\r\nHost: x.test\r\nConnection: keep-alive, Close\r\n\r\n", true, "x.test", true},
		{"HTTP/1.0", "GET / HTTP/1.0\r\nHost: x.test\r\n\r\n", false, "", false},
		{"POST", "POST / HTTP/1.1\r\nHost: x.test\r\n\r\n", false, "", false},
		{"a body", "GET / HTTP/1.1\r\nHost: x.test\r\nContent-Length: 0\r\n\r\n", false, "", false},
		{"chunked", "GET / HTTP/1.1\r\nHost: x.test\r\nTransfer-Encoding: chunked\r\n\r\n", false, "", false},
		{"upgrade", "GET / HTTP/1.1\r\nHost: x.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", false, "", false},
		{"Connection naming a header", "GET / HTTP/1.1\r\nHost: x.test\r\nConnection: X-Hop\r\n\r\n", false, "", false},
		{"no Host", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", false, "", false},
		{"two Hosts", "GET / HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n", false, "", false},
		{"bad Host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", false, "", false},
		{"escaped target", "GET /a%2Fb HTTP/1.1\r\nHost: x.test\r\n\r\n", false, "", false},
		{"semicolon in query", "GET /a?x=1;y=2 HTTP/1.1\r\nHost: x.test\r\n\r\n", false, "", false},
		{"absolute target", "GET http://x.test/ HTTP/1.1\r\nHost: x.test\r\n\r\n", false, "", false},
		{"asterisk", "OPTIONS * HTTP/1.1\r\nHost: x.test\r\n\r\n", false, "", false},
		{"folded header", "GET / HTTP/1.1\r\nHost: x.test\r\nX-A: 1\r\n 2\r\n\r\n", false, "", false},
		{"control byte in value", "GET / HTTP/1.1\r\nHost: x.test\r\nX-A: \x01\r\n\r\n", false, "", false},
		{"space in header name", "GET / HTTP/1.1\r\nHost: x.test\r\nX A: 1\r\n\r\n", false, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var req requestHead
			ok := parseRequestHead([]byte(tt.head), &req)
			if ok != tt.fast {
				t.Fatalf("got fast=%v, want %v", ok, tt.fast)
			}
			if ok && (string(req.host) != tt.host || req.close != tt.close) {
				t.Errorf("got host %q close %v, want %q %v", req.host, req.close, tt.host, tt.close)
			}
		})
	}
}

func TestParseResponseHead(t *testing.T) {
	tests := []struct {
		name, head string
		wantErr    bool
		length     int64
		chunked    bool
		close      bool
	}{
		{"length", "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", false, 12, false, false},
		{"equal lengths", "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n", false, 5, false, false},
		{"chunked overrides length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", false, -1, true, false},
		{"no reason phrase", "HTTP/1.1 204\r\n\r\n", false, -1, false, false},
		{"HTTP/1.0 close", "HTTP/1.0 200 OK\r\nConnection: close\r\n\r\n", false, -1, false, true},
		{"conflicting lengths", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", true, 0, false, false},
		{"signed length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", true, 0, false, false},
		{"unknown coding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", true, 0, false, false},
		{"HTTP/2 status line", "HTTP/2 200 OK\r\n\r\n", true, 0, false, false},
		{"bad status", "HTTP/1.1 2x0 OK\r\n\r\n", true, 0, false, false},
		{"control byte in the reason", "HTTP/1.1 200 OK\rSet-Cookie: x\r\n\r\n", true, 0, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var resp responseHead
			err := parseResponseHead([]byte(tt.head), &resp)
			if (err != nil) != tt.wantErr {
				t.Fatalf("got err %v, want error: %v", err, tt.wantErr)
			}
			if err == nil && (resp.contentLength != tt.length || resp.chunked != tt.chunked || resp.close != tt.close) {
				t.Errorf("got length %d chunked %v close %v, want %d %v %v", resp.contentLength, resp.chunked, resp.close, tt.length, tt.chunked, tt.close)
			}
		})
	}
}

func TestClientHeadDropsLengthBesideChunked(t *testing.T) {
	var resp responseHead
	if err := parseResponseHead([]byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n"), &resp); err != nil {
		t.Fatal(err)
	}
	head := string(appendClientHead(nil, &resp, false, false, func(b []byte) []byte { return append(b, "now"...) }))
	if strings.Contains(head, "Content-Length") || !strings.Contains(head, "Transfer-Encoding: chunked\r\n") || !strings.Contains(head, "X-A: 1\r\n") {
		t.Errorf("got head %q, want chunked framing only, and the other headers", head)
	}
}

// TestChunkScanner feeds chunked bodies whole and a byte at a time, and checks that the scanner ends
// at the body's end, counting the data net/http's chunked reader decodes.
func TestChunkScanner(t *testing.T) {
	tests := []struct {
		name, body string
		wantErr    bool
	}{
		{"simple", "3\r\nabc\r\n0\r\n\r\n", false},
		{"extensions and upper-case hex", "A;name=v\r\n0123456789\r\n0;x\r\n\r\n", false},
		{"trailers", "2\r\nhi\r\n0\r\nX-Sum: 2\r\nX-More: y\r\n\r\n", false},
		{"bare LF ending lines", "2\nhi\r\n0\n\n", false},
		{"bare LF after data", "2\r\nhi\n0\r\n\r\n", true},
		{"no size", "\r\nabc\r\n0\r\n\r\n", true},
		{"junk after data", "2\r\nhix\r\n0\r\n\r\n", true},
		{"size too large", "ffffffffffffffffff\r\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			input := tt.body + "NEXT"
			for _, step := range []int{len(input), 1} {
				var s chunkScanner
				var total, data int64
				var done bool
				var err error
				for i := 0; i < len(input) && !done && err == nil; i += step {
					var n int
					var d int64
					n, d, done, err = s.scan([]byte(input[i:min(i+step, len(input))]))
					total += int64(n)
					data += d
				}
				if tt.wantErr {
					if err == nil {
						t.Errorf("step %d: got no error, want one", step)
					}
					continue
				}
				if err != nil || !done || total != int64(len(tt.body)) {
					t.Fatalf("step %d: got done=%v after %d bytes (err %v), want done after %d", step, done, total, err, len(tt.body))
				}
				// net/http refuses some framings the scanner lets through for the client to judge.
				decoded, err := io.ReadAll(httputil.NewChunkedReader(strings.NewReader(tt.body)))
				if err == nil && data != int64(len(decoded)) {
					t.Errorf("step %d: got %d data bytes, net/http decodes %d", step, data, len(decoded))
				}
			}
		})
	}
}

func TestConnReaderGrowsForLargeHeads(t *testing.T) {
	head := "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("y", 10_000) + "\r\n\r\nbody"
	cr := connReader{conn: fakeConn{Reader: strings.NewReader(head)}, buf: make([]byte, 64)}
	h, err := cr.head(1 << 20)
	if err != nil || !bytes.HasSuffix(h, []byte("\r\n\r\n")) || len(h) != len(head)-4 {
		t.Fatalf("got head of %d bytes (err %v), want %d", len(h), err, len(head)-4)
	}
	cr.discard(len(h))
	if rest, _ := io.ReadAll(&cr); string(rest) != "body" {
		t.Errorf("after the head: got %q, want body", rest)
	}
	cr = connReader{conn: fakeConn{Reader: strings.NewReader(head)}, buf: make([]byte, 64)}
	if _, err := cr.head(4096); err != errHeadTooLarge {
		t.Errorf("over the limit: got %v, want errHeadTooLarge", err)
	}
}

// fakeConn is a net.Conn that reads from a Reader; nothing else of it is used.
type fakeConn struct {
	net.Conn
	Reader io.Reader
}

func (c fakeConn) Read(p []byte) (int, error) { return c.Reader.Read(p) }

// FuzzHeads feeds arbitrary bytes to the parsers the fast path runs on what clients and upstreams
// send: none may panic, and the chunk scanner never claims more bytes than it was given.
func FuzzHeads(f *testing.F) {
	for _, seed := range []string{
		"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
		"HTTP/1.0 304\r\nConnection: close, x\r\n\r\n",
		"3;x\r\nabc\r\n0\r\nT: v\r\n\r\n",
		"GET /a?b;c HTTP/1.1\nHost: [::1]:80\nConnection: close\n\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var req requestHead
		parseRequestHead(b, &req)
		var resp responseHead
		parseResponseHead(b, &resp)
		for _, f := range resp.fields {
			resp.hopByHop(f.name)
		}
		var s chunkScanner
		for rest := b; len(rest) > 0; {
			n, data, done, err := s.scan(rest[:min(len(rest), 7)])
			if n < 0 || n > min(len(rest), 7) || data > int64(n) {
				t.Fatalf("scan took %d bytes (%d data) of %d", n, data, min(len(rest), 7))
			}
			if done || err != nil {
				break
			}
			rest = rest[n:]
		}
		headEnd(b, 0)
	})
}
