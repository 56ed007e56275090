package scaffold

import (
	"strings"
	"testing"
)

// TestParseRefusesDuplicateKeys: a template.yaml with a repeated key is refused with both lines named, at the
// top level, in a step and in a parameter's schema (which is decoded into free-form values).
func TestParseRefusesDuplicateKeys(t *testing.T) {
	base := "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata:\n  name: t\nspec:\n  type: service\n" +
		"  parameters:\n    - title: A\n      properties:\n        name: {type: string}\n" +
		"  steps:\n    - id: log\n      action: debug:log\n      input: {message: hi}\n"
	if _, err := Parse("template.yaml", []byte(base)); err != nil {
		t.Fatalf("the base template: %v", err)
	}
	for _, tt := range []struct{ name, doc, want string }{
		{"top level", base + "kind: Other\n", `"kind" already defined at line 2`},
		{"in a step", strings.Replace(base, "      action: debug:log\n", "      action: debug:log\n      action: fs:delete\n", 1), `"action" already defined at line 13`},
		{"in a parameter schema", strings.Replace(base, "        name: {type: string}\n", "        name: {type: string}\n        name: {type: number}\n", 1), `"name" already defined at line 10`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("template.yaml", []byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "template.yaml") {
				t.Fatalf("Parse = %v, want an error naming template.yaml and containing %q", err, tt.want)
			}
		})
	}
}

// TestParseRefusesV1beta2: a v1beta2 template is refused with a message that says how to convert it, once.
func TestParseRefusesV1beta2(t *testing.T) {
	doc := "apiVersion: scaffolder.backstage.io/v1beta2\nkind: Template\nmetadata:\n  name: t\nspec:\n  type: service\n" +
		"  steps:\n    - id: log\n      action: debug:log\n      input: {message: '{{ parameters.name }}'}\n"
	_, err := Parse("templates/t/template.yaml", []byte(doc))
	if err == nil {
		t.Fatal("a v1beta2 template was accepted")
	}
	msg := err.Error()
	for _, want := range []string{"templates/t/template.yaml: apiVersion: ", "convert it to scaffolder.backstage.io/v1beta3",
		"${{ expression }}", "migrating-from-v1beta2-to-v1beta3"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if strings.Count(msg, "templates/t/template.yaml") != 1 || strings.Contains(msg, "apiVersion: apiVersion") {
		t.Errorf("error %q repeats its prefix", msg)
	}
}
