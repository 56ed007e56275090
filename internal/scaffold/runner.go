package scaffold

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/goldenpathidp/goldenpath/internal/scaffold/expr"
	"github.com/goldenpathidp/goldenpath/internal/scaffold/skeleton"
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
	Workspace string // the directory of the run's files; it must exist
	// WorkspaceBytes bounds what the run writes into it (skeleton.DefaultWorkspaceBytes when 0).
	WorkspaceBytes int64
	DryRun         bool
	Events         Events
	// Done holds steps completed by an earlier attempt (a retry resumes after them, with their outputs).
	Done map[string]StepResult
	// Redactor hides the run's secrets and what was computed from them; Execute adds to it. The caller
	// may pass one (with what an earlier attempt computed) and use it on what the run leaves behind.
	Redactor *Redactor
	// LogUsed is how much of the log limit earlier attempts of the same task used.
	LogUsed int64
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
	// MaxLogBytes bounds each run's log (MaxLogBytes when 0).
	MaxLogBytes int64
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

// secretFields names the parameters the template's form treats as secrets.
func (run *Run) secretFields() map[string]bool {
	out := map[string]bool{}
	if pages, err := run.Template.Pages(); err == nil {
		for _, f := range SecretFields(pages) {
			out[f] = true
		}
	}
	return out
}

// secretsOf lists the strings to redact from the start: task secrets, secret parameters, the user's token.
func (run *Run) secretsOf() []string {
	var out []string
	for _, v := range run.Secrets {
		out = append(out, v)
	}
	for f := range run.secretFields() {
		out = append(out, expr.Literals(expr.NewSecret(run.Values[f]))...)
	}
	if run.User.Token != "" {
		out = append(out, run.User.Token)
	}
	return out
}

// Execute runs the steps in order and renders the output. It returns the results so far and the first
// error; a cancelled context stops it between steps (and inside steps that honour it). Secrets, and every
// value computed from them, are redacted from the log, the results and the output.
func (r *Runner) Execute(ctx context.Context, run Run) (Result, error) {
	if run.Redactor == nil {
		run.Redactor = NewRedactor()
	}
	red := run.Redactor
	red.Add(run.secretsOf()...)
	limit := r.MaxLogBytes
	if limit <= 0 {
		limit = MaxLogBytes
	}
	run.Events = &logCap{inner: run.Events, red: red, limit: limit, used: run.LogUsed}
	ws, err := skeleton.OpenWorkspace(run.Workspace, run.WorkspaceBytes)
	if err != nil {
		return Result{}, err
	}
	defer ws.Close()
	x := &execution{r: r, run: run, red: red, ws: ws, steps: map[string]any{}, secretFields: run.secretFields()}
	return x.execute(ctx)
}

// execution is one Execute in progress.
type execution struct {
	r            *Runner
	run          Run
	red          *Redactor
	ws           *skeleton.Workspace
	steps        map[string]any // steps.<id>.output for expressions, secrets marked
	secretFields map[string]bool
	outputBytes  int
}

// vars are the expressions' variables. Secret parameters and task secrets are expr.Secrets, so that the
// engine marks whatever is computed from them.
func (x *execution) vars(withSecrets bool) map[string]any {
	params := make(map[string]any, len(x.run.Values))
	for k, v := range x.run.Values {
		if x.secretFields[k] {
			v = expr.NewSecret(v)
		}
		params[k] = v
	}
	v := map[string]any{
		"parameters": params,
		"steps":      x.steps,
		"user":       map[string]any{"ref": x.run.User.Ref, "entity": x.run.User.Entity},
		"context":    map[string]any{"task": map[string]any{"id": x.run.TaskID}},
	}
	if withSecrets {
		sec := make(map[string]any, len(x.run.Secrets))
		for k, s := range x.run.Secrets {
			sec[k] = expr.NewSecret(s)
		}
		v["secrets"] = sec
	}
	return v
}

func (x *execution) execute(ctx context.Context) (Result, error) {
	run, events := x.run, x.run.Events
	ectx := context.WithoutCancel(ctx) // progress is recorded even when the run is being cancelled
	var res Result
	for _, s := range run.Template.Spec.Steps {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if done, ok := run.Done[s.ID]; ok && (done.Status == StatusCompleted || done.Status == StatusSkipped) {
			x.steps[s.ID] = map[string]any{"output": x.red.taint(nonNilMap(done.Output))}
			res.Steps = append(res.Steps, done)
			events.Log(ectx, s.ID, fmt.Sprintf("%s: done in an earlier attempt, not repeated", s.Name))
			continue
		}
		sr := StepResult{ID: s.ID, Name: s.Name, Action: s.Action}
		out, status, err := x.step(ctx, s)
		sr.Status = status
		if len(out) > 0 {
			sr.Output, _ = x.red.RedactValue(out).(map[string]any)
		}
		x.steps[s.ID] = map[string]any{"output": x.red.taint(nonNilMap(out))}
		if err != nil {
			sr.Status, sr.Error = StatusFailed, Clip(x.red.Redact(err.Error()), MaxMessageBytes)
			if ctx.Err() != nil {
				sr.Status = StatusCancelled
			}
			events.Log(ectx, s.ID, sr.Error)
			events.StepStatus(ectx, s.ID, sr.Status)
			res.Steps = append(res.Steps, sr)
			return res, fmt.Errorf("step %s (%s): %s", s.ID, s.Action, sr.Error)
		}
		events.StepStatus(ectx, s.ID, sr.Status)
		res.Steps = append(res.Steps, sr)
	}
	output, err := x.r.Engine.Evaluate(run.Template.Spec.Output, x.vars(false))
	if err != nil {
		return res, fmt.Errorf("spec.output: %s", Clip(x.red.Redact(err.Error()), MaxMessageBytes))
	}
	redacted, _ := x.red.RedactValue(output).(map[string]any)
	if raw, _ := json.Marshal(redacted); len(raw) > MaxOutputBytes {
		return res, fmt.Errorf("spec.output: the rendered output is %d bytes, more than the limit of %s", len(raw), size(MaxOutputBytes))
	}
	res.Output = redacted
	return res, nil
}
func nonNilMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// step runs one step (all its `each` iterations) and returns its output and status. As in Backstage, a
// step's `if` is evaluated once, before anything else, unless the step has `each`: then it is evaluated
// for each iteration, with `each` set, and an iteration whose condition is false is skipped. The outputs
// of a step with `each` are lists, one item per iteration that ran.
func (x *execution) step(ctx context.Context, s Step) (map[string]any, string, error) {
	run := x.run
	if s.If == false || (s.If != nil && s.Each == nil) {
		run, err := x.condition(s, x.vars(false))
		if err != nil {
			return nil, StatusFailed, fmt.Errorf("if: %w", err)
		}
		if !run {
			x.run.Events.Log(context.WithoutCancel(ctx), s.ID, fmt.Sprintf("skipping %s: its condition is false", s.Name))
			return nil, StatusSkipped, nil
		}
	}
	a, schema, ok := x.r.Actions.Get(s.Action)
	if !ok {
		return nil, StatusFailed, x.r.Actions.unknown(s.Action)
	}
	ectx := context.WithoutCancel(ctx)
	run.Events.StepStatus(ectx, s.ID, StatusProcessing)
	run.Events.Log(ectx, s.ID, fmt.Sprintf("Beginning step %s", s.Name))
	items, err := x.iterations(s)
	if err != nil {
		return nil, StatusFailed, err
	}
	if items == nil {
		out, err := x.invoke(ctx, s, a, schema, x.vars(true))
		return out, StatusCompleted, err
	}
	merged := map[string]any{}
	for _, it := range items {
		if err := ctx.Err(); err != nil {
			return merged, StatusFailed, err
		}
		label := fmt.Sprint(expr.Conceal(it["key"]))
		if s.If != nil {
			v := x.vars(false)
			v["each"] = it
			run, err := x.condition(s, v)
			if err != nil {
				return merged, StatusFailed, fmt.Errorf("each %s: if: %w", label, err)
			}
			if !run {
				x.run.Events.Log(ectx, s.ID, fmt.Sprintf("Skipping step each %s: its condition is false", label))
				continue
			}
		}
		x.run.Events.Log(ectx, s.ID, fmt.Sprintf("Running step each %s", label))
		v := x.vars(true)
		v["each"] = it
		out, err := x.invoke(ctx, s, a, schema, v)
		if err != nil {
			return merged, StatusFailed, fmt.Errorf("each %s: %w", label, err)
		}
		for k, val := range out {
			list, _ := merged[k].([]any)
			merged[k] = append(list, val)
		}
	}
	return merged, StatusCompleted, nil
}

// condition evaluates a step's `if` (Backstage's isTruthy: [] is false too).
func (x *execution) condition(s Step, vars map[string]any) (bool, error) {
	if b, ok := s.If.(bool); ok {
		return b, nil
	}
	cond, err := x.r.Engine.Evaluate(s.If, vars)
	if err != nil {
		return false, err
	}
	return expr.Truthy(expr.Reveal(cond)), nil
}

// iterations evaluates `each` into {key, value} items, as Backstage's Object.entries does: an array's
// items with keys "0", "1", …; an object's members in its order; a string's characters. A value that is
// undefined, null, false, 0 or "" is an error (Backstage: "cannot be resolved to a value"); other values
// (a number, true) have no entries. nil means the step has no each. When the list itself was computed from
// a secret, every item is secret.
func (x *execution) iterations(s Step) ([]map[string]any, error) {
	if s.Each == nil {
		return nil, nil
	}
	v, err := x.r.Engine.Evaluate(s.Each, x.vars(false))
	if err != nil {
		return nil, fmt.Errorf("each: %w", err)
	}
	mark := func(v any) any { return v }
	if sec, ok := v.(expr.Secret); ok {
		v, mark = sec.Reveal(), func(v any) any { return expr.NewSecret(v) }
	}
	if !expr.Truthy(v) {
		if _, empty := v.([]any); !empty {
			return nil, fmt.Errorf("each: %s cannot be resolved to a value (it is %s)", eachSource(s.Each), describeEmpty(v))
		}
	}
	items := []map[string]any{}
	add := func(k string, val any) { items = append(items, map[string]any{"key": mark(k), "value": mark(val)}) }
	switch t := v.(type) {
	case []any:
		for i, e := range t {
			add(strconv.Itoa(i), e)
		}
	case *expr.Map:
		for _, k := range t.Keys() {
			val, _ := t.Get(k)
			add(k, val)
		}
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys) // a Go map has no order of its own
		for _, k := range keys {
			add(k, t[k])
		}
	case string:
		for i, r := range utf16.Encode([]rune(t)) {
			add(strconv.Itoa(i), string(utf16.Decode([]uint16{r})))
		}
	}
	return items, nil
}

func eachSource(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return "the value"
}

func describeEmpty(v any) string {
	switch v {
	case nil:
		return "undefined or null"
	case "":
		return "an empty string"
	}
	return fmt.Sprintf("%v", v)
}

func (x *execution) invoke(ctx context.Context, s Step, a Action, schema *jsonschema.Schema, vars map[string]any) (map[string]any, error) {
	run := x.run
	evaluated, err := x.r.Engine.Evaluate(s.Input, vars)
	if err != nil {
		return nil, fmt.Errorf("input: %w", err)
	}
	// What was computed from a secret is hidden from here on, wherever the action puts it.
	x.red.Add(expr.Literals(evaluated)...)
	tainted, _ := evaluated.(map[string]any)
	if tainted == nil {
		tainted = map[string]any{}
	}
	input, _ := expr.Reveal(tainted).(map[string]any)
	if err := validateInput(schema, input); err != nil {
		return nil, err
	}
	out := map[string]any{}
	ac := &ActionContext{
		TaskID: run.TaskID, StepID: s.ID, Workspace: x.ws, Input: input, Secrets: run.Secrets,
		User: run.User, Template: run.Template, Source: run.Source, DryRun: run.DryRun,
		log:      func(msg string) { run.Events.Log(context.WithoutCancel(ctx), s.ID, msg) },
		output:   func(name string, v any) { out[name] = v },
		tainted:  tainted,
		redactor: x.red,
	}
	if err := a.Run(ctx, ac); err != nil {
		return out, err
	}
	raw, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("output: %w", err)
	}
	if x.outputBytes += len(raw); x.outputBytes > MaxStepOutputBytes {
		return nil, fmt.Errorf("output: the steps' outputs hold more than the limit of %s", size(MaxStepOutputBytes))
	}
	return out, nil
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
