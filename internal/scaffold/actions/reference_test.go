package actions

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/goldenpathidp/goldenpath/internal/scaffold"
	"github.com/goldenpathidp/goldenpath/internal/scaffold/expr"
)

var updateDoc = flag.Bool("update-doc", false, "rewrite docs/actions.md from the actions' published schemas")

// TestActionsReference keeps docs/actions.md, the reference of every action with its inputs and outputs,
// what the actions publish (GET /api/scaffolder/v2/actions): go test ./internal/scaffold/actions -run
// TestActionsReference -update-doc rewrites it.
func TestActionsReference(t *testing.T) {
	reg, err := scaffold.NewRegistry(All(Deps{Engine: expr.New(expr.Options{}), Publisher: &Publisher{}})...)
	if err != nil {
		t.Fatal(err)
	}
	got := actionsReference(reg.List())
	const file = "../../../docs/actions.md"
	if *updateDoc {
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/scaffold/actions -run TestActionsReference -update-doc)", err)
	}
	if string(want) != got {
		t.Errorf("docs/actions.md is not what the actions publish; run go test ./internal/scaffold/actions -run TestActionsReference -update-doc and read the diff")
	}
}

func actionsReference(list []scaffold.Action) string {
	var b strings.Builder
	b.WriteString("# Scaffolder actions: reference\n\n")
	b.WriteString("Every action goldenpath offers to templates, with its inputs and outputs as it publishes them\n")
	b.WriteString("(`GET /api/scaffolder/v2/actions`). What each does in goldenpath, and its\n")
	b.WriteString("limits, are in [scaffolder.md](scaffolder.md#actions). This page is generated from the actions' schemas by\n")
	b.WriteString("`go test ./internal/scaffold/actions -run TestActionsReference -update-doc`.\n\n")
	for _, a := range list {
		fmt.Fprintf(&b, "- [`%s`](#%s)\n", a.ID(), refAnchor(a.ID()))
	}
	for _, a := range list {
		fmt.Fprintf(&b, "\n## %s\n\n%s\n", a.ID(), a.Description())
		s := a.Schema()
		writeProps(&b, "Input", s.Input)
		writeProps(&b, "Output", s.Output)
	}
	return b.String()
}

func refAnchor(id string) string {
	return strings.NewReplacer(":", "", "/", "").Replace(strings.ToLower(id))
}

func writeProps(b *strings.Builder, what string, schema map[string]any) {
	props, _ := schema["properties"].(map[string]any)
	if len(props) == 0 {
		return
	}
	req := refRequired(schema)
	fmt.Fprintf(b, "\n| %s | type | | |\n|---|---|---|---|\n", strings.ToLower(what))
	names := make([]string, 0, len(props))
	for k := range props {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		p, _ := props[k].(map[string]any)
		mark := ""
		if slices.Contains(req, k) {
			mark = "required"
		}
		fmt.Fprintf(b, "| `%s` | %s | %s | %s |\n", k, schemaType(p), mark, refCell(schemaTitle(p)))
	}
}

func refRequired(schema map[string]any) []string {
	switch r := schema["required"].(type) {
	case []string:
		return r
	case []any:
		var out []string
		for _, x := range r {
			out = append(out, fmt.Sprint(x))
		}
		return out
	}
	return nil
}

func schemaType(p map[string]any) string {
	switch t := p["type"].(type) {
	case string:
		if t == "array" {
			if it, ok := p["items"].(map[string]any); ok {
				return "array of " + schemaType(it)
			}
		}
		if e, ok := p["enum"].([]any); ok {
			var vals []string
			for _, v := range e {
				vals = append(vals, fmt.Sprint(v))
			}
			return t + " (" + strings.Join(vals, ", ") + ")"
		}
		return t
	case []any:
		var ts []string
		for _, x := range t {
			ts = append(ts, fmt.Sprint(x))
		}
		return strings.Join(ts, " or ")
	}
	if alts, ok := p["anyOf"].([]any); ok {
		var ts []string
		for _, a := range alts {
			m, _ := a.(map[string]any)
			ts = append(ts, schemaType(m))
		}
		return strings.Join(ts, " or ")
	}
	return "any"
}

func schemaTitle(p map[string]any) string {
	t, _ := p["title"].(string)
	if props, ok := p["properties"].(map[string]any); ok && len(props) > 0 {
		t = strings.TrimSpace(t + " (fields: " + fieldList(props) + ")")
	}
	if it, ok := p["items"].(map[string]any); ok {
		if props, ok := it["properties"].(map[string]any); ok && len(props) > 0 {
			t = strings.TrimSpace(t + " (items' fields: " + fieldList(props) + ")")
		}
	}
	return t
}

// fieldList names a schema's properties, sorted, each in backticks.
func fieldList(props map[string]any) string {
	var names []string
	for k := range props {
		names = append(names, "`"+k+"`")
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

func refCell(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ") }
