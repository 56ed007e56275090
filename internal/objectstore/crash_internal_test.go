package objectstore

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// A crash after a body reached blobs/ but before its metadata committed, or while a body
// was still in tmp/, must leave nothing behind once the store opens again.
func TestRestartRemovesBytesThatNeverBecameVisible(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Credentials: NewStaticCredentials()}
	s, err := New(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.CreateTemp(s.blobs.tmp, "put-*")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("orphan bytes"); err != nil {
		t.Fatal(err)
	}
	id, err := s.blobs.commit(f) // durable in blobs/, but no version references it: "crash" now
	if err != nil {
		t.Fatal(err)
	}
	half := filepath.Join(s.blobs.tmp, "put-interrupted")
	if err := os.WriteFile(half, []byte("half an upl"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = New(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := os.Stat(s.blobs.path(id)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("uncommitted blob after restart: stat error %v, want not-exist", err)
	}
	if _, err := os.Stat(half); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("interrupted temp file after restart: stat error %v, want not-exist", err)
	}
	var n int
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM trash`).Scan(&n); err != nil || n != 0 {
		t.Errorf("trash rows after restart: got %d, %v; want 0", n, err)
	}
}
