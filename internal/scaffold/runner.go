package scaffold

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/goldenpathidp/goldenpath/internal/scaffold/expr"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Step statuses, as Backstage reports them.
const (
	StatusOpen       = "open"
	StatusProcessing = "processing"
	StatusCompleted  = "completed"
	StatusFailed     = "failed"
	StatusSkipped    = "skipped"
	StatusCancelled  = "cancelled"
)

// Events receives a run's progress. Messages are already redacted.
type Events interface {
	Log(ctx context.Context, stepID, message string)
	StepStatus(ctx context.Context, stepID, status string)
}

// StepResult is what became of one step.
type StepResult struct {
	ID     string         `json:"id"`
	Name   string         `json:"name"`
	Action string         `json:"action"`
	Status string         `json:"status"`
	Output map[string]any `json:"output,omitempty"`
	Error  string         `json:"error,omitempty"`
}

// Run is one execution of a template.
type Run struct {
	TaskID    string
	Template  *Template
	Source    Source
	Values    map[string]any    // parameters, defaults applied and validated
	Secrets   map[string]string // task secrets (only step inputs see them)
	User      User
	Workspace string
	DryRun    bool
	Events    Events
	// Done holds steps completed by an earlier attempt (a retry resumes after them, with their outputs).
	Done map[string]StepResult
}

// Result is a finished run.
type Result struct {
	Steps  []StepResult   `json:"steps"`
	Output map[string]any `json:"output"`
}

// Runner runs templates.
type Runner struct {
	Actions *Registry
	Engine  *expr.Engine
}

// Preflight refuses a template that cannot run — an unknown action, a missing required input, invalid
// parameters — before any step starts.
func (r *Runner) Preflight(t *Template, values map[string]any) error {
	var problems []string
	for i, s := range t.Spec.Steps {
		a, _, ok := r.Actions.Get(s.Action)
		if !ok {
			problems = append(problems, fmt.Sprintf("spec.steps[%d] (%s): %v", i, s.ID, r.Actions.unknown(s.Action)))
			continue
		}
		for _, req := range required(a.Schema().Input) {
			if _, present := s.Input[req]; !present {
				problems = append(problems, fmt.Sprintf("spec.steps[%d] (%s): action %s needs input %q", i, s.ID, s.Action, req))
			}
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	pages, err := t.Pages()
	if err != nil {
		return err
	}
	return ValidateParameters(pages, values)
}

func required(schema map[string]any) []string {
	var out []string
	switch req := schema["required"].(type) {
	case []string:
		out = req
	case []any:
		for _, x := range req {
			out = append(out, fmt.Sprint(x))
		}
	}
	return out
}

// secretsOf lists the strings to redact: task secrets and secret-field parameters.
func (run *Run) secretsOf() []string {
	var out []string
	for _, v := range run.Secrets {
		if v != "" {
			out = append(out, v)
		}
	}
	if pages, err := run.Template.Pages(); err == nil {
		for _, f := range SecretFields(pages) {
			if v, ok := run.Values[f].(string); ok && v != "" {
				out = append(out, v)
			}
		}
	}
	if run.User.Token != "" {
		out = append(out, run.User.Token)
	}
	// Longest first, so a secret containing another is redacted whole.
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// Execute runs the steps in order and renders the output. It returns the results so far and the first
// error; a cancelled context stops it between steps (and inside steps that honour it).
func (r *Runner) Execute(ctx context.Context, run Run) (Result, error) {
	secrets := run.secretsOf()
	redact := func(s string) string { return expr.Redact(s, secrets) }
	ectx := context.WithoutCancel(ctx) // progress is recorded even when the run is being cancelled
	steps := map[string]any{}
	vars := func(withSecrets bool) map[string]any {
		v := map[string]any{
			"parameters": run.Values,
			"steps":      steps,
			"user":       map[string]any{"ref": run.User.Ref, "entity": run.User.Entity},
			"context":    map[string]any{"task": map[string]any{"id": run.TaskID}},
		}
		if withSecrets {
			sec := make(map[string]any, len(run.Secrets))
			for k, s := range run.Secrets {
				sec[k] = s
			}
			v["secrets"] = sec
		}
		return v
	}
	var res Result
	for _, s := range run.Template.Spec.Steps {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if done, ok := run.Done[s.ID]; ok && (done.Status == StatusCompleted || done.Status == StatusSkipped) {
			steps[s.ID] = map[string]any{"output": nonNilMap(done.Output)}
			res.Steps = append(res.Steps, done)
			run.Events.Log(ectx, s.ID, fmt.Sprintf("%s: done in an earlier attempt, not repeated", s.Name))
			continue
		}
		sr := StepResult{ID: s.ID, Name: s.Name, Action: s.Action}
		out, status, err := r.step(ctx, run, s, vars, redact)
		sr.Output, sr.Status = out, status
		steps[s.ID] = map[string]any{"output": nonNilMap(out)}
		if err != nil {
			sr.Status, sr.Error = StatusFailed, redact(err.Error())
			if ctx.Err() != nil {
				sr.Status = StatusCancelled
			}
			run.Events.Log(ectx, s.ID, sr.Error)
			run.Events.StepStatus(ectx, s.ID, sr.Status)
			res.Steps = append(res.Steps, sr)
			return res, fmt.Errorf("step %s (%s): %s", s.ID, s.Action, sr.Error)
		}
		run.Events.StepStatus(ectx, s.ID, sr.Status)
		res.Steps = append(res.Steps, sr)
	}
	output, err := r.Engine.Evaluate(run.Template.Spec.Output, vars(false))
	if err != nil {
		return res, fmt.Errorf("spec.output: %s", redact(err.Error()))
	}
	res.Output, _ = output.(map[string]any)
	return res, nil
}

func nonNilMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// step runs one step (all its `each` iterations) and returns its output and status.
func (r *Runner) step(ctx context.Context, run Run, s Step, vars func(bool) map[string]any, redact func(string) string) (map[string]any, string, error) {
	if s.If != nil {
		cond, err := r.Engine.Evaluate(s.If, vars(false))
		if err != nil {
			return nil, StatusFailed, fmt.Errorf("if: %w", err)
		}
		if !expr.Truthy(cond) {
			run.Events.Log(context.WithoutCancel(ctx), s.ID, fmt.Sprintf("skipping %s: its condition is false", s.Name))
			return nil, StatusSkipped, nil
		}
	}
	a, schema, ok := r.Actions.Get(s.Action)
	if !ok {
		return nil, StatusFailed, r.Actions.unknown(s.Action)
	}
	ectx := context.WithoutCancel(ctx)
	run.Events.StepStatus(ectx, s.ID, StatusProcessing)
	run.Events.Log(ectx, s.ID, fmt.Sprintf("Beginning step %s", s.Name))
	items, err := r.iterations(s, vars(false))
	if err != nil {
		return nil, StatusFailed, err
	}
	if items == nil {
		out, err := r.invoke(ctx, run, s, a, schema, vars(true), redact)
		return out, StatusCompleted, err
	}
	merged := map[string]any{}
	for _, it := range items {
		v := vars(true)
		v["each"] = it
		out, err := r.invoke(ctx, run, s, a, schema, v, redact)
		if err != nil {
			return merged, StatusFailed, fmt.Errorf("each %v: %w", it["key"], err)
		}
		for k, val := range out {
			list, _ := merged[k].([]any)
			merged[k] = append(list, val)
		}
	}
	return merged, StatusCompleted, nil
}

// iterations evaluates `each` into {key, value} items; nil means the step has no each.
func (r *Runner) iterations(s Step, vars map[string]any) ([]map[string]any, error) {
	if s.Each == nil {
		return nil, nil
	}
	v, err := r.Engine.Evaluate(s.Each, vars)
	if err != nil {
		return nil, fmt.Errorf("each: %w", err)
	}
	items := []map[string]any{}
	switch t := v.(type) {
	case []any:
		for i, x := range t {
			items = append(items, map[string]any{"key": i, "value": x})
		}
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			items = append(items, map[string]any{"key": k, "value": t[k]})
		}
	case nil:
	default:
		return nil, fmt.Errorf("each: must evaluate to an array or an object, got %T", v)
	}
	return items, nil
}

func (r *Runner) invoke(ctx context.Context, run Run, s Step, a Action, schema *jsonschema.Schema, vars map[string]any, redact func(string) string) (map[string]any, error) {
	in, err := r.Engine.Evaluate(s.Input, vars)
	if err != nil {
		return nil, fmt.Errorf("input: %w", err)
	}
	input, _ := in.(map[string]any)
	if input == nil {
		input = map[string]any{}
	}
	dropNil(input)
	if err := validateInput(schema, input); err != nil {
		return nil, err
	}
	out := map[string]any{}
	ac := &ActionContext{
		TaskID: run.TaskID, StepID: s.ID, Workspace: run.Workspace, Input: input, Secrets: run.Secrets,
		User: run.User, Template: run.Template, Source: run.Source, DryRun: run.DryRun,
		log:    func(msg string) { run.Events.Log(context.WithoutCancel(ctx), s.ID, redact(msg)) },
		output: func(name string, v any) { out[name] = v },
	}
	if err := a.Run(ctx, ac); err != nil {
		return out, err
	}
	return out, nil
}

// dropNil removes values whose expression came out undefined, at any depth of objects, as Backstage's
// JSON serialisation of step input does.
func dropNil(m map[string]any) {
	for k, v := range m {
		switch t := v.(type) {
		case nil:
			delete(m, k)
		case map[string]any:
			dropNil(t)
		}
	}
}

func validateInput(schema *jsonschema.Schema, input map[string]any) error {
	doc, err := toJSONValue(input)
	if err != nil {
		return fmt.Errorf("input: %w", err)
	}
	err = schema.Validate(doc)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return fmt.Errorf("input: %w", err)
	}
	var errs ParamErrors
	collect(ve, "", &errs)
	msgs := make([]string, len(errs))
	for i, e := range errs {
		f := "input"
		if e.Field != "" {
			f += "." + e.Field
		}
		msgs[i] = f + ": " + e.Rule
	}
	return errors.New(strings.Join(msgs, "; "))
}
