// Package strictyaml decodes YAML documents strictly against a JSON Schema and reports every problem as a
// FieldError that names the file, the field path, the line and the rule that was broken.
//
// Contracts and platform.yaml are both decoded this way, so the JSON Schema goldenpath publishes for a kind is
// exactly what it enforces: unknown fields, missing fields, wrong types and enum violations all come from the
// schema, and semantic checks add their own FieldErrors in the same form.
package strictyaml

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"go.yaml.in/yaml/v3"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// FieldError is one problem in one field of one file.
type FieldError struct {
	File  string // as the user knows it, e.g. "docs/20-contracts/rds-requests/orders/RDS-REQUEST.yaml"
	Field string // dotted path, e.g. "spec.size" or "environments[1].approvals"; "" for the whole document
	Line  int    // 1-based; 0 when unknown
	Rule  string // what is wrong, e.g. `size class "huge" is not defined`
}

func (e *FieldError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Rule)
	return b.String()
}

// Errors is a list of FieldErrors; it is itself an error.
type Errors []*FieldError

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

// Err returns nil for an empty list, so callers can `return errs.Err()`.
func (es Errors) Err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// AsErrors extracts the FieldErrors from err (a FieldError, Errors, or a wrapped one).
func AsErrors(err error) (Errors, bool) {
	var es Errors
	if errors.As(err, &es) {
		return es, true
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		return Errors{fe}, true
	}
	return nil, false
}

// Document is one YAML document as JSON-compatible values, remembering the line of every value.
type Document struct {
	File  string
	Index int // position in a multi-document file, from 0
	Value any
	lines map[string]int // JSON pointer → line
}

// MaxBytes bounds what Parse accepts, so a huge or hostile file cannot exhaust memory.
const MaxBytes = 1 << 20

// Parse reads every document of a (possibly multi-document) YAML file. Empty documents are skipped.
func Parse(file string, data []byte) ([]*Document, error) {
	if len(data) > MaxBytes {
		return nil, &FieldError{File: file, Rule: fmt.Sprintf("file is %d bytes; the limit is %d", len(data), MaxBytes)}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*Document
	for i := 0; ; i++ {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, yamlError(file, err)
		}
		if len(n.Content) == 0 {
			continue
		}
		d := &Document{File: file, Index: i, lines: map[string]int{}}
		v, err := d.convert(n.Content[0], "", 0)
		if err != nil {
			return nil, err
		}
		if v == nil {
			continue
		}
		d.Value = v
		docs = append(docs, d)
	}
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func yamlError(file string, err error) error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &FieldError{File: file, Line: line, Rule: "malformed YAML: " + m[2]}
	}
	return &FieldError{File: file, Rule: "malformed YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

// maxDepth guards against deeply nested (or alias-expanded) documents.
const maxDepth = 64

func (d *Document) convert(n *yaml.Node, ptr string, depth int) (any, error) {
	if depth > maxDepth {
		return nil, &FieldError{File: d.File, Line: n.Line, Rule: "document is nested too deeply"}
	}
	d.lines[ptr] = n.Line
	switch n.Kind {
	case yaml.AliasNode:
		return nil, &FieldError{File: d.File, Field: pathOf(ptr), Line: n.Line, Rule: "YAML aliases are not allowed"}
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		keyLines := make(map[string]int, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				return nil, &FieldError{File: d.File, Field: pathOf(ptr), Line: k.Line, Rule: "mapping keys must be strings"}
			}
			if k.Value == "<<" && k.Tag == "!!merge" {
				return nil, &FieldError{File: d.File, Field: pathOf(ptr), Line: k.Line, Rule: "YAML merge keys are not allowed"}
			}
			child := ptr + "/" + escapePtr(k.Value)
			// YAML forbids repeated keys; a decoder that let the last one win would hide the first from review.
			if first, dup := keyLines[k.Value]; dup {
				return nil, &FieldError{File: d.File, Field: pathOf(child), Line: k.Line, Rule: DuplicateKey(k.Value, k.Line, first)}
			}
			keyLines[k.Value] = k.Line
			val, err := d.convert(v, child, depth+1)
			if err != nil {
				return nil, err
			}
			d.lines[child] = k.Line
			m[k.Value] = val
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for i, c := range n.Content {
			val, err := d.convert(c, ptr+"/"+strconv.Itoa(i), depth+1)
			if err != nil {
				return nil, err
			}
			s = append(s, val)
		}
		return s, nil
	case yaml.ScalarNode:
		return scalar(n), nil
	}
	return nil, &FieldError{File: d.File, Field: pathOf(ptr), Line: n.Line, Rule: "unsupported YAML node"}
}

// DuplicateKeys checks a YAML node tree that is read as nodes rather than through Parse (to edit it in place,
// say) for keys repeated within a mapping, and reports the first as a FieldError naming both lines.
func DuplicateKeys(file string, n *yaml.Node) error {
	return duplicateKeys(file, n, "", 0)
}

func duplicateKeys(file string, n *yaml.Node, ptr string, depth int) error {
	if n == nil || depth > maxDepth {
		return nil
	}
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if err := duplicateKeys(file, c, ptr, depth+1); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if err := duplicateKeys(file, c, ptr+"/"+strconv.Itoa(i), depth+1); err != nil {
				return err
			}
		}
	case yaml.MappingNode:
		first := make(map[string]int, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			child := ptr + "/" + escapePtr(k.Value)
			if line, dup := first[k.Value]; dup && k.Kind == yaml.ScalarNode {
				return &FieldError{File: file, Field: pathOf(child), Line: k.Line, Rule: DuplicateKey(k.Value, k.Line, line)}
			}
			first[k.Value] = k.Line
			if err := duplicateKeys(file, n.Content[i+1], child, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// DuplicateKey is the rule broken by a key that repeats an earlier one of the same mapping, worded the same
// wherever goldenpath reads YAML.
func DuplicateKey(key string, line, first int) string {
	return fmt.Sprintf("key %q at line %d repeats line %d; a key may appear only once in a mapping", key, line, first)
}

func scalar(n *yaml.Node) any {
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!bool":
		var b bool
		if n.Decode(&b) == nil {
			return b
		}
	case "!!int":
		var i int64
		if n.Decode(&i) == nil {
			return json.Number(strconv.FormatInt(i, 10))
		}
	case "!!float":
		var f float64
		if n.Decode(&f) == nil {
			return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
		}
	}
	return n.Value
}

// Line returns the line of the value at path (JSON-pointer segments), or of its nearest parent.
func (d *Document) Line(path ...string) int {
	for len(path) >= 0 {
		ptr := ""
		for _, p := range path {
			ptr += "/" + escapePtr(p)
		}
		if l, ok := d.lines[ptr]; ok {
			return l
		}
		if len(path) == 0 {
			return 0
		}
		path = path[:len(path)-1]
	}
	return 0
}

// Errorf builds a FieldError for the field at path (dotted, e.g. "spec.size").
func (d *Document) Errorf(field string, format string, args ...any) *FieldError {
	return &FieldError{File: d.File, Field: field, Line: d.Line(splitField(field)...), Rule: fmt.Sprintf(format, args...)}
}

// Schema is a compiled JSON Schema plus friendly wording for its regular expressions, so a user reads
// "must be a DNS label: lowercase letters, digits and '-'" rather than the expression itself.
type Schema struct {
	*jsonschema.Schema
	PatternRules map[string]string // pattern → rule
}

// Validate checks the document against a compiled schema and returns every violation.
func (d *Document) Validate(s *Schema) error {
	err := s.Schema.Validate(d.Value)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return &FieldError{File: d.File, Rule: err.Error()}
	}
	var out Errors
	d.collect(ve, s.PatternRules, &out)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Line < out[j].Line })
	return dedupe(out).Err()
}

var printer = message.NewPrinter(language.English)

func (d *Document) collect(ve *jsonschema.ValidationError, rules map[string]string, out *Errors) {
	if len(ve.Causes) > 0 {
		for _, c := range ve.Causes {
			d.collect(c, rules, out)
		}
		return
	}
	loc := ve.InstanceLocation
	switch k := ve.ErrorKind.(type) {
	case *kind.AdditionalProperties:
		for _, p := range k.Properties {
			field := append(append([]string{}, loc...), p)
			*out = append(*out, &FieldError{File: d.File, Field: fieldOf(field), Line: d.Line(field...), Rule: "unknown field"})
		}
	case *kind.Required:
		for _, p := range k.Missing {
			field := append(append([]string{}, loc...), p)
			*out = append(*out, &FieldError{File: d.File, Field: fieldOf(field), Line: d.Line(loc...), Rule: "is required"})
		}
	case *kind.Pattern:
		rule := ve.ErrorKind.LocalizedString(printer)
		if r, ok := rules[k.Want]; ok {
			rule = fmt.Sprintf("%q %s", k.Got, r)
		}
		*out = append(*out, &FieldError{File: d.File, Field: fieldOf(loc), Line: d.Line(loc...), Rule: rule})
	case *kind.Group, *kind.AllOf, *kind.AnyOf, *kind.OneOf, *kind.Reference:
		// Wrappers without causes carry no detail of their own.
	default:
		*out = append(*out, &FieldError{File: d.File, Field: fieldOf(loc), Line: d.Line(loc...), Rule: ve.ErrorKind.LocalizedString(printer)})
	}
}

func dedupe(es Errors) Errors {
	seen := map[string]bool{}
	var out Errors
	for _, e := range es {
		k := e.Field + "\x00" + e.Rule
		if !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	return out
}

// Decode converts the document into out (a pointer to a struct with json tags), refusing unknown fields.
// Call Validate first: Decode's own errors are a backstop, not the user-facing report.
func (d *Document) Decode(out any) error {
	raw, err := json.Marshal(d.Value)
	if err != nil {
		return fmt.Errorf("%s: encoding document: %w", d.File, err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		return &FieldError{File: d.File, Rule: err.Error()}
	}
	return nil
}

// String returns the scalar string at path, or "".
func (d *Document) String(path ...string) string {
	v := d.Value
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[p]
	}
	s, _ := v.(string)
	return s
}

// Compile compiles a JSON Schema document given as JSON bytes.
func Compile(url string, schemaJSON []byte, patternRules map[string]string) (*Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return nil, fmt.Errorf("parsing schema %s: %w", url, err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(url, doc); err != nil {
		return nil, fmt.Errorf("adding schema %s: %w", url, err)
	}
	s, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("compiling schema %s: %w", url, err)
	}
	return &Schema{Schema: s, PatternRules: patternRules}, nil
}

func escapePtr(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

func pathOf(ptr string) string {
	if ptr == "" {
		return ""
	}
	parts := strings.Split(ptr[1:], "/")
	for i, p := range parts {
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(p, "~1", "/"), "~0", "~")
	}
	return fieldOf(parts)
}

// fieldOf renders ["environments","1","approvals"] as "environments[1].approvals".
func fieldOf(segs []string) string {
	var b strings.Builder
	for _, s := range segs {
		if _, err := strconv.Atoi(s); err == nil {
			fmt.Fprintf(&b, "[%s]", s)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s)
	}
	return b.String()
}

// splitField is the inverse of fieldOf for simple paths.
func splitField(field string) []string {
	if field == "" {
		return nil
	}
	var segs []string
	for _, part := range strings.Split(field, ".") {
		for {
			i := strings.IndexByte(part, '[')
			if i < 0 {
				break
			}
			if i > 0 {
				segs = append(segs, part[:i])
			}
			j := strings.IndexByte(part, ']')
			if j < i {
				break
			}
			segs = append(segs, part[i+1:j])
			part = part[j+1:]
		}
		if part != "" {
			segs = append(segs, part)
		}
	}
	return segs
}
