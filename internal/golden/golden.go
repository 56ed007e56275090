// Package golden compares a renderer's output — files by slash-separated path — with golden files kept
// under a test's testdata directory. Tests pass their -update flag to rewrite the golden files from the
// current output, to be read as a diff before committing.
package golden

import (
	"bytes"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// Check compares files with the golden files under dir, after rewriting them from files if update is set:
// a file that differs, one rendered without a golden file and a golden file not rendered are errors.
func Check(t testing.TB, dir string, files map[string][]byte, update bool) {
	t.Helper()
	if update {
		write(t, dir, files)
	}
	want := Read(t, dir)
	for _, p := range slices.Sorted(maps.Keys(files)) {
		w, ok := want[p]
		if !ok {
			t.Errorf("%s: rendered but has no golden file (run go test -update to accept)", p)
			continue
		}
		if !bytes.Equal(files[p], w) {
			t.Errorf("%s differs from its golden file (run go test -update to accept):\n--- got\n%s\n--- want\n%s", p, files[p], w)
		}
	}
	for _, p := range slices.Sorted(maps.Keys(want)) {
		if _, ok := files[p]; !ok {
			t.Errorf("%s: golden file exists but was not rendered", p)
		}
	}
}

// Read returns the golden files under dir by slash-separated path; none is an error.
func Read(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatalf("reading golden files (run go test -update to create them): %v", err)
	}
	if len(out) == 0 {
		t.Fatalf("no golden files under %s (run go test -update to create them)", dir)
	}
	return out
}

func write(t testing.TB, dir string, files map[string][]byte) {
	t.Helper()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	for p, data := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
