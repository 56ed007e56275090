package scaffold

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/goldenpathidp/goldenpath/internal/scaffold/expr"
)

// transforms is a template that logs, outputs and passes on a secret parameter and a task secret after
// transforming them every way the language allows.
const transforms = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: t}
spec:
  type: service
  parameters:
    - properties:
        password: {type: string, ui:field: Secret}
        label: {type: string}
  steps:
    - id: upper
      action: test:echo
      input: {value: '${{ parameters.password | upper }}'}
    - id: mixed
      action: test:echo
      input: {value: 'r=${{ parameters.password | reverse }} s=${{ parameters.password.substring(1, 6) }} c=${{ parameters.label ~ parameters.password }} t=${{ secrets.token | lower }}'}
    - id: chained
      action: test:echo
      input: {value: '${{ steps.upper.output.value | lower | reverse }}'}
    - id: list
      each: '${{ parameters.password.split("-") }}'
      action: test:echo
      input: {value: 'part ${{ each.value }}'}
  output:
    text:
      - title: t
        content: 'label ${{ parameters.label }} pw ${{ parameters.password | reverse }}'
    raw: '${{ steps.mixed.output.value }}'
`

func reverse(s string) string {
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}

// TestSecretsTransformedAreRedacted: whatever is computed from a secret is redacted from the log, the
// steps' results and the output, while the action still gets the real values.
func TestSecretsTransformedAreRedacted(t *testing.T) {
	const pw, token = "Hunter2-Zebra-Quartz", "TokABC-xyz"
	a := &echo{}
	r := runner(t, a)
	tp, err := Parse("t.yaml", []byte(transforms))
	if err != nil {
		t.Fatal(err)
	}
	ev := &logs{}
	red := NewRedactor()
	res, err := r.Execute(context.Background(), Run{Template: tp, Values: map[string]any{"password": pw, "label": "lbl"},
		Secrets: map[string]string{"token": token}, Events: ev, Workspace: t.TempDir(), Redactor: red})
	if err != nil {
		t.Fatal(err)
	}
	if got := a.calls[0]["value"]; got != strings.ToUpper(pw) {
		t.Errorf("the action got %v, want the real value", got)
	}
	raw, _ := json.Marshal(res)
	all := strings.Join(ev.lines, "\n") + "\n" + string(raw)
	for _, f := range []string{pw, strings.ToUpper(pw), reverse(pw), pw[1:6], "lbl" + pw, strings.ToLower(token),
		reverse(strings.ToLower(pw)), "Hunter2", "Zebra", "Quartz"} {
		if strings.Contains(all, f) {
			t.Errorf("%q (computed from a secret) appears in the log or the result:\n%s", f, all)
		}
	}
	for _, want := range []string{"got r=*** s=*** c=*** t=***", "label lbl pw ***"} {
		if !strings.Contains(all, want) {
			t.Errorf("missing %q (the text around the secrets stays):\n%s", want, all)
		}
	}
	if got := red.Redact("x " + reverse(strings.ToLower(pw))); got != "x ***" {
		t.Errorf("the caller's Redactor does not know what the run computed: %q", got)
	}
}

// TestLogCap: a run's log stops at the limit and says so; one long message is cut; the steps still run.
func TestLogCap(t *testing.T) {
	a := &echo{}
	r := runner(t, a)
	r.MaxLogBytes = 4 << 10
	tp, err := Parse("t.yaml", []byte(`apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: t}
spec:
  type: service
  steps:
    - id: flood
      each: '${{ range(50) }}'
      action: test:echo
      input: {value: '${{ "x" | center(1000) }}'}
    - id: long
      action: test:echo
      input: {value: '${{ "y" | center(400000) }}'}
`))
	if err != nil {
		t.Fatal(err)
	}
	ev := &logs{}
	if _, err := r.Execute(context.Background(), Run{Template: tp, Events: ev, Workspace: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, l := range ev.lines {
		total += len(l)
	}
	if total > 5<<10 {
		t.Errorf("the log holds %d bytes, want at most about 4 KiB", total)
	}
	if last := ev.lines[len(ev.lines)-1]; !strings.Contains(last, "log truncated at 4 KiB") {
		t.Errorf("the last line is %.100q, want the truncation notice", last)
	}
	if len(a.calls) != 51 {
		t.Errorf("the action ran %d times, want 51: the cap stops the log, not the run", len(a.calls))
	}
	if got := Clip(strings.Repeat("é", 10), 5); got != "éé… (cut: 20 bytes in all)" {
		t.Errorf("Clip = %q", got)
	}
}

// TestOutputLimits: the steps' outputs and the rendered output are bounded.
func TestOutputLimits(t *testing.T) {
	r := runner(t, &echo{})
	for name, src := range map[string]string{
		"step outputs": `  steps:
    - id: big
      each: '${{ range(10) }}'
      action: test:echo
      input: {value: '${{ "x" | center(1000000) }}'}`,
		"output": `  steps:
    - id: one
      action: test:echo
      input: {value: 1}
  output:
    a: '${{ "x" | center(600000) }}'
    b: '${{ "x" | center(600000) }}'`,
	} {
		t.Run(name, func(t *testing.T) {
			tp, err := Parse("t.yaml", []byte("apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: t}\nspec:\n  type: service\n"+src+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			_, err = r.Execute(context.Background(), Run{Template: tp, Events: &logs{}, Workspace: t.TempDir()})
			if err == nil || !strings.Contains(err.Error(), "more than the limit") {
				t.Errorf("got %v, want a limit error", err)
			}
		})
	}
}

func TestRedactorTaintsOutputs(t *testing.T) {
	red := NewRedactor("s3cret")
	got := red.taint(map[string]any{"url": "https://x/s3cret", "n": 2, "list": []map[string]any{{"k": "a s3cret"}}, "plain": "ok"})
	m := got.(map[string]any)
	item, _ := expr.AsMap(m["list"].([]any)[0])
	if fmt.Sprint(m["url"]) != "***" || fmt.Sprint(item["k"]) != "***" || m["plain"] != "ok" {
		t.Errorf("taint = %#v", got)
	}
	if got := red.RedactValue(map[string]any{"url": "https://x/s3cret"}); got.(map[string]any)["url"] != "https://x/***" {
		t.Errorf("RedactValue = %v", got)
	}
}
