package scaffold

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/goldenpathidp/goldenpath/internal/scaffold/skeleton"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Action implements a step's `action:`.
type Action interface {
	ID() string
	Description() string
	// Schema is the action's input and output, as JSON Schemas (published by GET /v2/actions).
	Schema() ActionSchema
	// Run does the work. In a dry run (ac.DryRun) an action must not change anything outside the
	// workspace; it reports what it would do and returns plausible outputs.
	Run(ctx context.Context, ac *ActionContext) error
}

// ActionSchema describes an action's input and output.
type ActionSchema struct {
	Input  map[string]any `json:"input"`
	Output map[string]any `json:"output,omitempty"`
}

// Example shows an action in use (published with the action).
type Example struct {
	Description string `json:"description"`
	Example     string `json:"example"`
}

// Exampler is implemented by actions that publish examples.
type Exampler interface{ Examples() []Example }

// User is who runs a task.
type User struct {
	Ref    string         // "user:default/alice"
	Name   string         // "alice"
	Teams  []string       // goldenpath teams
	Roles  []string       // goldenpath roles
	Token  string         // for actions that call goldenpath on the user's behalf; never logged
	Entity map[string]any // a Backstage User entity
}

// Source is where a template's files are: its own directory and the repository around it.
type Source interface {
	// Files returns the files under dir, a path relative to the template's directory ("./skeleton").
	// It refuses paths that leave the template's repository.
	Files(ctx context.Context, dir string) ([]skeleton.File, error)
	// Describe names the source in messages, e.g. "platform@3f2a1c:templates/app-template".
	Describe() string
}

// ActionContext is what an action gets.
type ActionContext struct {
	TaskID string
	StepID string
	// Workspace is the task's working directory. Every file operation goes through it: it resolves paths
	// beneath the directory with the kernel, so that no path or chain of symlinks leads out.
	Workspace *skeleton.Workspace
	Input     map[string]any
	Secrets   map[string]string
	User      User
	Template  *Template
	Source    Source
	DryRun    bool

	log      func(string)
	output   func(string, any)
	tainted  map[string]any // Input with the values computed from secrets marked as expr.Secrets
	redactor *Redactor
}

// SecretInput returns an input as evaluated, with every value computed from a secret marked as an
// expr.Secret: an action that computes more from it (fetch:template renders files) keeps the mark.
func (ac *ActionContext) SecretInput(name string) any { return ac.tainted[name] }

// AddSecret records values the action computed from secrets (the secret parts of a rendered file), so
// that they are redacted wherever they appear later: logs, outputs, dry-run results.
func (ac *ActionContext) AddSecret(values ...string) {
	if ac.redactor != nil {
		ac.redactor.Add(values...)
	}
}

// Logf writes a line to the task log (secrets are redacted before anything is stored or streamed).
func (ac *ActionContext) Logf(format string, args ...any) { ac.log(fmt.Sprintf(format, args...)) }

// Output sets one of the step's outputs.
func (ac *ActionContext) Output(name string, value any) { ac.output(name, value) }

// String returns a string input, or def when absent.
func (ac *ActionContext) String(name, def string) string {
	if v, ok := ac.Input[name].(string); ok && v != "" {
		return v
	}
	return def
}

// Bool returns a bool input, or def when absent.
func (ac *ActionContext) Bool(name string, def bool) bool {
	if v, ok := ac.Input[name].(bool); ok {
		return v
	}
	return def
}

// Strings returns a list-of-strings input.
func (ac *ActionContext) Strings(name string) []string {
	switch v := ac.Input[name].(type) {
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			out = append(out, fmt.Sprint(x))
		}
		return out
	case []string:
		return v
	case string:
		return []string{v}
	}
	return nil
}

// Registry holds the actions a runner knows.
type Registry struct {
	mu      sync.RWMutex
	actions map[string]Action
	schemas map[string]*jsonschema.Schema
}

// NewRegistry returns a registry with the given actions.
func NewRegistry(actions ...Action) (*Registry, error) {
	r := &Registry{actions: map[string]Action{}, schemas: map[string]*jsonschema.Schema{}}
	for _, a := range actions {
		if err := r.Register(a); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Register adds an action; its input schema must compile.
func (r *Registry) Register(a Action) error {
	s := a.Schema().Input
	if s == nil {
		s = map[string]any{"type": "object"}
	}
	doc, err := toJSONValue(s)
	if err != nil {
		return err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	url := "action:" + a.ID()
	if err := c.AddResource(url, doc); err != nil {
		return fmt.Errorf("action %s: input schema: %w", a.ID(), err)
	}
	compiled, err := c.Compile(url)
	if err != nil {
		return fmt.Errorf("action %s: input schema: %w", a.ID(), err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.actions[a.ID()]; dup {
		return fmt.Errorf("action %s is registered twice", a.ID())
	}
	r.actions[a.ID()] = a
	r.schemas[a.ID()] = compiled
	return nil
}

// Get returns an action.
func (r *Registry) Get(id string) (Action, *jsonschema.Schema, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	a, ok := r.actions[id]
	return a, r.schemas[id], ok
}

// List returns every action, sorted by ID.
func (r *Registry) List() []Action {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Action, 0, len(r.actions))
	for _, a := range r.actions {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID() < out[j].ID() })
	return out
}

// IDs lists the registered action IDs.
func (r *Registry) IDs() []string {
	var ids []string
	for _, a := range r.List() {
		ids = append(ids, a.ID())
	}
	return ids
}

func (r *Registry) unknown(id string) error {
	return fmt.Errorf("unknown action %q; goldenpath has: %s", id, strings.Join(r.IDs(), ", "))
}
