package gateway

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// accessLog writes one line per request:
//
//	2026-03-01T12:00:00.123Z host=api.dev.test method=GET path=/v1/x status=200 bytes=512 dur=0.734ms upstream=http://127.0.0.1:9000 route=api
//
// The query string is left out: it is where tokens and signatures travel. Lines are built in pooled
// buffers and written whole, one Write each, so concurrent requests never interleave.
type accessLog struct {
	mu        sync.Mutex
	w         io.Writer
	lines     sync.Pool // *[]byte
	recorders sync.Pool // *recorder
}

// maxAccessLogSize is the size past which the access log file starts afresh.
const maxAccessLogSize = 64 << 20

// AccessLogFile is the access log's file: it appends, and once the file passes 64 MiB it moves it to
// path.1 (replacing the one there) and starts a new one, so that a gateway left running for weeks keeps
// at most two files' worth. The gateway writes it one whole line at a time, from one goroutine at a
// time.
type AccessLogFile struct {
	path string
	f    *os.File
	size int64
}

// OpenAccessLog opens the access log file at path for appending, creating it with mode 0600, and
// starts afresh at once if the file is already past the limit.
func OpenAccessLog(path string) (*AccessLogFile, error) {
	l := &AccessLogFile{path: path}
	if err := l.open(); err != nil {
		return nil, err
	}
	if l.size > maxAccessLogSize {
		if err := l.rotate(); err != nil {
			l.f.Close()
			return nil, err
		}
	}
	return l, nil
}

func (l *AccessLogFile) open() error {
	f, err := os.OpenFile(l.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("opening the access log: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("opening the access log: %w", err)
	}
	l.f, l.size = f, fi.Size()
	return nil
}

func (l *AccessLogFile) rotate() error {
	if err := os.Rename(l.path, l.path+".1"); err != nil {
		return fmt.Errorf("rotating the access log: %w", err)
	}
	old := l.f
	if err := l.open(); err != nil {
		l.f = old // keep writing where we were rather than lose lines
		return err
	}
	old.Close()
	return nil
}

// Write appends p, starting a new file first if p would take this one past the limit.
func (l *AccessLogFile) Write(p []byte) (int, error) {
	if l.size > 0 && l.size+int64(len(p)) > maxAccessLogSize {
		l.rotate() // on failure the line still goes to the current file
	}
	n, err := l.f.Write(p)
	l.size += int64(n)
	return n, err
}

// Close closes the file.
func (l *AccessLogFile) Close() error { return l.f.Close() }

func newAccessLog(w io.Writer) *accessLog {
	l := &accessLog{w: w}
	l.lines.New = func() any { b := make([]byte, 0, 256); return &b }
	l.recorders.New = func() any { return new(recorder) }
	return l
}

func (l *accessLog) write(start time.Time, r *http.Request, rec *recorder, rt *route) {
	status := rec.status
	if status == 0 {
		status = http.StatusOK // the handler wrote nothing; net/http sends an empty 200
	}
	l.line(start, r.Host, r.Method, r.URL.EscapedPath(), status, rec.bytes, rt)
}

// line writes one request's line; path is escaped, without the query.
func (l *accessLog) line(start time.Time, host, method, path string, status int, bytes int64, rt *route) {
	bp := l.lines.Get().(*[]byte)
	b := start.UTC().AppendFormat((*bp)[:0], "2006-01-02T15:04:05.000Z")
	b = appendField(b, " host=", host)
	b = appendField(b, " method=", method)
	b = appendField(b, " path=", path)
	b = append(b, " status="...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, " bytes="...)
	b = strconv.AppendInt(b, bytes, 10)
	b = append(b, " dur="...)
	b = strconv.AppendFloat(b, float64(time.Since(start).Microseconds())/1000, 'f', 3, 64)
	b = append(b, "ms"...)
	upstream, name := "-", "-"
	if rt != nil {
		upstream, name = rt.upstream, rt.Name
	}
	b = appendField(b, " upstream=", upstream)
	b = appendField(b, " route=", name)
	b = append(b, '\n')
	l.mu.Lock()
	l.w.Write(b) // a failing access log must not fail the request it describes
	l.mu.Unlock()
	*bp = b
	l.lines.Put(bp)
}

// appendField appends key and v, quoting v when it is empty or holds spaces, quotes or
// non-printable bytes, so that every line splits on spaces into key=value fields.
func appendField(b []byte, key, v string) []byte {
	b = append(b, key...)
	if needsQuote(v) {
		return strconv.AppendQuote(b, v)
	}
	return append(b, v...)
}

func needsQuote(v string) bool {
	if v == "" {
		return true
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= ' ' || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

// recorder notes the status and body size of a response for the access log.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (l *accessLog) recorder(w http.ResponseWriter) *recorder {
	rec := l.recorders.Get().(*recorder)
	rec.ResponseWriter = w
	return rec
}

func (l *accessLog) release(rec *recorder) {
	*rec = recorder{}
	l.recorders.Put(rec)
}

func (rec *recorder) WriteHeader(code int) {
	// 1xx interim responses (100 Continue, 103 Early Hints) precede the real status.
	if rec.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		rec.status = code
	}
	rec.ResponseWriter.WriteHeader(code)
}

func (rec *recorder) Write(p []byte) (int, error) {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	n, err := rec.ResponseWriter.Write(p)
	rec.bytes += int64(n)
	return n, err
}

// Hijack is how a WebSocket upgrade takes the connection; the proxy writes the 101 itself.
func (rec *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(rec.ResponseWriter).Hijack()
	if err == nil && rec.status == 0 {
		rec.status = http.StatusSwitchingProtocols
	}
	return conn, brw, err
}

// Flush lets streamed responses reach the client as they are written.
func (rec *recorder) Flush() {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	http.NewResponseController(rec.ResponseWriter).Flush()
}

// Unwrap gives http.ResponseController the underlying writer (deadlines, full duplex).
func (rec *recorder) Unwrap() http.ResponseWriter { return rec.ResponseWriter }
