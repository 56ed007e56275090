package dbfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPrepare(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.db")
	if err := Prepare(path); err != nil {
		t.Fatal(err)
	}
	wantMode(t, path)

	// Files an older version left readable by others, with content that must survive.
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.WriteFile(name, []byte("keep"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(name, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := Prepare(path); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		wantMode(t, name)
		if b, _ := os.ReadFile(name); string(b) != "keep" {
			t.Errorf("%s = %q after Prepare, want its content kept", name, b)
		}
	}

	missing := filepath.Join(dir, "no-such-dir", "x.db")
	if err := Prepare(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("Prepare in a missing directory = %v, want an error naming %s", err, missing)
	}
}

func wantMode(t *testing.T, name string) {
	t.Helper()
	info, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != Mode {
		t.Errorf("%s: mode %o, want %o", filepath.Base(name), got, Mode)
	}
}
