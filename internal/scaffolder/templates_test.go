package scaffolder

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/goldenpathidp/goldenpath/internal/forge"
	"github.com/goldenpathidp/goldenpath/internal/scaffold"
	"github.com/goldenpathidp/goldenpath/internal/scaffold/actions"
	"github.com/goldenpathidp/goldenpath/internal/store"
)

const validTemplate = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: hello, tags: [go]}
spec:
  type: service
  parameters:
    - properties: {name: {type: string}}
  steps:
    - {id: hi, action: debug:log, input: {message: 'hello ${{ parameters.name }}'}}
`

func registry(t *testing.T) *scaffold.Registry {
	t.Helper()
	reg, err := scaffold.NewRegistry(actions.DebugLog(), actions.FsDelete())
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// TestValidateTemplate: each problem is reported with the file, the field and the rule.
func TestValidateTemplate(t *testing.T) {
	const file = "templates/hello/template.yaml"
	tests := []struct {
		name, from, to string
		field, rule    string
	}{
		{"valid", "", "", "", ""},
		{"malformed YAML", "kind: Template", "kind: [", "", "malformed template"},
		{"wrong kind", "kind: Template", "kind: Component", "kind", "must be Template"},
		{"no type", "  type: service\n", "", "spec.type", "is required"},
		{"unknown action", "action: debug:log", "action: cloud:nuke", "spec.steps[0] (hi).action", `unknown action "cloud:nuke"`},
		{"missing input", "{id: hi, action: debug:log, input: {message: 'hello ${{ parameters.name }}'}}", "{id: hi, action: fs:delete}",
			"spec.steps[0] (hi).input.files", "is required by fs:delete"},
		{"bad expression", "${{ parameters.name }}", "${{ parameters.name | nope }}", "spec.steps[0] (hi).input.message", `unknown filter "nope"`},
		{"bad schema", "{name: {type: string}}", "{name: {type: 12}}", "spec.parameters[0]", "is not a valid JSON Schema"},
		// Runnable though the catalog refuses it (Backstage runs such templates): see the List test.
		{"not a catalog entity", "tags: [go]", "tags: [Not A Tag]", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := validTemplate
			if tt.from != "" {
				if !strings.Contains(src, tt.from) {
					t.Fatalf("the test's template has no %q", tt.from)
				}
				src = strings.Replace(src, tt.from, tt.to, 1)
			}
			tmpl, err := ValidateTemplate(file, []byte(src), registry(t))
			if tt.rule == "" {
				if err != nil || tmpl == nil {
					t.Fatalf("got %v, want the template", err)
				}
				return
			}
			var errs scaffold.TemplateErrors
			if !errors.As(err, &errs) {
				t.Fatalf("got %v (%T), want TemplateErrors", err, err)
			}
			found := false
			for _, e := range errs {
				if e.File == file && e.Field == tt.field && strings.Contains(e.Rule, tt.rule) {
					found = true
				}
			}
			if !found {
				t.Errorf("got %q, want an error for %s in field %q containing %q", err, file, tt.field, tt.rule)
			}
		})
	}
}

// TestInvalidTemplatesReportedOncePerCommit: listing templates again and again logs an invalid template
// once for each commit of main, and leaves it out of the list.
func TestInvalidTemplatesReportedOncePerCommit(t *testing.T) {
	ctx := context.Background()
	f, err := forge.New(t.TempDir(), forge.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sig := forge.Signature{Name: "t", Email: "t@example.com"}
	if _, _, err := f.CreateRepoWithCommit(ctx, "platform", "main", forge.CommitOptions{Message: "init", Author: sig, Changes: []forge.Change{
		{Path: "templates/hello/template.yaml", Content: []byte(validTemplate)},
		{Path: "templates/broken/template.yaml", Content: []byte(strings.Replace(validTemplate, "action: debug:log", "action: cloud:nuke", 1))},
		{Path: "templates/tagged/template.yaml", Content: []byte(strings.Replace(strings.Replace(validTemplate, "tags: [go]", "tags: [Not A Tag]", 1), "name: hello", "name: tagged", 1))},
	}}); err != nil {
		t.Fatal(err)
	}
	repo, _ := f.Repo("platform")
	var logs bytes.Buffer
	rt := &RepoTemplates{Repo: repo, Actions: registry(t), Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	for i := 0; i < 5; i++ {
		found, problems, err := rt.List(ctx)
		if err != nil || len(found) != 2 || len(problems) != 1 {
			t.Fatalf("List = %d templates, %v, %v; want hello and tagged (it runs), and broken as a problem", len(found), problems, err)
		}
	}
	if n := strings.Count(logs.String(), "msg=\"invalid template on main"); n != 1 {
		t.Errorf("reported %d times for one commit, want once:\n%s", n, logs.String())
	}
	if n := strings.Count(logs.String(), "msg=\"template on main is not a valid catalog entity"); n != 1 || !strings.Contains(logs.String(), "metadata.tags[0]") {
		t.Errorf("the template the catalog refuses was reported %d times for one commit, want once naming the field:\n%s", n, logs.String())
	}
	main, _ := repo.ResolveRef(ctx, "main")
	if _, err := repo.Commit(ctx, forge.CommitOptions{Branch: "main", Parent: main, Message: "more", Author: sig,
		Changes: []forge.Change{{Path: "README.md", Content: []byte("x")}}}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, _, err := rt.List(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(logs.String(), "msg=\"invalid template on main"); n != 2 {
		t.Errorf("reported %d times for two commits, want twice", n)
	}
	if !strings.Contains(logs.String(), "spec.steps[0] (hi).action") {
		t.Errorf("the report does not name the field:\n%s", logs.String())
	}
}

func TestCanRead(t *testing.T) {
	task := store.Task{CreatedBy: "user:default/alice", Teams: []string{"payments"}}
	for _, tt := range []struct {
		u    scaffold.User
		want bool
	}{
		{scaffold.User{Ref: "user:default/alice"}, true},
		{scaffold.User{Ref: "user:default/pat", Teams: []string{"web", "payments"}}, true},
		{scaffold.User{Ref: "user:default/root", Roles: []string{"admin"}}, true},
		{scaffold.User{Ref: "user:default/sam", Teams: []string{"search"}, Roles: []string{"approver"}}, false},
		{scaffold.User{Ref: "user:default/nobody"}, false},
	} {
		if got := CanRead(task, tt.u); got != tt.want {
			t.Errorf("CanRead(%s, teams %v, roles %v) = %v, want %v", tt.u.Ref, tt.u.Teams, tt.u.Roles, got, tt.want)
		}
	}
}
