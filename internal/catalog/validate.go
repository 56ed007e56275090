package catalog

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// problem is one broken rule: field is the path users see, at is the path whose line locates it (the parent
// of a missing field).
type problem struct{ field, at, rule string }

type validator struct{ problems []problem }

func (v *validator) add(field, format string, args ...any) {
	v.problems = append(v.problems, problem{field: field, at: field, rule: fmt.Sprintf(format, args...)})
}

func (v *validator) missing(parent, key string) {
	v.problems = append(v.problems, problem{field: joinPath(parent, key), at: parent, rule: "is required"})
}

// validateDoc checks one decoded descriptor against Backstage's envelope, metadata and kind rules.
func validateDoc(doc map[string]any) []problem {
	v := &validator{}
	for _, k := range slices.Sorted(maps.Keys(doc)) {
		switch k {
		case "apiVersion", "kind", "metadata", "spec", "relations", "status":
		default:
			v.add(k, "is not an entity field (allowed: apiVersion, kind, metadata, spec)")
		}
	}
	apiVersion, _ := v.stringField(doc, "", "apiVersion", true)
	kind, _ := v.stringField(doc, "", "kind", true)
	schema, known := v.kind(kind, apiVersion)
	ns := v.metadata(doc)
	switch spec, present := doc["spec"]; {
	case known:
		v.spec(schema, spec, present, ns)
	case present && spec != nil:
		if _, ok := spec.(map[string]any); !ok {
			v.add("spec", "must be a mapping")
		}
	}
	return v.problems
}

func (v *validator) kind(kind, apiVersion string) (kindSchema, bool) {
	if kind == "" {
		return kindSchema{}, false
	}
	if rule := kindProblem(kind); rule != "" {
		v.add("kind", "%q %s", kind, rule)
		return kindSchema{}, false
	}
	schema, ok := kindSchemaFor(kind)
	if !ok {
		hint := ""
		for _, k := range Kinds() {
			if strings.EqualFold(k, kind) {
				hint = fmt.Sprintf(" (kinds are case-sensitive: did you mean %q?)", k)
			}
		}
		v.add("kind", "%q is not a supported kind; supported: %s%s", kind, strings.Join(Kinds(), ", "), hint)
		return kindSchema{}, false
	}
	if apiVersion != "" && !slices.Contains(schema.apiVersions, apiVersion) {
		v.add("apiVersion", "%q is not valid for kind %s; use %s", apiVersion, kind, strings.Join(schema.apiVersions, " or "))
	}
	return schema, true
}

// metadata checks the metadata block and returns the entity's namespace (for resolving refs in its spec).
func (v *validator) metadata(doc map[string]any) string {
	raw, present := doc["metadata"]
	if !present || raw == nil {
		v.missing("", "metadata")
		return defaultNS
	}
	md, ok := raw.(map[string]any)
	if !ok {
		v.add("metadata", "must be a mapping")
		return defaultNS
	}
	if name, ok := v.stringField(md, "metadata", "name", true); ok {
		if rule := nameProblem(name); rule != "" {
			v.add("metadata.name", "%q %s", name, rule)
		}
	}
	ns := defaultNS
	if s, ok := v.stringField(md, "metadata", "namespace", false); ok {
		if rule := namespaceProblem(s); rule != "" {
			v.add("metadata.namespace", "%q %s", s, rule)
		} else {
			ns = s
		}
	}
	v.stringField(md, "metadata", "title", false)
	v.optionalString(md, "metadata", "description")
	v.keyValues(md, "metadata.labels", "labels", labelValueProblem)
	v.keyValues(md, "metadata.annotations", "annotations", nil)
	v.tags(md)
	v.links(md)
	return ns
}

// stringField checks that obj[key] is a non-empty string (when present, or always when required).
func (v *validator) stringField(obj map[string]any, parent, key string, required bool) (string, bool) {
	raw, present := obj[key]
	if !present || raw == nil {
		if required {
			v.missing(parent, key)
		}
		return "", false
	}
	path := joinPath(parent, key)
	s, ok := raw.(string)
	if !ok {
		v.add(path, "must be a string, not %s", typeName(raw))
		return "", false
	}
	if s == "" {
		v.add(path, "must not be empty")
		return "", false
	}
	return s, true
}

// optionalString accepts any string, including "" (Backstage's description has no minimum length).
func (v *validator) optionalString(obj map[string]any, parent, key string) {
	if raw, present := obj[key]; present && raw != nil {
		if _, ok := raw.(string); !ok {
			v.add(joinPath(parent, key), "must be a string, not %s", typeName(raw))
		}
	}
}

func (v *validator) keyValues(md map[string]any, path, key string, valueProblem func(string) string) {
	raw, present := md[key]
	if !present || raw == nil {
		return
	}
	m, ok := raw.(map[string]any)
	if !ok {
		v.add(path, "must be a mapping of strings")
		return
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		field := joinPath(path, k)
		if rule := keyProblem(k); rule != "" {
			v.add(field, "key %q %s", k, rule)
		}
		s, ok := m[k].(string)
		if !ok {
			v.add(field, "must be a string, not %s (quote it)", typeName(m[k]))
			continue
		}
		if valueProblem != nil {
			if rule := valueProblem(s); rule != "" {
				v.add(field, "value %q %s", s, rule)
			}
		}
	}
}

func (v *validator) tags(md map[string]any) {
	items, ok := v.list(md, "metadata", "tags")
	if !ok {
		return
	}
	for i, item := range items {
		field := fmt.Sprintf("metadata.tags[%d]", i)
		s, ok := item.(string)
		if !ok {
			v.add(field, "must be a string, not %s", typeName(item))
			continue
		}
		if rule := tagProblem(s); rule != "" {
			v.add(field, "%q %s", s, rule)
		}
	}
}

func (v *validator) links(md map[string]any) {
	items, ok := v.list(md, "metadata", "links")
	if !ok {
		return
	}
	for i, item := range items {
		field := fmt.Sprintf("metadata.links[%d]", i)
		link, ok := item.(map[string]any)
		if !ok {
			v.add(field, "must be a mapping with a url")
			continue
		}
		v.stringField(link, field, "url", true)
		for _, k := range []string{"title", "icon", "type"} {
			v.stringField(link, field, k, false)
		}
	}
}

// list returns obj[key] as a list when present; a non-list is reported.
func (v *validator) list(obj map[string]any, parent, key string) ([]any, bool) {
	raw, present := obj[key]
	if !present || raw == nil {
		return nil, false
	}
	items, ok := raw.([]any)
	if !ok {
		v.add(joinPath(parent, key), "must be a list, not %s", typeName(raw))
	}
	return items, ok
}

func (v *validator) spec(schema kindSchema, raw any, present bool, ns string) {
	if !present || raw == nil {
		v.missing("", "spec")
		return
	}
	spec, ok := raw.(map[string]any)
	if !ok {
		v.add("spec", "must be a mapping")
		return
	}
	for _, f := range schema.fields {
		v.specField(spec, f, ns)
	}
	if len(schema.needsOneOf) > 0 && !slices.ContainsFunc(schema.needsOneOf, func(k string) bool { return spec[k] != nil }) {
		v.add("spec", "must set %s", strings.Join(schema.needsOneOf, " or "))
	}
}

func (v *validator) specField(spec map[string]any, f specField, ns string) {
	raw, present := spec[f.name]
	path := joinPath("spec", f.name)
	if !present || raw == nil {
		if f.required {
			v.missing("spec", f.name)
		}
		return
	}
	switch f.shape {
	case shapeString:
		if !f.isRef && isPlaceholder(raw) {
			return
		}
		if s, ok := v.stringField(spec, "spec", f.name, f.required); ok && f.isRef {
			v.ref(path, s, f.defaultKind, ns)
		}
	case shapeList:
		v.stringList(spec, f, ns)
	case shapeObject:
		if _, ok := raw.(map[string]any); !ok {
			v.add(path, "must be a mapping, not %s", typeName(raw))
		}
	case shapeSteps:
		v.steps(spec)
	case shapeParams:
		v.parameters(raw)
	}
}

func (v *validator) stringList(spec map[string]any, f specField, ns string) {
	items, ok := v.list(spec, "spec", f.name)
	if !ok {
		return
	}
	for i, item := range items {
		field := fmt.Sprintf("spec.%s[%d]", f.name, i)
		s, ok := item.(string)
		switch {
		case !ok:
			v.add(field, "must be a string, not %s", typeName(item))
		case s == "":
			v.add(field, "must not be empty")
		case f.isRef:
			v.ref(field, s, f.defaultKind, ns)
		}
	}
}

func (v *validator) ref(field, s, defaultKind, ns string) {
	if _, err := ParseRef(s, defaultKind, ns); err != nil {
		v.add(field, "%q is not a valid entity ref: %s", s, strings.TrimPrefix(err.Error(), fmt.Sprintf("entity ref %q: ", s)))
	}
}

func (v *validator) steps(spec map[string]any) {
	items, ok := v.list(spec, "spec", "steps")
	if !ok {
		return
	}
	for i, item := range items {
		field := fmt.Sprintf("spec.steps[%d]", i)
		step, ok := item.(map[string]any)
		if !ok {
			v.add(field, "must be a mapping with an action")
			continue
		}
		v.stringField(step, field, "action", true)
		v.stringField(step, field, "id", false)
		v.stringField(step, field, "name", false)
		if in, ok := step["input"]; ok && in != nil {
			if _, isMap := in.(map[string]any); !isMap {
				v.add(field+".input", "must be a mapping, not %s", typeName(in))
			}
		}
		switch cond := step["if"].(type) {
		case nil, string, bool:
		default:
			v.add(field+".if", "must be a string or a boolean, not %s", typeName(cond))
		}
	}
}

func (v *validator) parameters(raw any) {
	switch p := raw.(type) {
	case map[string]any:
	case []any:
		for i, page := range p {
			if _, ok := page.(map[string]any); !ok {
				v.add(fmt.Sprintf("spec.parameters[%d]", i), "must be a mapping (a JSON Schema), not %s", typeName(page))
			}
		}
	default:
		v.add("spec.parameters", "must be a mapping or a list of mappings, not %s", typeName(raw))
	}
}

// isPlaceholder reports whether v is a Backstage placeholder such as {$text: ./openapi.yaml}, which the
// catalog replaces by the referenced file's content when it reads a location.
func isPlaceholder(v any) bool {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return false
	}
	for k, target := range m {
		_, isString := target.(string)
		return isString && placeholderKind(k) != ""
	}
	return false
}

func placeholderKind(key string) string {
	switch key {
	case "$text", "$json", "$yaml", "$openapi", "$asyncapi":
		return key
	}
	return ""
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int64, float64, int:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("%T", v)
}
