package expr

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"
)

// TestNunjucksRandomGolden renders pseudo-random filter chains over every kind of value, expressions, and
// texts of blocks with whitespace control (with and without trimBlocks/lstripBlocks), and compares with
// the real Nunjucks (testdata/nunjucks/random.json, from scripts/nunjucks-golden.sh): the same output, or an
// error where Nunjucks fails.
func TestNunjucksRandomGolden(t *testing.T) {
	raw, err := os.ReadFile("testdata/nunjucks/random.json")
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Context json.RawMessage `json:"context"`
		Cases   []struct {
			Src          string  `json:"src"`
			Out          *string `json:"out"`
			Error        string  `json:"error"`
			TrimBlocks   bool    `json:"trimBlocks"`
			LstripBlocks bool    `json:"lstripBlocks"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}
	e := New(Options{})
	failed := 0
	for _, c := range spec.Cases {
		vars, err := DecodeObject(spec.Context)
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.Render("random", c.Src, vars, RenderOptions{TrimBlocks: c.TrimBlocks, LstripBlocks: c.LstripBlocks})
		bad := ""
		switch {
		case c.Out == nil && err == nil:
			bad = fmt.Sprintf("renders %q; Nunjucks fails: %s", got, c.Error)
		case c.Out != nil && err != nil:
			bad = fmt.Sprintf("fails: %v; Nunjucks renders %q", err, *c.Out)
		case c.Out != nil && got != *c.Out:
			bad = fmt.Sprintf("renders %q; Nunjucks renders %q", got, *c.Out)
		}
		if bad != "" {
			failed++
			t.Errorf("%q (trimBlocks %v, lstripBlocks %v) %s", c.Src, c.TrimBlocks, c.LstripBlocks, bad)
		}
	}
	if failed > 0 {
		t.Errorf("%d of %d differ", failed, len(spec.Cases))
	}
}
