package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"go.yaml.in/yaml/v3"
)

// printer renders command results as json, yaml or a table.
type printer struct {
	format string
	out    io.Writer
}

// outputsAnnotation names, on a command, the output formats it takes beyond table, json and yaml.
const outputsAnnotation = "goldenpath/outputs"

func (p printer) validate(cmd *cobra.Command) error {
	switch p.format {
	case "table", "json", "yaml":
		return nil
	}
	extra := strings.Fields(cmd.Annotations[outputsAnnotation])
	if slices.Contains(extra, p.format) {
		return nil
	}
	if p.format == "env" {
		return usagef("invalid value \"env\" for -o: only `goldenpath request credentials` prints env; want table, json or yaml")
	}
	return usagef("invalid value %q for -o: want %s", p.format, strings.Join(append([]string{"table", "json", "yaml"}, extra...), ", "))
}

// print shows v as JSON or YAML, or calls table for the table format.
func (p printer) print(v any, table func(w *tabwriter.Writer)) error {
	switch p.format {
	case "json":
		enc := json.NewEncoder(p.out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "yaml":
		raw, err := json.Marshal(v)
		if err != nil {
			return err
		}
		var generic any
		if err := json.Unmarshal(raw, &generic); err != nil {
			return err
		}
		enc := yaml.NewEncoder(p.out)
		enc.SetIndent(2)
		return enc.Encode(generic)
	}
	w := tabwriter.NewWriter(p.out, 0, 4, 2, ' ', 0)
	table(w)
	return w.Flush()
}

// list is how every list is printed as JSON or YAML: {"items": [...]}, never a bare array (and never null),
// so that scripts read each list the same way and a list can grow fields beside its items.
type list[T any] struct {
	Items []T `json:"items"`
}

func listOf[T any](items []T) list[T] {
	if items == nil {
		items = []T{}
	}
	return list[T]{Items: items}
}

func row(w io.Writer, cols ...any) {
	s := make([]string, len(cols))
	for i, c := range cols {
		s[i] = fmt.Sprint(c)
	}
	fmt.Fprintln(w, strings.Join(s, "\t"))
}

func shortSHA(s string) string {
	if len(s) > 10 {
		return s[:10]
	}
	return s
}
