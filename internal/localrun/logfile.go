package localrun

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
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

// tailBuffer keeps the last bytes a process wrote, for the error that explains why it failed.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// lines is the last n complete-or-not lines written.
func (t *tailBuffer) lines(n int) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	ls := bytes.Split(bytes.TrimRight(t.buf, "\n"), []byte("\n"))
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return string(bytes.Join(ls, []byte("\n")))
}
