package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"go.yaml.in/yaml/v3"
)

// EntityError is one problem with one entity: a broken rule, a conflict with another location, or a file
// that could not be read or parsed (then Document is 0 or the failing document).
type EntityError struct {
	File     string // as the location names it, e.g. a URL
	Document int    // 1-based index of the YAML document in the file; 0 for the whole file
	Line     int    // 1-based; 0 when unknown
	Ref      string // canonical ref of the entity, when known
	Field    string // e.g. "spec.owner"; "" for the whole entity
	Rule     string // what is wrong
	Err      error  // a sentinel such as ErrConflict, or the read error; may be nil
}

func (e *EntityError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Document > 0 {
		fmt.Fprintf(&b, ": document %d", e.Document)
	}
	if e.Ref != "" {
		fmt.Fprintf(&b, " (%s)", e.Ref)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Rule)
	return b.String()
}

func (e *EntityError) Unwrap() error { return e.Err }

// EntityErrors is the list of per-entity problems of one operation. The operation itself succeeded for the
// other entities; use errors.As to tell it from a failure of the whole operation.
type EntityErrors []error

func (es EntityErrors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

// Unwrap lets errors.Is find ErrConflict and friends inside the list.
func (es EntityErrors) Unwrap() []error { return es }

func (es EntityErrors) orNil() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// ParseEntities reads a catalog-info.yaml (one or more YAML documents; JSON works too) and validates every
// entity with Backstage's rules. One bad entity does not hide the others: it returns the valid entities and
// an error per broken rule, each naming the file, the document, the field and the rule. Empty documents are
// skipped. Server-maintained fields (uid, etag, generation, relations, status) are dropped, and a missing
// namespace is set to "default".
func ParseEntities(file string, data []byte) ([]*Entity, []error) {
	var entities []*Entity
	var errs []error
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for doc := 1; ; doc++ {
		var node yaml.Node
		err := dec.Decode(&node)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// The YAML decoder cannot resynchronise after a syntax error; the documents before it still count.
			errs = append(errs, &EntityError{File: file, Document: doc, Rule: "invalid YAML: " + yamlMessage(err)})
			break
		}
		e, docErrs := parseDocument(file, doc, &node)
		errs = append(errs, docErrs...)
		if e != nil {
			entities = append(entities, e)
		}
	}
	return entities, errs
}

func yamlMessage(err error) string { return strings.TrimPrefix(err.Error(), "yaml: ") }

// parseDocument converts and validates one document; it returns nil and no error for an empty document.
func parseDocument(file string, doc int, node *yaml.Node) (*Entity, []error) {
	conv := &converter{lines: map[string]int{}}
	raw, err := conv.value(node, "")
	if err != nil {
		return nil, []error{&EntityError{File: file, Document: doc, Line: node.Line, Rule: err.Error()}}
	}
	if raw == nil {
		return nil, nil
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, []error{&EntityError{File: file, Document: doc, Line: node.Line,
			Rule: fmt.Sprintf("must be a mapping (an entity), not %s", typeName(raw))}}
	}
	problems := validateDoc(m)
	if len(problems) > 0 {
		ref := refOf(m)
		errs := make([]error, len(problems))
		for i, p := range problems {
			errs[i] = &EntityError{File: file, Document: doc, Line: conv.lines[p.at], Ref: ref, Field: p.field, Rule: p.rule}
		}
		return nil, errs
	}
	e, err := entityFromMap(m)
	if err != nil {
		return nil, []error{&EntityError{File: file, Document: doc, Line: node.Line, Ref: refOf(m), Rule: err.Error()}}
	}
	return e, nil
}

// refOf returns the canonical ref of a raw document when its kind and name are readable, so errors and
// refreshes can still name an invalid entity.
func refOf(m map[string]any) string {
	kind, _ := m["kind"].(string)
	md, _ := m["metadata"].(map[string]any)
	name, _ := md["name"].(string)
	ns, _ := md["namespace"].(string)
	if kind == "" || name == "" {
		return ""
	}
	if ns == "" {
		ns = defaultNS
	}
	return strings.ToLower(kind + ":" + ns + "/" + name)
}

// entityFromMap builds an Entity from a validated document, dropping what only the server may set.
func entityFromMap(m map[string]any) (*Entity, error) {
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "uid")
		delete(md, "etag")
		delete(md, "generation")
	}
	e := entityFromDoc(m)
	if e.Metadata.Namespace == "" {
		e.Metadata.Namespace = defaultNS
	}
	return e, nil
}

// entityFromDoc converts a validated JSON-shaped document into an Entity directly; the document's maps
// become the entity's (the caller hands over a fresh decoding). Going through the JSON encoder instead was
// half of the cost of preparing an entity for a bulk load.
func entityFromDoc(m map[string]any) *Entity {
	e := &Entity{}
	e.APIVersion, _ = m["apiVersion"].(string)
	e.Kind, _ = m["kind"].(string)
	if spec, ok := m["spec"].(map[string]any); ok {
		e.Spec = spec
	}
	md, _ := m["metadata"].(map[string]any)
	for k, v := range md {
		e.Metadata.setField(k, v)
	}
	return e
}

// setField sets one metadata field from its JSON-shaped value (validated: strings are strings).
func (md *Metadata) setField(k string, v any) {
	switch k {
	case "uid":
		md.UID, _ = v.(string)
	case "etag":
		md.Etag, _ = v.(string)
	case "name":
		md.Name, _ = v.(string)
	case "namespace":
		md.Namespace, _ = v.(string)
	case "title":
		md.Title, _ = v.(string)
	case "description":
		md.Description, _ = v.(string)
	case "labels":
		md.Labels = stringMap(v)
	case "annotations":
		md.Annotations = stringMap(v)
	case "tags":
		if items, ok := v.([]any); ok {
			md.Tags = make([]string, 0, len(items))
			for _, t := range items {
				s, _ := t.(string)
				md.Tags = append(md.Tags, s)
			}
		}
	case "links":
		md.Links = links(v)
	default:
		if md.Extra == nil {
			md.Extra = map[string]any{}
		}
		md.Extra[k] = v
	}
}

func stringMap(v any) map[string]string {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, x := range m {
		out[k], _ = x.(string)
	}
	return out
}

func links(v any) []Link {
	items, ok := v.([]any)
	if !ok {
		return nil
	}
	out := make([]Link, 0, len(items))
	for _, item := range items {
		l, _ := item.(map[string]any)
		var link Link
		link.URL, _ = l["url"].(string)
		link.Title, _ = l["title"].(string)
		link.Icon, _ = l["icon"].(string)
		link.Type, _ = l["type"].(string)
		out = append(out, link)
	}
	return out
}

// Validate checks an entity built in code (for example before catalog:write saves it) with the same rules
// ParseEntities applies to files. It returns nil or an EntityErrors.
func Validate(e *Entity) error {
	_, err := validatedCopy(e)
	return err
}

// validatedCopy validates an entity and returns a deep copy of it, encoding it once for both.
func validatedCopy(e *Entity) (*Entity, error) {
	if e == nil {
		return nil, fmt.Errorf("entity: must not be nil")
	}
	m, err := entityDoc(e)
	if err != nil {
		return nil, fmt.Errorf("encoding entity: %w", err)
	}
	var errs EntityErrors
	for _, p := range validateDoc(m) {
		errs = append(errs, &EntityError{File: "entity", Ref: refOf(m), Field: p.field, Rule: p.rule})
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return entityFromDoc(m), nil
}

// entityDoc is the JSON-shaped form of an entity (what encoding and decoding it would give), the form the
// rules are written against, built directly: it is a deep copy, and the JSON round trip it replaces was
// most of the cost of accepting an entity.
func entityDoc(e *Entity) (map[string]any, error) {
	md := map[string]any{"name": e.Metadata.Name}
	for k, v := range e.Metadata.Extra {
		if isMetadataKey(k) {
			continue
		}
		x, err := jsonValue(v)
		if err != nil {
			return nil, fmt.Errorf("metadata.%s: %w", k, err)
		}
		md[k] = x
	}
	for k, v := range map[string]string{"uid": e.Metadata.UID, "etag": e.Metadata.Etag, "namespace": e.Metadata.Namespace,
		"title": e.Metadata.Title, "description": e.Metadata.Description} {
		if v != "" {
			md[k] = v
		}
	}
	if len(e.Metadata.Labels) > 0 {
		md["labels"] = anyMap(e.Metadata.Labels)
	}
	if len(e.Metadata.Annotations) > 0 {
		md["annotations"] = anyMap(e.Metadata.Annotations)
	}
	if len(e.Metadata.Tags) > 0 {
		md["tags"] = anySlice(e.Metadata.Tags)
	}
	if len(e.Metadata.Links) > 0 {
		links := make([]any, len(e.Metadata.Links))
		for i, l := range e.Metadata.Links {
			link := map[string]any{"url": l.URL}
			for k, v := range map[string]string{"title": l.Title, "icon": l.Icon, "type": l.Type} {
				if v != "" {
					link[k] = v
				}
			}
			links[i] = link
		}
		md["links"] = links
	}
	m := map[string]any{"apiVersion": e.APIVersion, "kind": e.Kind, "metadata": md}
	if e.Spec != nil {
		spec, err := jsonValue(e.Spec)
		if err != nil {
			return nil, fmt.Errorf("spec: %w", err)
		}
		m["spec"] = spec
	}
	return m, nil
}

func anyMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// jsonValue copies a value into JSON's types (numbers stay exact integers where they are), falling back
// to the encoder for types it does not know.
func jsonValue(v any) (any, error) {
	switch x := v.(type) {
	case nil, string, bool, int64:
		return x, nil
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return nil, fmt.Errorf("%v cannot be represented in JSON", x)
		}
		return x, nil
	case int:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case float32:
		return jsonValue(float64(x))
	case []any:
		out := make([]any, len(x))
		for i, item := range x {
			var err error
			if out[i], err = jsonValue(item); err != nil {
				return nil, err
			}
		}
		return out, nil
	case []string:
		return anySlice(x), nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, item := range x {
			var err error
			if out[k], err = jsonValue(item); err != nil {
				return nil, err
			}
		}
		return out, nil
	case map[string]string:
		return anyMap(x), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return out, nil
}
