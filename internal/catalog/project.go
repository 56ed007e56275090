package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// ParseFields parses Backstage's fields parameters: comma-separated dotted paths, repeatable. Keys that
// contain dots themselves (annotation keys such as "backstage.io/techdocs-ref") are found by trying the
// longest key present, as Backstage does. Array indexes are not supported.
func ParseFields(params []string) ([]string, error) {
	var out []string
	for _, p := range params {
		for _, f := range strings.Split(p, ",") {
			if f = strings.TrimSpace(f); f == "" {
				continue
			}
			if strings.Contains(f, "[") {
				return nil, fmt.Errorf("fields: %q: array type fields are not supported", f)
			}
			out = append(out, f)
		}
	}
	return out, nil
}

// project keeps only the given fields of an entity's JSON. A path that is not in the entity adds nothing.
func project(raw []byte, fields []string) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var in map[string]any
	if err := dec.Decode(&in); err != nil {
		return nil, fmt.Errorf("decoding entity: %w", err)
	}
	out := map[string]any{}
	for _, f := range fields {
		path, v, ok := resolvePath(in, strings.Split(f, "."))
		if ok {
			setPath(out, path, v)
		}
	}
	return json.Marshal(out)
}

// resolvePath follows parts through nested objects, joining parts with dots where a key contains them.
func resolvePath(obj map[string]any, parts []string) ([]string, any, bool) {
	var path []string
	var current any = obj
	for len(parts) > 0 {
		m, ok := current.(map[string]any)
		if !ok {
			return nil, nil, false
		}
		found := false
		for n := len(parts); n >= 1; n-- {
			key := strings.Join(parts[:n], ".")
			if v, ok := m[key]; ok {
				path, current, parts, found = append(path, key), v, parts[n:], true
				break
			}
		}
		if !found {
			return nil, nil, false
		}
	}
	return path, current, true
}

func setPath(out map[string]any, path []string, v any) {
	for _, key := range path[:len(path)-1] {
		next, ok := out[key].(map[string]any)
		if !ok {
			next = map[string]any{}
			out[key] = next
		}
		out = next
	}
	out[path[len(path)-1]] = v
}
