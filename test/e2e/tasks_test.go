package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/forge"
)

// addTemplate commits a template to the platform repository, as a platform team does.
func (e *env) addTemplate(name, steps string) {
	e.t.Helper()
	ctx := context.Background()
	doc := "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata:\n  name: " + name + "\nspec:\n  type: test\n  steps:\n" + steps
	e.commitMain(ctx, "add "+name, forge.Change{Path: "templates/" + name + "/template.yaml", Content: []byte(doc)})
}

// commitMain commits changes to main of the platform repository as an admin's direct push would, and
// returns the commit. goldenpath commits to main too (rendered files, image pins), so a commit that finds
// main moved is made again on the new tip.
func (e *env) commitMain(ctx context.Context, message string, changes ...forge.Change) string {
	e.t.Helper()
	for attempt := 0; ; attempt++ {
		main, err := e.app.Platform.ResolveRef(ctx, "main")
		if err != nil {
			e.t.Fatal(err)
		}
		sha, err := e.app.Platform.Commit(ctx, forge.CommitOptions{Branch: "main", Parent: main, Message: message,
			Author: forge.Signature{Name: "admin", Email: "admin@example.com"}, Changes: changes})
		if err == nil {
			return sha
		}
		if !errors.Is(err, forge.ErrConflict) || attempt == 20 {
			e.t.Fatalf("committing %q to main: %v", message, err)
		}
	}
}

// waitEvent polls a task's events until one contains want.
func (e *env) waitEvent(token, id, want string) {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		r := e.must(200, "GET", "/api/scaffolder/v2/tasks/"+id+"/events", token, nil)
		if strings.Contains(string(r.body), want) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.t.Fatalf("task %s never logged %q", id, want)
}

func TestTaskLifecycle(t *testing.T) {
	dir := t.TempDir()
	e := start(t, startOptions{dir: dir})
	tm := cast(e)

	t.Run("event stream ends with completion", func(t *testing.T) {
		e.t = t
		e.addTemplate("hello", "    - {id: hi, action: debug:log, input: {message: hello}}\n")
		id := e.task(tm.alice, "hello", nil, nil)
		req, _ := http.NewRequest("GET", e.app.URL()+"/api/scaffolder/v2/tasks/"+id+"/eventstream", nil)
		req.Header.Set("Authorization", "Bearer "+tm.alice)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
			t.Errorf("content type %q", ct)
		}
		var types []string
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() { // returns when the server closes the stream after completion
			if typ, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				types = append(types, typ)
			}
		}
		if len(types) == 0 || types[len(types)-1] != "completion" || !contains(types, "log") {
			t.Errorf("event types %v, want log events then completion", types)
		}
	})

	t.Run("cancel a running task", func(t *testing.T) {
		e.t = t
		e.addTemplate("slow", "    - {id: wait, action: debug:wait, input: {seconds: 8}}\n")
		id := e.task(tm.alice, "slow", nil, nil)
		e.waitEvent(tm.alice, id, "Waiting")
		// bob is of another team: for him the task does not exist.
		if r := e.call("POST", "/api/scaffolder/v2/tasks/"+id+"/cancel", tm.bob, nil); r.status != 404 {
			t.Errorf("someone of another team cancelling: %d, want 404", r.status)
		}
		start := time.Now()
		e.must(200, "POST", "/api/scaffolder/v2/tasks/"+id+"/cancel", tm.alice, nil)
		if status, _ := e.waitTask(tm.alice, id, 5*time.Second); status != "cancelled" || time.Since(start) > 3*time.Second {
			t.Errorf("after cancel: %s in %s", status, time.Since(start))
		}
	})

	t.Run("retry resumes after the completed steps", func(t *testing.T) {
		e.t = t
		e.addTemplate("flaky", "    - {id: first, action: debug:log, input: {message: first-step-ran}}\n"+
			"    - {id: fetch, action: fetch:plain, input: {url: 'http://goldenpath/git/payments/later/tree/main/docs'}}\n")
		id := e.task(tm.alice, "flaky", nil, nil)
		if status, evs := e.waitTask(tm.alice, id, 10*time.Second); status != "failed" || !strings.Contains(messages(evs), "payments/later does not exist") {
			t.Fatalf("first attempt: %s\n%s", status, messages(evs))
		}
		// Fix the cause, then retry.
		ctx := context.Background()
		e.app.Forge.CreateRepo(ctx, "payments/later", "main")
		repo, _ := e.app.Forge.Repo("payments/later")
		repo.Commit(ctx, forge.CommitOptions{Branch: "main", Message: "docs", Author: forge.Signature{Name: "a", Email: "a@x"},
			Changes: []forge.Change{{Path: "docs/index.md", Content: []byte("# docs")}}})
		e.must(201, "POST", "/api/scaffolder/v2/tasks/"+id+"/retry", tm.alice, nil)
		status, evs := e.waitTask(tm.alice, id, 10*time.Second)
		if status != "completed" {
			t.Fatalf("retry: %s\n%s", status, messages(evs))
		}
		if n := strings.Count(messages(evs), "first-step-ran"); n != 1 {
			t.Errorf("the completed first step ran %d times, want once", n)
		}
	})

	t.Run("filing the same request again is idempotent for its author", func(t *testing.T) {
		e.t = t
		values := map[string]any{"name": "twice", "environment": "dev", "description": "x"}
		var changes []string
		for i := 0; i < 2; i++ {
			id := e.task(tm.alice, "secret-request", values, nil)
			status, evs := e.waitTask(tm.alice, id, 10*time.Second)
			if status != "completed" {
				t.Fatalf("run %d: %s\n%s", i, status, messages(evs))
			}
			var task struct {
				State struct {
					Steps []struct {
						Output map[string]any `json:"output"`
					} `json:"steps"`
				} `json:"state"`
			}
			e.must(200, "GET", "/api/scaffolder/v2/tasks/"+id, tm.alice, nil).json(t, &task)
			changes = append(changes, fmt.Sprint(task.State.Steps[0].Output["changeNumber"]))
		}
		if changes[0] != changes[1] {
			t.Errorf("change requests %v, want the same one twice", changes)
		}
		// Someone else filing it gets the conflict.
		id := e.task(tm.bob, "secret-request", map[string]any{"name": "twice", "environment": "dev", "owner": "group:default/payments"}, nil)
		if status, evs := e.waitTask(tm.bob, id, 10*time.Second); status != "failed" || !strings.Contains(messages(evs), "already has open change request") {
			t.Errorf("another user: %s\n%s", status, messages(evs))
		}
	})

	t.Run("a restart resumes an interrupted task", func(t *testing.T) {
		e.t = t
		e.addTemplate("long", "    - {id: one, action: debug:log, input: {message: step-one-ran}}\n"+
			"    - {id: wait, action: debug:wait, input: {seconds: 2}}\n"+
			"    - {id: two, action: debug:log, input: {message: step-two-ran}}\n")
		id := e.task(tm.alice, "long", nil, nil)
		e.waitEvent(tm.alice, id, "Waiting")
		e.app.Close()
		again := start(t, startOptions{dir: dir})
		again.t = t
		status, evs := again.waitTask(tm.alice, id, 20*time.Second)
		all := messages(evs)
		if status != "completed" || !strings.Contains(all, "interrupted by a restart") || strings.Count(all, "step-one-ran") != 1 || !strings.Contains(all, "step-two-ran") {
			t.Errorf("after a restart: %s\n%s", status, all)
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
