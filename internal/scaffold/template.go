// Package scaffold runs Backstage software templates (scaffolder.backstage.io/v1beta3): it reads a
// template, validates the parameters a user filled in, and runs the steps — `if`, `each`, expressions,
// action inputs validated against each action's schema — in a workspace, then renders the template's
// output. Dry runs go through the same code; only actions with side effects outside the workspace behave
// differently, and they say so.
package scaffold

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/goldenpathidp/goldenpath/internal/scaffold/expr"
	"go.yaml.in/yaml/v3"
)

// APIVersion is the template format goldenpath runs.
const APIVersion = "scaffolder.backstage.io/v1beta3"

// Template is a parsed template.yaml.
type Template struct {
	APIVersion string       `json:"apiVersion" yaml:"apiVersion"`
	Kind       string       `json:"kind" yaml:"kind"`
	Metadata   TemplateMeta `json:"metadata" yaml:"metadata"`
	Spec       TemplateSpec `json:"spec" yaml:"spec"`
}

// TemplateMeta is the part of an entity's metadata templates use.
type TemplateMeta struct {
	Name        string            `json:"name" yaml:"name"`
	Namespace   string            `json:"namespace,omitempty" yaml:"namespace,omitempty"`
	Title       string            `json:"title,omitempty" yaml:"title,omitempty"`
	Description string            `json:"description,omitempty" yaml:"description,omitempty"`
	Tags        []string          `json:"tags,omitempty" yaml:"tags,omitempty"`
	Labels      map[string]string `json:"labels,omitempty" yaml:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty" yaml:"annotations,omitempty"`
	Links       []map[string]any  `json:"links,omitempty" yaml:"links,omitempty"`
}

// TemplateSpec is a template's spec.
type TemplateSpec struct {
	Owner        string         `json:"owner,omitempty" yaml:"owner,omitempty"`
	Type         string         `json:"type" yaml:"type"`
	Parameters   any            `json:"parameters,omitempty" yaml:"parameters,omitempty"` // one schema or a list of pages
	Steps        []Step         `json:"steps" yaml:"steps"`
	Output       map[string]any `json:"output,omitempty" yaml:"output,omitempty"`
	Presentation map[string]any `json:"presentation,omitempty" yaml:"presentation,omitempty"`
	Lifecycle    string         `json:"lifecycle,omitempty" yaml:"lifecycle,omitempty"`
}

// Step is one step of a template.
type Step struct {
	ID          string         `json:"id" yaml:"id"`
	Name        string         `json:"name" yaml:"name"`
	Action      string         `json:"action" yaml:"action"`
	Input       map[string]any `json:"input,omitempty" yaml:"input,omitempty"`
	If          any            `json:"if,omitempty" yaml:"if,omitempty"` // bool or expression
	Each        any            `json:"each,omitempty" yaml:"each,omitempty"`
	Permissions map[string]any `json:"backstage:permissions,omitempty" yaml:"backstage:permissions,omitempty"`
}

// Ref is the template's entity ref, "template:<namespace>/<name>".
func (t *Template) Ref() string {
	ns := t.Metadata.Namespace
	if ns == "" {
		ns = "default"
	}
	return strings.ToLower("template:" + ns + "/" + t.Metadata.Name)
}

// TemplateError is a problem with a template file: the file, the field and the rule it breaks.
type TemplateError struct {
	File  string
	Field string // e.g. "spec.steps[1] (publish).action"; "" for the whole file
	Rule  string
}

func (e *TemplateError) Error() string {
	if e.Field == "" {
		return e.File + ": " + e.Rule
	}
	return e.File + ": " + e.Field + ": " + e.Rule
}

// TemplateErrors lists the problems of one template file.
type TemplateErrors []*TemplateError

func (es TemplateErrors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

// v1beta2Refusal says how to convert a v1beta2 template (Backstage no longer runs them either).
const v1beta2Refusal = "scaffolder.backstage.io/v1beta2 templates are not run; convert it to " + APIVersion + ": set apiVersion: " +
	APIVersion + ", write each {{ expression }} as ${{ expression }}, and helpers as filters ({{ parseRepoUrl x }} as" +
	" ${{ x | parseRepoUrl }}, {{ json x }} as ${{ x | dump }}, {{ eq a b }} as ${{ a === b }}); see" +
	" https://backstage.io/docs/features/software-templates/migrating-from-v1beta2-to-v1beta3"

// Parse reads a template.yaml. Unknown fields are kept out of the struct but not refused: Backstage allows
// them (e.g. spec.EXPERIMENTAL_* keys), and templates written for Backstage must run unchanged. Errors are
// *TemplateError.
func Parse(file string, data []byte) (*Template, error) {
	var t Template
	fail := func(field, format string, args ...any) (*Template, error) {
		return nil, &TemplateError{File: file, Field: field, Rule: fmt.Sprintf(format, args...)}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&t); err != nil {
		return fail("", "malformed template: %v", err)
	}
	if t.APIVersion == "scaffolder.backstage.io/v1beta2" {
		return fail("apiVersion", "%s", v1beta2Refusal)
	}
	if t.APIVersion != APIVersion {
		return fail("apiVersion", "must be %s, got %q", APIVersion, t.APIVersion)
	}
	if t.Kind != "Template" {
		return fail("kind", "must be Template, got %q", t.Kind)
	}
	if t.Metadata.Name == "" {
		return fail("metadata.name", "is required")
	}
	if t.Spec.Type == "" {
		return fail("spec.type", "is required")
	}
	if len(t.Spec.Steps) == 0 {
		return fail("spec.steps", "at least one step is required")
	}
	seen := map[string]bool{}
	for i := range t.Spec.Steps {
		s := &t.Spec.Steps[i]
		if s.ID == "" {
			s.ID = fmt.Sprintf("step-%d", i+1)
		}
		if s.Action == "" {
			return fail(fmt.Sprintf("spec.steps[%d] (%s).action", i, s.ID), "is required")
		}
		if s.Name == "" {
			s.Name = s.Action
		}
		if seen[s.ID] {
			return fail(fmt.Sprintf("spec.steps[%d]", i), "id %q is used by an earlier step", s.ID)
		}
		seen[s.ID] = true
	}
	return &t, nil
}

// Check finds what would stop the template from running, whatever the form's values: parameter pages
// that are not JSON Schemas, expressions that do not parse, and (with a registry) unknown actions and
// missing required inputs. It returns TemplateErrors naming file, field and rule, or nil.
func (t *Template) Check(file string, actions *Registry) error {
	var errs TemplateErrors
	add := func(field, rule string) { errs = append(errs, &TemplateError{File: file, Field: field, Rule: rule}) }
	pages, err := t.Pages()
	if err != nil {
		add("spec.parameters", strings.TrimPrefix(err.Error(), "spec.parameters: "))
	}
	for i, p := range pages {
		if _, err := compilePage(p); err != nil {
			add(fmt.Sprintf("spec.parameters[%d]", i), "is not a valid JSON Schema: "+err.Error())
		}
	}
	for i, s := range t.Spec.Steps {
		at := fmt.Sprintf("spec.steps[%d] (%s)", i, s.ID)
		for _, x := range []struct {
			name string
			v    any
		}{{"if", s.If}, {"each", s.Each}, {"input", s.Input}} {
			for _, se := range expr.Check(x.v, at+"."+x.name) {
				add(se.Path, fmt.Sprintf("%s: %v", se.Source, se.Err))
			}
		}
		if actions == nil {
			continue
		}
		a, _, ok := actions.Get(s.Action)
		if !ok {
			add(at+".action", actions.unknown(s.Action).Error())
			continue
		}
		for _, req := range required(a.Schema().Input) {
			if _, present := s.Input[req]; !present {
				add(at+".input."+req, "is required by "+s.Action)
			}
		}
	}
	for _, se := range expr.Check(t.Spec.Output, "spec.output") {
		add(se.Path, fmt.Sprintf("%s: %v", se.Source, se.Err))
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// UnmarshalYAML reads a step keeping the order of the mappings in its input, `if` and `each` (Backstage
// keeps it: catalog:write writes an entity in the order its template wrote it, `each` over an object goes
// in that order).
func (s *Step) UnmarshalYAML(n *yaml.Node) error {
	type plainStep Step
	var p plainStep
	if err := n.Decode(&p); err != nil {
		return err
	}
	*s = Step(p)
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i].Value, n.Content[i+1]
		if key != "input" && key != "if" && key != "each" {
			continue
		}
		v, err := expr.FromYAML(val)
		if err != nil {
			return err
		}
		s.set(key, v)
	}
	return nil
}

// UnmarshalJSON reads a step (as a task stores it) keeping the order of its input's objects.
func (s *Step) UnmarshalJSON(data []byte) error {
	type plainStep Step
	var p plainStep
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	*s = Step(p)
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	for _, key := range []string{"input", "if", "each"} {
		if r, ok := raw[key]; ok {
			v, err := expr.DecodeJSON(r)
			if err != nil {
				return err
			}
			s.set(key, v)
		}
	}
	return nil
}

func (s *Step) set(key string, v any) {
	switch key {
	case "input":
		s.Input, _ = expr.AsMap(v)
	case "if":
		s.If = v
	case "each":
		s.Each = v
	}
}
