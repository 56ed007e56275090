package builtin

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/goldenpathidp/goldenpath/internal/scaffold/expr"
	"github.com/goldenpathidp/goldenpath/internal/scaffold/skeleton"
)

// evaluate renders a template value (a step's input or if) against vars with goldenpath's expression
// engine. Values that come out undefined are then dropped at every depth, as Backstage does when it
// serialises an action's input: an optional form field left empty leaves its key out of the contract's
// spec instead of setting it to null.
func evaluate(t *testing.T, e *expr.Engine, v any, vars map[string]any) any {
	t.Helper()
	out, err := e.Evaluate(v, vars)
	if err != nil {
		t.Fatalf("evaluating %v: %v", v, err)
	}
	return dropUndefined(out)
}

func dropUndefined(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, item := range x {
			if item == nil {
				delete(x, k)
				continue
			}
			x[k] = dropUndefined(item)
		}
	case []any:
		for i, item := range x {
			x[i] = dropUndefined(item)
		}
	}
	return v
}

// renderSkeleton renders templates/<name>/skeleton as fetch:template does with templateFileExtension: true.
func renderSkeleton(t *testing.T, e *expr.Engine, name string, values map[string]any) map[string][]byte {
	t.Helper()
	dir := "templates/" + name + "/skeleton"
	var files []skeleton.File
	err := fs.WalkDir(FS, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := fs.ReadFile(FS, p)
		files = append(files, skeleton.File{Path: strings.TrimPrefix(p, dir+"/"), Content: raw})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	rendered, err := skeleton.Render(e, files, skeleton.Options{Values: values, TemplateFileExtension: ".njk"})
	if err != nil {
		t.Fatalf("rendering %s: %v", dir, err)
	}
	out := map[string][]byte{}
	for _, f := range rendered {
		out[f.Path] = f.Content
	}
	return out
}
