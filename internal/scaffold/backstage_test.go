package scaffold

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/goldenpathidp/goldenpath/internal/scaffold/expr"
)

// backstageTmpl exercises how Backstage's runner renders step inputs and runs `if` and `each`.
const backstageTmpl = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: t}
spec:
  type: service
  parameters:
    - properties:
        port: {type: number}
        empty: {type: string}
        labels: {type: object}
  steps:
    - id: values
      action: test:echo
      input:
        value:
          exact: ${{ parameters.port }}
          padded: "  ${{ parameters.port }}  "
          literal: |
            ${{ parameters.port }}
          folded: >
            ${{ parameters.port }}
          emptyString: ${{ parameters.empty }}
          nothing: ${{ parameters.nothing }}
          missing: ${{ parameters.missing }}
          plainEmpty: ""
          object: ${{ parameters.labels }}
    - id: objects
      each: ${{ parameters.labels }}
      action: test:echo
      input: {value: '${{ each.key }}=${{ each.value }}'}
    - id: characters
      each: ab
      action: test:echo
      input: {value: '${{ each.key }}:${{ each.value }}'}
    - id: filtered
      each: [1, 2, 3]
      if: ${{ each.value != 2 }}
      action: test:echo
      input: {value: '${{ each.value }}'}
`

// TestBackstageStepRendering: step inputs are rendered as Backstage renders them: a value that is exactly
// one expression keeps its type ("" and null included, undefined drops the key), anything around it
// (spaces, a block scalar's newline) makes a string that keeps its whitespace, and a plain "" is dropped;
// `each` goes over an object's keys in their order (as strings) and over a string's characters; `if`
// is evaluated per iteration.
func TestBackstageStepRendering(t *testing.T) {
	a := &echo{}
	r := runner(t, a)
	tp, err := Parse("t.yaml", []byte(backstageTmpl))
	if err != nil {
		t.Fatal(err)
	}
	labels, _ := expr.DecodeJSON([]byte(`{"zone": "eu", "2": "two", "app": "orders", "1": "one"}`))
	values := map[string]any{"port": 8080, "empty": "", "nothing": nil, "labels": labels}
	if _, err := r.Execute(context.Background(), Run{Template: tp, Values: values, Events: &logs{}, Workspace: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	if len(a.calls) != 1+4+2+2 {
		t.Fatalf("the action ran %d times, want 9 (1 values, 4 keys, 2 characters, 2 of 3 numbers)", len(a.calls))
	}
	got, _ := expr.AsMap(a.calls[0]["value"])
	want := map[string]any{"exact": 8080, "padded": "  8080  ", "literal": "8080\n", "folded": "8080\n", "emptyString": "",
		"nothing": nil, "object": map[string]any{"1": "one", "2": "two", "zone": "eu", "app": "orders"}}
	if !reflect.DeepEqual(expr.Unordered(got), want) {
		t.Errorf("rendered input\n got %#v\nwant %#v", expr.Unordered(got), want)
	}
	var seen []string
	for _, c := range a.calls[1:] {
		seen = append(seen, fmt.Sprint(c["value"]))
	}
	if got, want := strings.Join(seen, " "), "1=one 2=two zone=eu app=orders 0:a 1:b 1 3"; got != want {
		t.Errorf("each/if ran with %q, want %q (JavaScript's key order, string keys, characters, if per item)", got, want)
	}
}

// TestEachOverUndefinedFails: Backstage refuses `each` over a value that is not there.
func TestEachOverUndefinedFails(t *testing.T) {
	r := runner(t, &echo{})
	tp, err := Parse("t.yaml", []byte(strings.Replace(backstageTmpl, "each: ab", "each: ${{ parameters.missing }}", 1)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Execute(context.Background(), Run{Template: tp, Values: map[string]any{"port": 1, "labels": map[string]any{"a": "b"}}, Events: &logs{}, Workspace: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "step characters") || !strings.Contains(err.Error(), "cannot be resolved to a value") {
		t.Errorf("each over undefined = %v, want an error naming the step and its each", err)
	}
}
