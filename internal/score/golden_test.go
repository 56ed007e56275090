package score

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/goldenpathidp/goldenpath/internal/golden"
)

// TestGolden compares every rendered file with its golden file under testdata/golden/<scenario>/; run
// go test -update to accept a change after reading the diff.
func TestGolden(t *testing.T) {
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			files := sc.render(t)
			golden.Check(t, filepath.Join("testdata", "golden", sc.name), files, *update)
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

// goldenFiles reads every golden file of every scenario, keyed by scenario and path, for tests that check
// properties of all rendered output.
func goldenFiles(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, sc := range scenarios() {
		for p, data := range golden.Read(t, filepath.Join("testdata", "golden", sc.name)) {
			out[sc.name+":"+p] = data
		}
	}
	return out
}
