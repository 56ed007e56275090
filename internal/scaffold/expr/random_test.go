package expr

import (
	"encoding/json"
	"os"
	"testing"
)

// TestNunjucksRandomGolden renders pseudo-random filter chains over every kind of value and compares with
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
			Src   string  `json:"src"`
			Out   *string `json:"out"`
			Error string  `json:"error"`
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
		got, err := e.Render("random", c.Src, vars, RenderOptions{})
		bad := ""
		switch {
		case c.Out == nil && err == nil:
			bad = "renders " + got + "; Nunjucks fails: " + c.Error
		case c.Out != nil && err != nil:
			bad = "fails: " + err.Error() + "; Nunjucks renders " + *c.Out
		case c.Out != nil && got != *c.Out:
			bad = "renders " + got + "; Nunjucks renders " + *c.Out
		}
		if bad != "" {
			failed++
			t.Errorf("%s %s", c.Src, bad)
		}
	}
	if failed > 0 {
		t.Errorf("%d of %d differ", failed, len(spec.Cases))
	}
}
