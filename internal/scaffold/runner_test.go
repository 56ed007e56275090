package scaffold

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/goldenpathidp/goldenpath/internal/scaffold/expr"
)

// echo is a test action that records its input and returns it as output.
type echo struct {
	mu    sync.Mutex
	calls []map[string]any
	fail  error
}

func (e *echo) ID() string          { return "test:echo" }
func (e *echo) Description() string { return "echoes" }
func (e *echo) Schema() ActionSchema {
	return ActionSchema{Input: map[string]any{"type": "object", "required": []any{"value"},
		"properties": map[string]any{"value": map[string]any{}, "n": map[string]any{"type": "number"}}}}
}
func (e *echo) Run(_ context.Context, ac *ActionContext) error {
	e.mu.Lock()
	e.calls = append(e.calls, ac.Input)
	e.mu.Unlock()
	ac.Logf("got %v", ac.Input["value"])
	if e.fail != nil {
		return e.fail
	}
	ac.Output("value", ac.Input["value"])
	return nil
}

type logs struct {
	mu    sync.Mutex
	lines []string
	state map[string]string
}

func (l *logs) Log(_ context.Context, step, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, step+": "+msg)
}
func (l *logs) StepStatus(_ context.Context, step, status string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.state == nil {
		l.state = map[string]string{}
	}
	l.state[step] = status
}

func runner(t *testing.T, a Action) *Runner {
	t.Helper()
	reg, err := NewRegistry(a)
	if err != nil {
		t.Fatal(err)
	}
	return &Runner{Actions: reg, Engine: expr.New(expr.Options{})}
}

const tmpl = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: t}
spec:
  type: service
  parameters:
    - title: Basics
      required: [name]
      properties:
        name: {type: string, pattern: '^[a-z]+$'}
        count: {type: number, default: 2}
        token: {type: string, ui:widget: password}
  steps:
    - id: typed
      action: test:echo
      input: {value: '${{ parameters.count }}', n: '${{ parameters.count }}'}
    - id: skipped
      if: '${{ parameters.name == "nobody" }}'
      action: test:echo
      input: {value: never}
    - id: loop
      each: ['a', 'b']
      action: test:echo
      input: {value: '${{ each.value }}-${{ parameters.name }}'}
    - id: secret
      action: test:echo
      input: {value: 'key=${{ secrets.apiKey }} pw=${{ parameters.token }}'}
  output:
    text:
      - title: done
        content: '${{ steps.loop.output.value | join(",") }} and ${{ steps.typed.output.value + 1 }}'
`

func TestExecute(t *testing.T) {
	a := &echo{}
	r := runner(t, a)
	tp, err := Parse("t.yaml", []byte(tmpl))
	if err != nil {
		t.Fatal(err)
	}
	pages, _ := tp.Pages()
	values := ApplyDefaults(pages, map[string]any{"name": "orders", "token": "hunter2"})
	if err := r.Preflight(tp, values); err != nil {
		t.Fatal(err)
	}
	ev := &logs{}
	res, err := r.Execute(context.Background(), Run{Template: tp, Values: values, Secrets: map[string]string{"apiKey": "s3cr3t"}, Events: ev, Workspace: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if n := a.calls[0]["n"]; fmt.Sprintf("%T", n) == "string" {
		t.Errorf("a sole expression lost its type: n = %#v", n)
	}
	if ev.state["skipped"] != StatusSkipped {
		t.Errorf("step with a false if: status %q, want skipped", ev.state["skipped"])
	}
	if len(a.calls) != 4 {
		t.Errorf("action ran %d times, want 4 (typed, 2 each, secret)", len(a.calls))
	}
	if got := a.calls[3]["value"]; got != "key=s3cr3t pw=hunter2" {
		t.Errorf("the action did not get secrets in its input: %v", got)
	}
	first, _ := expr.AsMap(res.Output["text"].([]any)[0])
	text := first["content"]
	if text != "a-orders,b-orders and 3" {
		t.Errorf("output = %q", text)
	}
	all := strings.Join(ev.lines, "\n")
	if strings.Contains(all, "s3cr3t") || strings.Contains(all, "hunter2") {
		t.Errorf("a secret reached the task log:\n%s", all)
	}
	if !strings.Contains(all, "key=*** pw=***") {
		t.Errorf("the log does not show the redacted line:\n%s", all)
	}
}

func TestPreflight(t *testing.T) {
	r := runner(t, &echo{})
	tests := []struct {
		name   string
		mutate func(string) string
		values map[string]any
		want   string
	}{
		{"unknown action", func(s string) string {
			return strings.Replace(s, "action: test:echo\n      input: {value: never}", "action: nope:nope\n      input: {value: never}", 1)
		},
			map[string]any{"name": "x"}, `unknown action "nope:nope"`},
		{"missing required input", func(s string) string { return strings.Replace(s, "input: {value: never}", "input: {other: 1}", 1) },
			map[string]any{"name": "x"}, `needs input "value"`},
		{"missing parameter", nil, map[string]any{}, `page "Basics": name: is required`},
		{"invalid parameter", nil, map[string]any{"name": "Orders!"}, `page "Basics": name: '`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := tmpl
			if tt.mutate != nil {
				src = tt.mutate(src)
			}
			tp, err := Parse("t.yaml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			err = r.Preflight(tp, tt.values)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Preflight = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestFailureAndResume(t *testing.T) {
	a := &echo{fail: errors.New("backend down")}
	r := runner(t, a)
	tp, _ := Parse("t.yaml", []byte(tmpl))
	values := map[string]any{"name": "orders", "count": 2}
	res, err := r.Execute(context.Background(), Run{Template: tp, Values: values, Events: &logs{}, Workspace: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "step typed (test:echo): backend down") {
		t.Fatalf("Execute = %v", err)
	}
	if len(res.Steps) != 1 || res.Steps[0].Status != StatusFailed {
		t.Fatalf("steps = %+v", res.Steps)
	}
	// A retry that knows the first step is done starts at the second.
	a.fail, a.calls = nil, nil
	done := map[string]StepResult{"typed": {ID: "typed", Status: StatusCompleted, Output: map[string]any{"value": 2}}}
	res, err = r.Execute(context.Background(), Run{Template: tp, Values: values, Events: &logs{}, Done: done, Workspace: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.calls) != 3 {
		t.Errorf("resumed run called the action %d times, want 3 (not the completed step)", len(a.calls))
	}
}

func TestParseRepoURL(t *testing.T) {
	u, err := ParseRepoURL("goldenpath?owner=payments&repo=orders")
	if err != nil || u.Host != "goldenpath" || u.Owner != "payments" || u.Repo != "orders" {
		t.Errorf("ParseRepoURL = %+v, %v", u, err)
	}
	for _, bad := range []string{"github.com", "github.com?owner=x", "?owner=x&repo=y"} {
		if _, err := ParseRepoURL(bad); err == nil {
			t.Errorf("ParseRepoURL(%q) accepted", bad)
		}
	}
}
