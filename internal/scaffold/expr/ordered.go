package expr

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// Map is a JSON object that keeps its keys in JavaScript's order: keys that are array indexes ("0", "10")
// first, ascending, then the others in the order they were added. Templates see objects in that order
// wherever Backstage would: `each` over an object, `{% for k, v in obj %}`, `| dump`, and what actions
// write (catalog:write, serialize). Template files and request bodies are decoded into Maps (FromYAML,
// DecodeJSON), so the order of a template's YAML and of a form's JSON carries through.
type Map = object

// NewMap returns an empty Map.
func NewMap() *Map { return newObject() }

// Keys lists the keys in JavaScript's order.
func (o *object) Keys() []string {
	var idx []string
	for _, k := range o.keys {
		if isArrayIndex(k) {
			idx = append(idx, k)
		}
	}
	if len(idx) == 0 {
		return o.keys
	}
	slices.SortFunc(idx, func(a, b string) int {
		x, _ := strconv.ParseUint(a, 10, 32)
		y, _ := strconv.ParseUint(b, 10, 32)
		return int(int64(x) - int64(y))
	})
	out := idx
	for _, k := range o.keys {
		if !isArrayIndex(k) {
			out = append(out, k)
		}
	}
	return out
}

// isArrayIndex tells a key JavaScript orders first: the canonical decimal form of an integer below 2³²-1.
func isArrayIndex(k string) bool {
	if k == "" || len(k) > 10 || (len(k) > 1 && k[0] == '0') {
		return false
	}
	n, err := strconv.ParseUint(k, 10, 64)
	return err == nil && n < 1<<32-1
}

// Get returns the value of a key.
func (o *object) Get(k string) (any, bool) { v, ok := o.vals[k]; return v, ok }

// Set sets a key (a new key goes last).
func (o *object) Set(k string, v any) { o.set(k, v) }

// Delete removes a key.
func (o *object) Delete(k string) {
	if _, ok := o.vals[k]; !ok {
		return
	}
	delete(o.vals, k)
	o.keys = slices.DeleteFunc(o.keys, func(x string) bool { return x == k })
}

// Len is the number of keys.
func (o *object) Len() int { return len(o.keys) }

// MarshalJSON writes the object with its keys in order.
func (o *object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.Keys() {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		vb, err := json.Marshal(jsonable(o.vals[k]))
		if err != nil {
			return nil, err
		}
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// jsonable turns engine-only values into what JSON holds (undefined and functions are null; a
// safeString is what JSON.stringify makes of Nunjucks' SafeString).
func jsonable(v any) any {
	switch x := v.(type) {
	case undefined, method, *jsRegexp:
		return nil
	case safeString:
		return safeObject(x)
	case loopVars:
		return plain(x)
	}
	return v
}

// MarshalYAML writes the object as a YAML mapping with its keys in order.
func (o *object) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for _, k := range o.Keys() {
		var val yaml.Node
		if err := val.Encode(jsonable(o.vals[k])); err != nil {
			return nil, err
		}
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}, &val)
	}
	return n, nil
}

// UnmarshalJSON reads a JSON object keeping its order (nested objects become Maps too).
func (o *object) UnmarshalJSON(data []byte) error {
	v, err := DecodeJSON(data)
	if err != nil {
		return err
	}
	m, ok := v.(*object)
	if !ok {
		return fmt.Errorf("want a JSON object, got %s", typeName(v))
	}
	*o = *m
	return nil
}

// DecodeJSON decodes one JSON value with objects as Maps, numbers as float64.
func DecodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	v, err := decodeJSONValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err == nil {
		return nil, fmt.Errorf("invalid JSON: more than one value")
	}
	return v, nil
}

func decodeJSONValue(dec *json.Decoder, depth int) (any, error) {
	if depth > 1000 {
		return nil, fmt.Errorf("JSON nests deeper than 1000 levels")
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			m := newObject()
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				v, err := decodeJSONValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				m.set(k, v)
			}
			_, err := dec.Token()
			return m, err
		case '[':
			out := []any{}
			for dec.More() {
				v, err := decodeJSONValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				out = append(out, v)
			}
			_, err := dec.Token()
			return out, err
		}
		return nil, fmt.Errorf("invalid JSON: unexpected %v", t)
	}
	return tok, nil
}

// DecodeObject decodes a JSON object into a map whose nested objects are Maps (its own keys need no
// order: they are a step's inputs or a form's fields). Empty data is an empty map.
func DecodeObject(data []byte) (map[string]any, error) {
	if len(bytes.TrimSpace(data)) == 0 || string(bytes.TrimSpace(data)) == "null" {
		return map[string]any{}, nil
	}
	v, err := DecodeJSON(data)
	if err != nil {
		return nil, err
	}
	m, ok := v.(*object)
	if !ok {
		return nil, fmt.Errorf("want a JSON object, got %s", typeName(v))
	}
	return m.flat(), nil
}

// flat is the object as a Go map (its values unchanged).
func (o *object) flat() map[string]any {
	out := make(map[string]any, len(o.keys))
	for _, k := range o.keys {
		out[k] = o.vals[k]
	}
	return out
}

// Object is a JSON or YAML object whose nested objects keep their order (as Maps): use it for struct
// fields holding template values, then convert it to map[string]any.
type Object map[string]any

// UnmarshalJSON decodes the object keeping the order of nested objects.
func (x *Object) UnmarshalJSON(data []byte) error {
	m, err := DecodeObject(data)
	if err != nil {
		return err
	}
	*x = m
	return nil
}

// UnmarshalYAML decodes the object keeping the order of nested mappings.
func (x *Object) UnmarshalYAML(n *yaml.Node) error {
	v, err := FromYAML(n)
	if err != nil {
		return err
	}
	switch m := v.(type) {
	case *object:
		*x = m.flat()
	case nil:
		*x = nil
	default:
		return fmt.Errorf("line %d: want a mapping, got %s", n.Line, typeName(v))
	}
	return nil
}

// FromYAML decodes a YAML node with mappings as Maps (in the order written) and scalars as yaml.v3
// decodes them into an interface (int, float64, bool, string, nil).
func FromYAML(n *yaml.Node) (any, error) { return fromYAML(n, 0) }

func fromYAML(n *yaml.Node, depth int) (any, error) {
	if depth > 1000 {
		return nil, fmt.Errorf("line %d: YAML nests deeper than 1000 levels", n.Line)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return fromYAML(n.Content[0], depth+1)
	case yaml.AliasNode:
		return fromYAML(n.Alias, depth+1)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := fromYAML(c, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		m := newObject()
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, vn := n.Content[i], n.Content[i+1]
			if k.Tag == "!!merge" || k.Value == "<<" && k.Tag == "" {
				if err := mergeYAML(m, vn, depth); err != nil {
					return nil, err
				}
				continue
			}
			var key any
			if err := k.Decode(&key); err != nil {
				return nil, err
			}
			v, err := fromYAML(vn, depth+1)
			if err != nil {
				return nil, err
			}
			m.set(fmt.Sprint(key), v)
		}
		return m, nil
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// mergeYAML applies a merge key (<<: *anchor, or a list of them): keys not set yet come from the merged
// mappings.
func mergeYAML(m *object, n *yaml.Node, depth int) error {
	srcs := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		srcs = n.Content
	}
	for _, s := range srcs {
		v, err := fromYAML(s, depth+1)
		if err != nil {
			return err
		}
		sm, ok := v.(*object)
		if !ok {
			return fmt.Errorf("line %d: a merge key needs a mapping", s.Line)
		}
		for _, k := range sm.keys {
			if _, set := m.vals[k]; !set {
				m.set(k, sm.vals[k])
			}
		}
	}
	return nil
}

// Unordered returns v with every Map in it replaced by a map[string]any (for callers that only look
// values up; Secrets are kept as they are).
func Unordered(v any) any { return unordered(v, 0) }

func unordered(v any, depth int) any {
	if depth > 100 {
		return v
	}
	switch x := v.(type) {
	case *object:
		out := make(map[string]any, len(x.keys))
		for _, k := range x.keys {
			out[k] = unordered(x.vals[k], depth+1)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = unordered(e, depth+1)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = unordered(e, depth+1)
		}
		return out
	case Secret:
		return Secret{v: unordered(x.v, depth+1), parts: x.parts}
	}
	return v
}

// AsMap returns an object value (a Map or a map) as a map[string]any, its nested values unchanged.
func AsMap(v any) (map[string]any, bool) {
	switch x := v.(type) {
	case map[string]any:
		return x, true
	case *object:
		return x.flat(), true
	}
	return nil, false
}
