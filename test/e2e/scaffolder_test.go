package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/app"
	"github.com/goldenpathidp/goldenpath/internal/catalog"
)

// task starts a template run and returns its id.
func (e *env) task(token, template string, values map[string]any, secrets map[string]string) string {
	e.t.Helper()
	r := e.must(201, "POST", "/api/scaffolder/v2/tasks", token, map[string]any{"templateRef": "template:default/" + template, "values": values, "secrets": secrets})
	return r.field(e.t, "id").(string)
}

type taskEvent struct {
	ID   int64          `json:"id"`
	Type string         `json:"type"`
	Body map[string]any `json:"body"`
}

// waitTask polls a task until it reaches one of the final states and returns the state and its events.
func (e *env) waitTask(token, id string, timeout time.Duration) (string, []taskEvent) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var t struct{ Status string }
		e.must(200, "GET", "/api/scaffolder/v2/tasks/"+id, token, nil).json(e.t, &t)
		switch t.Status {
		case "completed", "failed", "cancelled":
			var evs []taskEvent
			e.must(200, "GET", "/api/scaffolder/v2/tasks/"+id+"/events", token, nil).json(e.t, &evs)
			return t.Status, evs
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("task %s still %s after %s", id, t.Status, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func messages(evs []taskEvent) string {
	var b strings.Builder
	for _, ev := range evs {
		raw, _ := json.Marshal(ev.Body)
		b.Write(raw)
		b.WriteByte('\n')
	}
	return b.String()
}

// TestStatefulAppTemplate runs the plan's stateful template through the API: the app repository appears in
// the forge, the component in the catalog, the RDSRequest's change request opens, and once an approver
// merges it the database becomes Ready.
func TestStatefulAppTemplate(t *testing.T) {
	pg := postgresURL(t)
	e := start(t, startOptions{config: func(c *app.Config) {
		c.Getenv = func(k string) string {
			if k == "GOLDENPATH_POSTGRES_URL" {
				return pg
			}
			return ""
		}
	}})
	tm := cast(e)
	name := "billing-" + suffix()
	id := e.task(tm.alice, "stateful-app-template", map[string]any{
		"name": name, "owner": "group:default/payments", "db_engine": "postgres", "db_size": "small",
		"repoUrl": "goldenpath?owner=payments&repo=" + name,
	}, nil)
	status, evs := e.waitTask(tm.alice, id, 30*time.Second)
	if status != "completed" {
		t.Fatalf("task %s:\n%s", status, messages(evs))
	}
	ctx := context.Background()
	repo, err := e.app.Forge.Repo("payments/" + name)
	if err != nil {
		t.Fatalf("the app repository is not in the forge: %v", err)
	}
	if _, err := repo.ReadFile(ctx, "main", "main.go"); err != nil {
		t.Errorf("main.go not published: %v", err)
	}
	if _, err := e.app.Catalog.Get(ctx, catalog.Ref{Kind: "component", Namespace: "default", Name: name}); err != nil {
		t.Errorf("the component is not in the catalog when the task completes: %v", err)
	}
	rdsID := "rds.dev." + name
	v := e.must(200, "GET", "/api/v1/requests/"+rdsID, tm.alice, nil)
	n := int64(v.field(t, "change").(float64))
	e.approveAndMerge(n, tm.bob)
	e.waitPhase(rdsID, "Ready", 30*time.Second)
}

// inlineTemplate is a dry run body for a template given inline with its files.
func inlineTemplate(tmpl string, files map[string]string, values map[string]any, secrets map[string]string) map[string]any {
	var contents []map[string]any
	for p, c := range files {
		contents = append(contents, map[string]any{"path": p, "base64Content": base64.StdEncoding.EncodeToString([]byte(c))})
	}
	var t map[string]any
	if err := json.Unmarshal([]byte(tmpl), &t); err != nil {
		panic(err)
	}
	return map[string]any{"template": t, "values": values, "secrets": secrets, "directoryContents": contents}
}

func tmplJSON(steps string) string {
	return fmt.Sprintf(`{"apiVersion":"scaffolder.backstage.io/v1beta3","kind":"Template","metadata":{"name":"t"},
		"spec":{"type":"service","parameters":[{"title":"Basics","required":["name"],"properties":{"name":{"type":"string","pattern":"^[a-z./]+$"}}}],
		"steps":%s}}`, steps)
}

// TestScaffolderSafety checks the safety rules through the API.
func TestScaffolderSafety(t *testing.T) {
	e := start(t, startOptions{})
	tm := cast(e)
	const secret = "s3cr3t-value-42"
	tests := []struct {
		name   string
		steps  string
		files  map[string]string
		values map[string]any
		status int
		want   string // in the response
	}{
		{"fetch from an arbitrary host", `[{"id":"f","action":"fetch:plain","input":{"url":"http://169.254.169.254/latest/meta-data"}}]`,
			nil, map[string]any{"name": "x"}, 200, `host \"169.254.169.254\" is not allowed`},
		{"relative url leaving the repository", `[{"id":"f","action":"fetch:plain","input":{"url":"../../etc"}}]`,
			nil, map[string]any{"name": "x"}, 200, "leaves the template's repository"},
		{"rendered path escaping the workspace", `[{"id":"f","action":"fetch:template","input":{"url":"./skel","values":{"p":"${{ parameters.name }}"}}}]`,
			map[string]string{"skel/${{ values.p }}/x.txt": "hi"}, map[string]any{"name": "../../outside"}, 200, "outside"},
		{"absolute target path", `[{"id":"f","action":"fetch:template","input":{"url":"./skel","targetPath":"/etc"}}]`,
			map[string]string{"skel/a.txt": "hi"}, map[string]any{"name": "x"}, 200, "input.targetPath"},
		{"unknown action", `[{"id":"a","action":"debug:log","input":{"message":"first"}},{"id":"b","action":"cloud:delete-everything"}]`,
			nil, map[string]any{"name": "x"}, 400, `unknown action \"cloud:delete-everything\"`},
		{"missing required input", `[{"id":"a","action":"fs:delete","input":{}}]`, nil, map[string]any{"name": "x"}, 400, `needs input \"files\"`},
		{"invalid parameter", `[{"id":"a","action":"debug:log","input":{"message":"x"}}]`, nil, map[string]any{"name": "NOPE"}, 400, "Basics: name"},
		{"secrets stay out of logs and files", `[{"id":"a","action":"debug:log","input":{"message":"key is ${{ secrets.apiKey }}"}},
			{"id":"b","action":"fetch:template","input":{"url":"./skel","values":{"k":"${{ secrets.apiKey }}"}}}]`,
			map[string]string{"skel/config.txt": "key=${{ values.k }}"}, map[string]any{"name": "x"}, 200, "key is ***"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			body := inlineTemplate(tmplJSON(tt.steps), tt.files, tt.values, map[string]string{"apiKey": secret})
			r := e.call("POST", "/api/scaffolder/v2/dry-run", tm.alice, body)
			if r.status != tt.status || !strings.Contains(string(r.body), tt.want) {
				t.Fatalf("got %d %s; want %d containing %s", r.status, r.body, tt.status, tt.want)
			}
			if strings.Contains(string(r.body), secret) || strings.Contains(string(r.body), base64.StdEncoding.EncodeToString([]byte("key="+secret))) {
				t.Errorf("the secret appears in the dry-run result: %s", r.body)
			}
			if tt.status == 400 && strings.Contains(string(r.body), "first") {
				t.Errorf("a step ran before the template was refused: %s", r.body)
			}
		})
	}
}
