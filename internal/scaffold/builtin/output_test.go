package builtin

import (
	"fmt"
	"strings"
	"testing"

	"github.com/goldenpathidp/goldenpath/internal/scaffold/expr"
)

// fakeOutputs stands for what each step reported; a skipped step reports nothing.
func fakeOutputs(tm *template, skipped map[string]bool) map[string]any {
	steps := map[string]any{}
	for _, s := range tm.Spec.Steps {
		if skipped[s.ID] {
			steps[s.ID] = map[string]any{"output": map[string]any{}}
			continue
		}
		var out map[string]any
		switch s.Action {
		case "publish:github":
			out = map[string]any{"remoteUrl": "http://127.0.0.1:7070/git/payments/orders.git",
				"repoContentsUrl": "http://127.0.0.1:7070/git/payments/orders/tree/main", "commitHash": "0123abcd"}
		case "catalog:register":
			out = map[string]any{"entityRef": "component:default/orders"}
		case "goldenpath:request:create", "github:actions:dispatch":
			out = map[string]any{"requestId": "x.dev.orders", "changeNumber": 7.0,
				"changeUrl": "http://127.0.0.1:7070/changes/7", "contractPath": "docs/20-contracts/x-requests/orders/X-REQUEST.yaml"}
		}
		steps[s.ID] = map[string]any{"output": out}
	}
	return steps
}

// TestOutputRenders renders each template's output as the portal shows it when the task completes: every
// link must lead somewhere, and the text must name the change request and the request to follow.
func TestOutputRenders(t *testing.T) {
	e := expr.New(expr.Options{})
	tests := []struct {
		template  string
		name      string
		answers   answers
		skipped   map[string]bool
		wantText  []string
		wantLinks int
	}{
		{template: "app-template", wantLinks: 3,
			wantText: []string{"[#7](http://127.0.0.1:7070/changes/7)", "goldenpath request show x.dev.orders", "approve"}},
		{template: "app-template", name: "no registry", answers: answers{"registry": false}, skipped: map[string]bool{"registry": true}, wantLinks: 2,
			wantText: []string{"No registry was requested", "ecr-request"}},
		{template: "stateful-app-template", wantLinks: 3,
			wantText: []string{"[#7](http://127.0.0.1:7070/changes/7)", "small postgres", "goldenpath request credentials x.dev.orders"}},
		{template: "ecr-request", wantLinks: 1, wantText: []string{"[#7]", "dev/orders", "approve"}},
		{template: "rds-request", wantLinks: 1, wantText: []string{"[#7]", "credentials x.dev.orders", "approve"}},
		{template: "s3-request", wantLinks: 1, wantText: []string{"[#7]", "orders-dev", "approve"}},
		{template: "secret-request", wantLinks: 1, wantText: []string{"[#7]", "goldenpath secret set x.dev.orders", "approve"}},
		{template: "eks-request", wantLinks: 1, wantText: []string{"[#7]", "lives for 8h", "approve"}},
	}
	base := answers{"name": "orders", "owner": "group:default/payments", "repoUrl": "goldenpath?owner=payments&repo=orders"}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.template+"/"+tt.name, "/"), func(t *testing.T) {
			tm := loadTemplate(t, tt.template)
			a := withDefaults(tm, merge(base, tt.answers))
			vars := map[string]any{"parameters": formData(t, a), "steps": fakeOutputs(tm, tt.skipped)}
			out, _ := evaluate(t, e, map[string]any{"links": anySlice(tm.Spec.Output.Links), "text": anySlice(tm.Spec.Output.Text)}, vars).(map[string]any)
			links := 0
			for _, l := range out["links"].([]any) {
				m, _ := l.(map[string]any)
				if m["url"] != nil || m["entityRef"] != nil {
					links++
				}
			}
			if links != tt.wantLinks {
				t.Errorf("links with a target: got %d, want %d (%v)", links, tt.wantLinks, out["links"])
			}
			text := fmt.Sprint(out["text"].([]any)[0].(map[string]any)["content"])
			for _, w := range tt.wantText {
				if !strings.Contains(text, w) {
					t.Errorf("text: got\n%s\nwant it to contain %q", text, w)
				}
			}
			if strings.Contains(text, "undefined") || strings.Contains(text, "[object Object]") {
				t.Errorf("text: shows an unset value:\n%s", text)
			}
		})
	}
}

func merge(a, b answers) answers {
	out := answers{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func anySlice(ms []map[string]any) []any {
	out := make([]any, len(ms))
	for i, m := range ms {
		out[i] = m
	}
	return out
}
