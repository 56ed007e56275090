package localrun

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
)

// logFile is an app's output on disk, keeping about the last limit bytes: it grows to twice the limit,
// then is cut back to the last limit bytes at a line boundary. Old and new processes write to it
// concurrently during a swap.
type logFile struct {
	mu    sync.Mutex
	path  string
	limit int64
	f     *os.File
	size  int64
	err   error // the first write error, kept so a full disk is reported once, not per line
}

func openLogFile(path string, limit int64) (*logFile, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the app log: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("opening the app log: %w", err)
	}
	return &logFile{path: path, limit: limit, f: f, size: fi.Size()}, nil
}

// Write never fails: an error here would make os/exec stop copying and the app die of SIGPIPE,
// and a log is not worth an outage. The first error is remembered for Err.
func (l *logFile) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return len(p), nil
	}
	n, err := l.f.Write(p)
	l.size += int64(n)
	if err == nil && l.size > 2*l.limit {
		err = l.trim()
	}
	if err != nil && l.err == nil {
		l.err = err
	}
	return len(p), nil
}

// trim keeps the last limit bytes, from the first line start among them.
func (l *logFile) trim() error {
	keep, err := lastBytes(l.path, l.limit)
	if err != nil {
		return err
	}
	tmp := l.path + ".tmp"
	if err := os.WriteFile(tmp, keep, 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, l.path); err != nil {
		return err
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	l.f.Close()
	l.f, l.size = f, int64(len(keep))
	return nil
}

// Tail is the kept output, at most limit bytes.
func (l *logFile) Tail() ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return lastBytes(l.path, l.limit)
}

func (l *logFile) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return errors.Join(err, l.err)
}

// lastBytes reads up to n bytes from the end of file; when that cuts a line, the partial line is
// dropped.
func lastBytes(path string, n int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	off := max(fi.Size()-n, 0)
	buf := make([]byte, fi.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if off > 0 {
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			buf = buf[i+1:]
		}
	}
	return buf, nil
}

// outputTail keeps the first and the last lines a process wrote, for the error that explains why it
// failed: the first lines say how it started (the port it listened on, its configuration), the last
// ones how it ended.
type outputTail struct {
	mu       sync.Mutex
	head     []byte // the first headLines lines, at most maxHead bytes
	tail     []byte // the last maxTail bytes
	newlines int
}

const (
	headLines = 5
	maxHead   = 2 << 10
	maxTail   = 8 << 10
)

func (o *outputTail) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if n := bytes.Count(o.head, []byte("\n")); n < headLines && len(o.head) < maxHead {
		o.head = append(o.head, firstLines(p, headLines-n)...)
		o.head = o.head[:min(len(o.head), maxHead)]
	}
	o.tail = append(o.tail, p...)
	if over := len(o.tail) - maxTail; over > 0 {
		o.tail = append(o.tail[:0], o.tail[over:]...)
	}
	o.newlines += bytes.Count(p, []byte("\n"))
	return len(p), nil
}

// firstLines is p up to and including its n-th newline.
func firstLines(p []byte, n int) []byte {
	for i, c := range p {
		if c == '\n' {
			if n--; n == 0 {
				return p[:i+1]
			}
		}
	}
	return p
}

// summary is the whole output when it is at most n lines, else its first lines, "[...]" and its
// last lines, n in all.
func (o *outputTail) summary(n int) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	last := strings.Split(strings.TrimRight(string(o.tail), "\n"), "\n")
	if o.newlines <= n && len(o.tail) < maxTail {
		return strings.Join(last, "\n")
	}
	if len(o.tail) >= maxTail {
		last = last[1:] // the oldest line kept is cut
	}
	head := strings.Split(strings.TrimRight(string(o.head), "\n"), "\n")
	last = last[max(0, len(last)-(n-len(head))):]
	return strings.Join(head, "\n") + "\n[...]\n" + strings.Join(last, "\n")
}
