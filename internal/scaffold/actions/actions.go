// Package actions implements the scaffolder actions goldenpath offers to templates: Backstage's built-in
// ones (fetch:*, fs:*, debug:*, catalog:*), the publishers (publish:github and friends, which all publish
// to goldenpath's forge), github:actions:dispatch for the seed plan's request workflows, and
// goldenpath:request:create. Each action publishes its input and output JSON Schema.
package actions

import (
	"context"

	"github.com/goldenpathidp/goldenpath/internal/scaffold"
)

// action is a table-driven scaffold.Action.
type action struct {
	id, description string
	input, output   map[string]any
	examples        []scaffold.Example
	run             func(ctx context.Context, ac *scaffold.ActionContext) error
}

func (a *action) ID() string          { return a.id }
func (a *action) Description() string { return a.description }
func (a *action) Schema() scaffold.ActionSchema {
	return scaffold.ActionSchema{Input: a.input, Output: a.output}
}
func (a *action) Examples() []scaffold.Example                              { return a.examples }
func (a *action) Run(ctx context.Context, ac *scaffold.ActionContext) error { return a.run(ctx, ac) }

// JSON Schema builders.

func object(props map[string]any, required ...string) map[string]any {
	m := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		m["required"] = required
	}
	return m
}

func str(title string) map[string]any { return map[string]any{"type": "string", "title": title} }
func boolean(title string) map[string]any {
	return map[string]any{"type": "boolean", "title": title}
}
func num(title string) map[string]any { return map[string]any{"type": "number", "title": title} }
func strs(title string) map[string]any {
	return map[string]any{"type": "array", "title": title, "items": map[string]any{"type": "string"}}
}
func anyOf(title string, types ...string) map[string]any {
	var alts []any
	for _, t := range types {
		alts = append(alts, map[string]any{"type": t})
	}
	return map[string]any{"title": title, "anyOf": alts}
}
