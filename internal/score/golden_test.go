package score

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestGolden compares every rendered file with its golden file under testdata/golden/<scenario>/; run
// go test -update to accept a change after reading the diff.
func TestGolden(t *testing.T) {
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			files := sc.render(t)
			dir := filepath.Join("testdata", "golden", sc.name)
			if *update {
				writeGolden(t, dir, files)
			}
			want := readGolden(t, dir)
			for p, got := range files {
				w, ok := want[p]
				if !ok {
					t.Errorf("%s: rendered but has no golden file (run go test -update to accept)", p)
					continue
				}
				if !bytes.Equal(got, w) {
					t.Errorf("%s differs from its golden file (run go test -update to accept):\n--- got\n%s\n--- want\n%s", p, got, w)
				}
			}
			for p := range want {
				if _, ok := files[p]; !ok {
					t.Errorf("%s: golden file exists but was not rendered", p)
				}
			}
		})
	}
}

// TestRenderIsDeterministic renders each scenario repeatedly: maps must never leak their order.
func TestRenderIsDeterministic(t *testing.T) {
	for _, sc := range scenarios() {
		first := sc.render(t)
		for i := 0; i < 5; i++ {
			again := sc.render(t)
			for p := range first {
				if !bytes.Equal(first[p], again[p]) {
					t.Fatalf("%s: %s differs between two renderings:\n%s\n---\n%s", sc.name, p, first[p], again[p])
				}
			}
		}
	}
}

func writeGolden(t *testing.T, dir string, files map[string][]byte) {
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

func readGolden(t *testing.T, dir string) map[string][]byte {
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
		if err != nil {
			return err
		}
		out[filepath.ToSlash(rel)] = data
		return nil
	})
	if err != nil {
		t.Fatalf("reading golden files (run go test -update to create them): %v", err)
	}
	if len(out) == 0 {
		t.Fatalf("no golden files under %s (run go test -update to create them)", dir)
	}
	return out
}

// goldenFiles reads every golden file of every scenario, keyed by scenario and path, for tests that check
// properties of all rendered output.
func goldenFiles(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, sc := range scenarios() {
		for p, data := range readGolden(t, filepath.Join("testdata", "golden", sc.name)) {
			out[sc.name+":"+p] = data
		}
	}
	return out
}
