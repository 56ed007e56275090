package actions

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/goldenpathidp/goldenpath/internal/scaffold/expr"
	"go.yaml.in/yaml/v3"
)

// The roadiehq:utils actions read and write JSON and YAML as their JavaScript originals do (JSON.parse,
// JSON.stringify, the yaml package's parse and stringify, lodash's mergeWith): objects keep their order
// (expr.Map), and what they write is ordered the same way.

// parseYAMLDocs reads every document of a YAML text, mappings as ordered Maps.
func parseYAMLDocs(raw []byte) ([]any, error) {
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	var docs []any
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return docs, nil
			}
			return nil, err
		}
		v, err := expr.FromYAML(&n)
		if err != nil {
			return nil, err
		}
		docs = append(docs, v)
	}
}

// parseYAMLOne reads a YAML text of one document (none is null).
func parseYAMLOne(raw []byte) (any, error) {
	docs, err := parseYAMLDocs(raw)
	switch {
	case err != nil:
		return nil, err
	case len(docs) == 0:
		return nil, nil
	case len(docs) > 1:
		return nil, fmt.Errorf("it holds %d YAML documents where one was expected", len(docs))
	}
	return docs[0], nil
}

// ordered returns v with every object as a Map (a Go map's keys sorted, having no order of their own), so
// that merging and writing keep an order.
func ordered(v any) any {
	switch x := v.(type) {
	case *expr.Map:
		m := expr.NewMap()
		for _, k := range x.Keys() {
			val, _ := x.Get(k)
			m.Set(k, ordered(val))
		}
		return m
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		m := expr.NewMap()
		for _, k := range keys {
			m.Set(k, ordered(x[k]))
		}
		return m
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = ordered(e)
		}
		return out
	}
	return v
}

// jsonStringify is JSON.stringify(v, replacer, space): keys in the object's order, no HTML escaping, an
// indent of space (a string, or a number of spaces up to 10), and, when replacer lists keys, only those
// keys of every object.
func jsonStringify(v any, replacer []string, space any) (string, error) {
	w := &jsonWriterJS{indent: jsonSpace(space)}
	if len(replacer) > 0 {
		w.keep = map[string]bool{}
		for _, k := range replacer {
			w.keep[k] = true
		}
	}
	if err := w.value(ordered(v), "", 0); err != nil {
		return "", err
	}
	return w.b.String(), nil
}

func jsonSpace(space any) string {
	switch s := space.(type) {
	case string:
		if utf8.RuneCountInString(s) > 10 {
			return string([]rune(s)[:10])
		}
		return s
	case float64:
		return strings.Repeat(" ", int(math.Max(0, math.Min(10, s))))
	case int:
		return strings.Repeat(" ", max(0, min(10, s)))
	}
	return ""
}

type jsonWriterJS struct {
	b      strings.Builder
	indent string
	keep   map[string]bool
}

func (w *jsonWriterJS) value(v any, cur string, depth int) error {
	if depth > 1000 {
		return fmt.Errorf("the value nests deeper than 1000 levels")
	}
	switch x := v.(type) {
	case nil:
		w.b.WriteString("null")
	case bool:
		w.b.WriteString(strconv.FormatBool(x))
	case string:
		expr.WriteJSONString(&w.b, x)
	case float64:
		w.b.WriteString(jsNumber(x))
	case int:
		w.b.WriteString(strconv.Itoa(x))
	case int64:
		w.b.WriteString(strconv.FormatInt(x, 10))
	case uint64:
		w.b.WriteString(strconv.FormatUint(x, 10))
	case json.Number:
		w.b.WriteString(x.String())
	case []any:
		return w.array(x, cur, depth)
	case *expr.Map:
		return w.object(x, cur, depth)
	default:
		raw, err := json.Marshal(x)
		if err != nil {
			return err
		}
		w.b.Write(raw)
	}
	return nil
}

func (w *jsonWriterJS) array(a []any, cur string, depth int) error {
	if len(a) == 0 {
		w.b.WriteString("[]")
		return nil
	}
	inner := cur + w.indent
	w.b.WriteByte('[')
	for i, e := range a {
		if i > 0 {
			w.b.WriteByte(',')
		}
		w.newline(inner)
		if err := w.value(e, inner, depth+1); err != nil {
			return err
		}
	}
	w.newline(cur)
	w.b.WriteByte(']')
	return nil
}

func (w *jsonWriterJS) object(m *expr.Map, cur string, depth int) error {
	inner := cur + w.indent
	n := 0
	w.b.WriteByte('{')
	for _, k := range m.Keys() {
		if w.keep != nil && !w.keep[k] {
			continue
		}
		if n > 0 {
			w.b.WriteByte(',')
		}
		n++
		w.newline(inner)
		expr.WriteJSONString(&w.b, k)
		w.b.WriteByte(':')
		if w.indent != "" {
			w.b.WriteByte(' ')
		}
		val, _ := m.Get(k)
		if err := w.value(val, inner, depth+1); err != nil {
			return err
		}
	}
	if n > 0 {
		w.newline(cur)
	}
	w.b.WriteByte('}')
	return nil
}

func (w *jsonWriterJS) newline(cur string) {
	if w.indent != "" {
		w.b.WriteByte('\n')
		w.b.WriteString(cur)
	}
}

// jsNumber formats a number as JavaScript prints it.
func jsNumber(f float64) string {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return "null"
	case f == math.Trunc(f) && math.Abs(f) < 1e21:
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// yamlStringify is the yaml package's stringify(v, options): with the default layout, expr.StringifyYAML
// (the package's defaults: 2-space indents, YAML 1.2 quoting, block scalars, folding at 80 columns); with
// another indent, or indentSeq false, goldenpath's YAML encoder with that layout. Objects keep their order.
func yamlStringify(v any, options any) (string, error) {
	opts, _ := expr.AsMap(options)
	indent := 2
	if n, ok := opts["indent"].(float64); ok && n >= 1 && n <= 16 {
		indent = int(n)
	} else if n, ok := opts["indent"].(int); ok && n >= 1 && n <= 16 {
		indent = n
	}
	seq, _ := opts["indentSeq"].(bool)
	if _, set := opts["indentSeq"]; !set {
		seq = true
	}
	if indent == 2 && seq {
		return expr.StringifyYAML(ordered(v))
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(indent)
	if !seq {
		enc.CompactSeqIndent()
	}
	if err := enc.Encode(ordered(v)); err != nil {
		return "", err
	}
	if err := enc.Close(); err != nil {
		return "", err
	}
	return b.String(), nil
}

// mergeValues is lodash's mergeWith(dst, src, customizer) as roadiehq:utils:merge uses it: objects merge
// key by key (keys dst lacks come last), undefined never overwrites, and an array in dst is replaced by
// src's value, or, with mergeArrays, joined with src's array without repeating equal scalar items.
func mergeValues(dst, src any, mergeArrays bool) any {
	dst, src = ordered(dst), ordered(src)
	return mergeOrdered(dst, src, mergeArrays, 0)
}

func mergeOrdered(dst, src any, mergeArrays bool, depth int) any {
	if depth > 1000 {
		return src
	}
	if da, ok := dst.([]any); ok {
		if !mergeArrays {
			return src
		}
		out := append([]any{}, da...)
		if sa, ok := src.([]any); ok {
			out = append(out, sa...)
		} else {
			out = append(out, src)
		}
		return uniqueScalars(out)
	}
	sm, srcIsMap := src.(*expr.Map)
	dm, dstIsMap := dst.(*expr.Map)
	if !srcIsMap || !dstIsMap {
		if srcIsMap {
			return mergeOrdered(expr.NewMap(), src, mergeArrays, depth+1)
		}
		return src
	}
	out := expr.NewMap()
	for _, k := range dm.Keys() {
		v, _ := dm.Get(k)
		out.Set(k, v)
	}
	for _, k := range sm.Keys() {
		sv, _ := sm.Get(k)
		if dv, ok := out.Get(k); ok {
			out.Set(k, mergeOrdered(dv, sv, mergeArrays, depth+1))
		} else {
			out.Set(k, mergeOrdered(nil, sv, mergeArrays, depth+1))
		}
	}
	return out
}

// uniqueScalars drops repeated strings, numbers, booleans and nulls (a JavaScript Set keeps one of each);
// objects and arrays are distinct values there, so all are kept.
func uniqueScalars(items []any) []any {
	seen := map[any]bool{}
	out := items[:0:0]
	for _, it := range items {
		switch it.(type) {
		case nil, string, float64, int, bool:
			key := any(fmt.Sprintf("%T:%v", it, it))
			if f, ok := it.(int); ok {
				key = fmt.Sprintf("float64:%v", float64(f))
			}
			if seen[key] {
				continue
			}
			seen[key] = true
		}
		out = append(out, it)
	}
	return out
}
