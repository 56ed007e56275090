package expr

import (
	"encoding/json"
	"os"
	"testing"
)

// TestStringifyYAMLGolden compares StringifyYAML with what the `yaml` package's stringify (Backstage's
// catalog:write) writes for pseudo-random JSON values full of YAML's special characters
// (testdata/yaml/random.json, from scripts/nunjucks-golden.sh).
func TestStringifyYAMLGolden(t *testing.T) {
	raw, err := os.ReadFile("testdata/yaml/random.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct{ JSON, YAML string }
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	failed := 0
	for i, c := range cases {
		v, err := DecodeJSON([]byte(c.JSON))
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		got, err := StringifyYAML(v)
		if err != nil {
			t.Errorf("case %d: %v", i, err)
			continue
		}
		if got != c.YAML {
			if failed++; failed <= 5 {
				t.Errorf("case %d: %s\n got:\n%s\nwant (yaml.stringify):\n%s", i, c.JSON, got, c.YAML)
			}
		}
	}
	if failed > 0 {
		t.Errorf("%d of %d cases differ", failed, len(cases))
	}
}
