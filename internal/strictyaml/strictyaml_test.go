package strictyaml

import (
	"strings"
	"testing"
)

func TestParseRefusesDuplicateKeys(t *testing.T) {
	for _, tt := range []struct {
		name      string
		doc       string
		wantField string
		wantLine  int
		wantRule  string
	}{
		{"top level", "kind: A\nname: x\nkind: B\n", "kind", 3, `key "kind" at line 3 repeats line 1`},
		{"nested", "spec:\n  size: small\n  engine: postgres\n  size: large\n", "spec.size", 4, `key "size" at line 4 repeats line 2`},
		{"in a list item", "envs:\n  - name: dev\n    approvals: 1\n    name: prod\n", "envs[0].name", 4, `key "name" at line 4 repeats line 2`},
		{"quoted and plain spellings", "a: 1\n\"a\": 2\n", "a", 2, `key "a" at line 2 repeats line 1`},
		{"JSON", "{\"kind\": \"A\",\n \"kind\": \"B\"}\n", "kind", 2, `key "kind" at line 2 repeats line 1`},
		{"second document", "a: 1\n---\nb: 1\nb: 2\n", "b", 4, `key "b" at line 4 repeats line 3`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tt.doc))
			es, ok := AsErrors(err)
			if !ok || len(es) != 1 {
				t.Fatalf("Parse = %v, want one FieldError", err)
			}
			if e := es[0]; e.File != "x.yaml" || e.Field != tt.wantField || e.Line != tt.wantLine || !strings.HasPrefix(e.Rule, tt.wantRule) {
				t.Errorf("got %s (field %q, line %d), want field %q, line %d, rule %q", e, e.Field, e.Line, tt.wantField, tt.wantLine, tt.wantRule)
			}
		})
	}
}

func TestParseAcceptsTheSameKeyInDifferentMappings(t *testing.T) {
	docs, err := Parse("x.yaml", []byte("a:\n  name: x\nb:\n  name: y\nlist:\n  - name: 1\n  - name: 2\n"))
	if err != nil || len(docs) != 1 {
		t.Fatalf("Parse = %v, %v; want one document", docs, err)
	}
	if got := docs[0].String("b", "name"); got != "y" {
		t.Errorf("b.name = %q, want y", got)
	}
}
