package actions

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCatalogWriteAsBackstage: catalog:write writes an entity as Backstage's does (yaml.stringify of the
// `yaml` package): 2-space indents, sequences indented under their key, keys in the order the template
// wrote them (integer-like keys first, as in JavaScript), strings quoted only where YAML needs it, long
// lines folded at 80 columns, multi-line strings as block scalars. testdata/catalog-write/*.want.yaml are
// yaml.stringify's own output (scripts/nunjucks-golden.sh).
func TestCatalogWriteAsBackstage(t *testing.T) {
	ins, _ := filepath.Glob("testdata/catalog-write/*.in.yaml")
	if len(ins) == 0 {
		t.Fatal("no cases in testdata/catalog-write")
	}
	for _, in := range ins {
		name := strings.TrimSuffix(filepath.Base(in), ".in.yaml")
		t.Run(name, func(t *testing.T) {
			entity, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(strings.TrimSuffix(in, ".in.yaml") + ".want.yaml")
			if err != nil {
				t.Fatal(err)
			}
			steps := "    - id: w\n      action: catalog:write\n      input:\n        filePath: out.yaml\n        entity:\n" +
				"          " + strings.ReplaceAll(strings.TrimRight(string(entity), "\n"), "\n", "\n          ") + "\n"
			ws, _, _, err := run(t, steps, nil, nil, false)
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(ws, "out.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Errorf("catalog:write wrote\n%s\nBackstage writes\n%s", got, want)
			}
		})
	}
}
