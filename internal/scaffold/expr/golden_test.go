package expr

import (
	"encoding/json"
	"os"
	"testing"
)

// TestNunjucksGolden renders testdata/nunjucks/cases.json and compares with golden.json: the output of the
// real Nunjucks configured as Backstage configures it (scripts/nunjucks-golden.sh regenerates it). Each
// case is a place where the engine once differed from Backstage.
func TestNunjucksGolden(t *testing.T) {
	raw, err := os.ReadFile("testdata/nunjucks/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Context json.RawMessage `json:"context"`
		Cases   []struct {
			Name         string `json:"name"`
			Src          string `json:"src"`
			TrimBlocks   bool   `json:"trimBlocks"`
			LstripBlocks bool   `json:"lstripBlocks"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}
	raw, err = os.ReadFile("testdata/nunjucks/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var golden map[string]struct {
		Out   *string `json:"out"`
		Error string  `json:"error"`
	}
	if err := json.Unmarshal(raw, &golden); err != nil {
		t.Fatal(err)
	}
	e := New(Options{})
	for _, c := range spec.Cases {
		t.Run(c.Name, func(t *testing.T) {
			want, ok := golden[c.Name]
			if !ok {
				t.Fatalf("no golden output: run scripts/nunjucks-golden.sh")
			}
			vars, err := DecodeObject(spec.Context) // objects keep their order, as in JavaScript
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.Render(c.Name, c.Src, vars, RenderOptions{TrimBlocks: c.TrimBlocks, LstripBlocks: c.LstripBlocks})
			switch {
			case want.Out == nil && err == nil:
				t.Errorf("Render(%q) = %q, Nunjucks fails: %s", c.Src, got, want.Error)
			case want.Out != nil && err != nil:
				t.Errorf("Render(%q): %v; Nunjucks renders %q", c.Src, err, *want.Out)
			case want.Out != nil && got != *want.Out:
				t.Errorf("Render(%q)\n got %q\nwant %q (Nunjucks)", c.Src, got, *want.Out)
			}
		})
	}
}
