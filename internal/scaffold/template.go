// Package scaffold runs Backstage software templates (scaffolder.backstage.io/v1beta3): it reads a
// template, validates the parameters a user filled in, and runs the steps — `if`, `each`, expressions,
// action inputs validated against each action's schema — in a workspace, then renders the template's
// output. Dry runs go through the same code; only actions with side effects outside the workspace behave
// differently, and they say so.
package scaffold

import (
	"bytes"
	"fmt"
	"strings"

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

// Parse reads a template.yaml. Unknown fields are kept out of the struct but not refused: Backstage allows
// them (e.g. spec.EXPERIMENTAL_* keys), and templates written for Backstage must run unchanged.
func Parse(file string, data []byte) (*Template, error) {
	var t Template
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("%s: malformed template: %w", file, err)
	}
	if t.APIVersion != APIVersion && t.APIVersion != "scaffolder.backstage.io/v1beta2" {
		return nil, fmt.Errorf("%s: apiVersion: must be %s, got %q", file, APIVersion, t.APIVersion)
	}
	if t.Kind != "Template" {
		return nil, fmt.Errorf("%s: kind: must be Template, got %q", file, t.Kind)
	}
	if t.Metadata.Name == "" {
		return nil, fmt.Errorf("%s: metadata.name: is required", file)
	}
	if t.Spec.Type == "" {
		return nil, fmt.Errorf("%s: spec.type: is required", file)
	}
	if len(t.Spec.Steps) == 0 {
		return nil, fmt.Errorf("%s: spec.steps: at least one step is required", file)
	}
	seen := map[string]bool{}
	for i := range t.Spec.Steps {
		s := &t.Spec.Steps[i]
		if s.ID == "" {
			s.ID = fmt.Sprintf("step-%d", i+1)
		}
		if s.Action == "" {
			return nil, fmt.Errorf("%s: spec.steps[%d] (%s): action: is required", file, i, s.ID)
		}
		if s.Name == "" {
			s.Name = s.Action
		}
		if seen[s.ID] {
			return nil, fmt.Errorf("%s: spec.steps[%d]: id %q is used by an earlier step", file, i, s.ID)
		}
		seen[s.ID] = true
	}
	return &t, nil
}
