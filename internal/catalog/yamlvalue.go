package catalog

import (
	"fmt"
	"math"
	"regexp"
	"strconv"

	"github.com/goldenpathidp/goldenpath/internal/strictyaml"
	"go.yaml.in/yaml/v3"
)

// maxValues bounds how many values one document may expand to, so a file of nested aliases
// ("billion laughs") cannot exhaust memory.
const maxValues = 250_000

// converter turns a YAML node tree into JSON-compatible values (map[string]any, []any, string, int64,
// float64, bool, nil) and remembers the line of every field, so errors can point at the right line.
type converter struct {
	lines  map[string]int
	values int
}

func (c *converter) value(n *yaml.Node, path string) (any, error) {
	if c.values++; c.values > maxValues {
		return nil, fmt.Errorf("document expands to more than %d values", maxValues)
	}
	if _, seen := c.lines[path]; !seen {
		c.lines[path] = n.Line
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return c.value(n.Content[0], path)
	case yaml.AliasNode:
		return c.value(n.Alias, path)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for i, item := range n.Content {
			v, err := c.value(item, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		return c.mapping(n, path)
	case yaml.ScalarNode:
		return scalar(n)
	}
	return nil, fmt.Errorf("line %d: unsupported YAML node", n.Line)
}

func (c *converter) mapping(n *yaml.Node, path string) (map[string]any, error) {
	out := make(map[string]any, len(n.Content)/2)
	keyLines := make(map[string]int, len(n.Content)/2)
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("line %d: %s: mapping keys must be strings", k.Line, orRoot(path))
		}
		if k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		// Backstage's parser (the yaml library's uniqueKeys) refuses repeated keys too.
		if first, dup := keyLines[k.Value]; dup {
			return nil, fmt.Errorf("line %d: %s: %s", k.Line, orRoot(path), strictyaml.DuplicateKey(k.Value, k.Line, first))
		}
		keyLines[k.Value] = k.Line
		field := joinPath(path, k.Value)
		if _, seen := c.lines[field]; !seen {
			c.lines[field] = k.Line // the key's line: where a reader looks for the field
		}
		val, err := c.value(v, field)
		if err != nil {
			return nil, err
		}
		out[k.Value] = val
	}
	// YAML merge keys ("<<: *base") fill in what the mapping does not set itself.
	for _, m := range merges {
		merged, err := c.value(m, path)
		if err != nil {
			return nil, err
		}
		if err := mergeInto(out, merged, m.Line); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func mergeInto(out map[string]any, merged any, line int) error {
	switch m := merged.(type) {
	case map[string]any:
		for k, v := range m {
			if _, set := out[k]; !set {
				out[k] = v
			}
		}
	case []any:
		for _, item := range m {
			if err := mergeInto(out, item, line); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("line %d: '<<' must merge a mapping or a list of mappings", line)
	}
	return nil
}

func scalar(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		return b, nil
	case "!!int":
		var i int64
		if err := n.Decode(&i); err == nil {
			return i, nil
		}
		return floatScalar(n)
	case "!!float":
		return floatScalar(n)
	}
	// Strings, timestamps, binary and custom tags keep their text as written: JSON has no other type for
	// them and the author's spelling is what Backstage keeps too.
	return n.Value, nil
}

func floatScalar(n *yaml.Node) (any, error) {
	var f float64
	if err := n.Decode(&f); err != nil {
		return nil, fmt.Errorf("line %d: %w", n.Line, err)
	}
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, fmt.Errorf("line %d: %s cannot be represented in JSON", n.Line, n.Value)
	}
	return f, nil
}

var plainKey = regexp.MustCompile(`^[A-Za-z0-9_$-]+$`)

// joinPath extends a field path; keys that are not plain words (annotation keys such as
// "backstage.io/techdocs-ref") are bracketed so the path stays unambiguous.
func joinPath(path, key string) string {
	if !plainKey.MatchString(key) {
		return path + "[" + strconv.Quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func orRoot(path string) string {
	if path == "" {
		return "document"
	}
	return path
}

// decodeData decodes one YAML (or JSON) document into JSON-compatible values.
func decodeData(data []byte) (any, error) {
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil {
		return nil, fmt.Errorf("invalid YAML: %s", yamlMessage(err))
	}
	conv := &converter{lines: map[string]int{}}
	return conv.value(&n, "")
}
