package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/catalog"
	"github.com/goldenpathidp/goldenpath/internal/forge"
)

// scafCast is who the scaffolder abuse tests need: two developers of payments, one of search (the attacker)
// and a platform approver who merges templates.
type scafCast struct {
	pay, pay2, search, approver string
}

func scafStart(t *testing.T) (*env, scafCast) {
	t.Helper()
	e := start(t, startOptions{})
	return e, scafCast{
		pay:      e.user("scafpay", []string{"developer"}, "payments"),
		pay2:     e.user("scafpay2", []string{"developer"}, "payments"),
		search:   e.user("scafsearch", []string{"developer"}, "search"),
		approver: e.user("scafappr", []string{"approver"}, "platform"),
	}
}

// scafMergeTemplate adds files under templates/<dir>/ the way a developer does: a branch of the platform
// repository, a change request, an approval and a merge. It waits until the template is on the list.
func scafMergeTemplate(t *testing.T, e *env, author, authorName, approver, dir, name string, files []forge.Change) {
	t.Helper()
	ctx := context.Background()
	main, err := e.app.Platform.ResolveRef(ctx, "main")
	if err != nil {
		t.Fatal(err)
	}
	for i := range files {
		files[i].Path = "templates/" + dir + "/" + files[i].Path
	}
	branch := authorName + "/" + dir
	if _, err := e.app.Platform.Commit(ctx, forge.CommitOptions{Branch: branch, Base: main, Message: "add " + dir,
		Author: forge.Signature{Name: authorName, Email: authorName + "@example.com"}, Changes: files}); err != nil {
		t.Fatal(err)
	}
	r := e.must(201, "POST", "/api/v1/changes", author, map[string]any{"branch": branch, "title": "Add template " + dir})
	e.approveAndMerge(int64(r.field(t, "number").(float64)), approver)
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(string(e.must(200, "GET", "/api/scaffolder/v2/templates", author, nil).body), `"name":"`+name+`"`) {
		if time.Now().After(deadline) {
			t.Fatalf("template %s is not listed after its merge", name)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// scafEscapeTemplate is a malicious template: its skeleton holds chains of symlinks that each look inside
// when cleaned lexically but lead out of the workspace, to a file outside (out, out2), to /proc/self/environ
// (env), and one that escapes only once moved (canary).
func scafEscapeTemplate(name, outside string) []forge.Change {
	deep := strings.TrimSuffix(strings.Repeat("p/", 40), "/")
	up := strings.Repeat("../", 40)
	abs := strings.TrimPrefix(outside, "/")
	link := func(p, target string) forge.Change {
		return forge.Change{Path: "skeleton/" + deep + "/" + p, Content: []byte(target), Mode: "120000"}
	}
	tmpl := fmt.Sprintf(`apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: %[1]s}
spec:
  type: service
  parameters:
    - properties:
        attack: {type: string}
  steps:
    - id: fetch
      action: fetch:plain
      input: {url: ./skeleton}
    - id: write
      if: ${{ parameters.attack == 'write' }}
      action: fetch:plain:file
      input: {url: ./payload.txt, targetPath: %[2]s/out}
    - id: catalog
      if: ${{ parameters.attack == 'catalog' }}
      action: catalog:write
      input: {filePath: %[2]s/out2, entity: {apiVersion: backstage.io/v1alpha1, kind: Component, metadata: {name: pwned}}}
    - id: rename
      if: ${{ parameters.attack == 'rename' }}
      action: fs:rename
      input: {files: [{from: %[2]s/canary, to: canary}]}
    - id: list
      action: debug:log
      input: {listWorkspace: with-contents}
`, name, deep)
	return []forge.Change{
		{Path: "template.yaml", Content: []byte(tmpl)},
		{Path: "payload.txt", Content: []byte("pwned by a template\n")},
		{Path: "skeleton/keep.txt", Content: []byte("an ordinary file\n")},
		link("l", up),
		link("env", "l/"+up+"proc/self/environ"),
		link("out", "l/"+up+abs+"/pwned-write.txt"),
		link("out2", "l/"+up+abs+"/pwned-catalog.yaml"),
		link("canary", up+abs+"/canary.txt"),
	}
}

// TestAbuseScaffolderWorkspaceEscape: a search developer's template, merged after review, tries to write
// outside the workspace through symlink chains, to read /proc/self/environ and a file outside into the task
// log, and to move a link so that it points out. Nothing outside is written or read, in dry runs and tasks.
func TestAbuseScaffolderWorkspaceEscape(t *testing.T) {
	e, c := scafStart(t)
	outside := t.TempDir()
	canary := "canary-" + suffix() + "-outside-content"
	if err := os.WriteFile(filepath.Join(outside, "canary.txt"), []byte(canary), 0o644); err != nil {
		t.Fatal(err)
	}
	environ := "PATH=" + os.Getenv("PATH") // in /proc/self/environ of the process that runs goldenpath
	if os.Getenv("PATH") == "" {
		t.Fatal("PATH is empty: the test needs a known value of /proc/self/environ")
	}
	name := "scaf-escape-" + suffix()
	scafMergeTemplate(t, e, c.search, "scafsearch", c.approver, name, name, scafEscapeTemplate(name, outside))
	leaked := func(t *testing.T, where, body string) {
		t.Helper()
		if strings.Contains(body, environ) || strings.Contains(body, "proc/self/environ:\n") && strings.Contains(body, "HOME=") {
			t.Errorf("%s: /proc/self/environ reached the log:\n%.2000s", where, body)
		}
		if strings.Contains(body, canary) {
			t.Errorf("%s: a file outside the workspace reached the log:\n%.2000s", where, body)
		}
		for _, f := range []string{"pwned-write.txt", "pwned-catalog.yaml"} {
			if _, err := os.Lstat(filepath.Join(outside, f)); err == nil {
				t.Errorf("%s: the template created %s outside the workspace", where, f)
			}
		}
	}
	for _, attack := range []string{"write", "catalog", "rename"} {
		t.Run("dry run "+attack, func(t *testing.T) {
			e.t = t
			r := e.must(200, "POST", "/api/scaffolder/v2/dry-run", c.search, map[string]any{
				"templateRef": "template:default/" + name, "values": map[string]any{"attack": attack}})
			leaked(t, "dry run", string(r.body))
			if !strings.Contains(string(r.body), "keep.txt") {
				t.Errorf("the ordinary file is not listed: the run did not get to the listing:\n%.3000s", r.body)
			}
		})
		t.Run("task "+attack, func(t *testing.T) {
			e.t = t
			id := e.task(c.search, name, map[string]any{"attack": attack}, nil)
			_, evs := e.waitTask(c.search, id, time.Minute)
			leaked(t, "task", messages(evs))
			state := e.must(200, "GET", "/api/scaffolder/v2/tasks/"+id, c.search, nil)
			leaked(t, "task state", string(state.body))
		})
	}
}

// TestAbuseScaffolderSecretTransforms: a secret parameter and a task secret, transformed by filters,
// methods and concatenation, never appear in the log, the state, the output, the completion event, the
// dry-run result, the database or the server log.
func TestAbuseScaffolderSecretTransforms(t *testing.T) {
	e, c := scafStart(t)
	pw := "Hunter2-" + suffix() + "-Zebra"
	token := "TokenXy-" + suffix() + "-Quartz"
	name := "scaf-secret-" + suffix()
	tmpl := fmt.Sprintf(`apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: %s}
spec:
  type: service
  parameters:
    - properties:
        password: {type: string, ui:field: Secret}
        label: {type: string}
  steps:
    - id: log
      action: debug:log
      input:
        message: "u=${{ parameters.password | upper }} r=${{ parameters.password | reverse }} s=${{ parameters.password.substring(2, 12) }} c=${{ parameters.label ~ parameters.password }} t=${{ secrets.apiToken | lower | reverse }}"
    - id: files
      action: fetch:template
      input: {url: ./skeleton, values: {pw: "${{ parameters.password | upper }}", tk: "${{ secrets.apiToken }}"}}
    - id: show
      action: debug:log
      input: {listWorkspace: with-contents}
  output:
    text:
      - title: secret
        content: "${{ parameters.password | reverse }} and ${{ parameters.password | upper }}"
    links:
      - title: link
        url: "https://example.com/${{ parameters.password | upper }}"
`, name)
	scafMergeTemplate(t, e, c.pay, "scafpay", c.approver, name, name, []forge.Change{
		{Path: "template.yaml", Content: []byte(tmpl)},
		{Path: "skeleton/config.txt", Content: []byte("key=${{ values.pw | reverse }}\ntoken=${{ values.tk | upper }}\n")},
	})
	rev := func(s string) string {
		r := []rune(s)
		for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
			r[i], r[j] = r[j], r[i]
		}
		return string(r)
	}
	forbidden := []string{pw, strings.ToUpper(pw), strings.ToLower(pw), rev(pw), rev(strings.ToUpper(pw)), pw[2:12],
		token, strings.ToUpper(token), rev(strings.ToLower(token))}
	check := func(t *testing.T, where, body string) {
		t.Helper()
		for _, f := range forbidden {
			if strings.Contains(body, f) {
				t.Errorf("%s: %q (derived from a secret) appears:\n%.3000s", where, f, body)
			}
		}
	}
	values := map[string]any{"password": pw, "label": "lbl"}
	secrets := map[string]string{"apiToken": token}

	r := e.must(200, "POST", "/api/scaffolder/v2/dry-run", c.pay, map[string]any{"templateRef": "template:default/" + name,
		"values": values, "secrets": secrets})
	check(t, "dry-run result", string(r.body))
	if !strings.Contains(string(r.body), "config.txt") {
		t.Errorf("the dry run did not render the skeleton:\n%.3000s", r.body)
	}

	id := e.task(c.pay, name, values, secrets)
	status, evs := e.waitTask(c.pay, id, time.Minute)
	if status != "completed" {
		t.Fatalf("task %s:\n%s", status, messages(evs))
	}
	check(t, "task events", messages(evs))
	check(t, "task", string(e.must(200, "GET", "/api/scaffolder/v2/tasks/"+id, c.pay, nil).body))
	stored, err := e.app.Store.GetTask(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	check(t, "stored task", stored.Spec+stored.State)
	raw, err := e.app.Store.TaskEvents(context.Background(), id, 0)
	if err != nil {
		t.Fatal(err)
	}
	var bodies strings.Builder
	for _, ev := range raw {
		bodies.WriteString(ev.Body + "\n")
	}
	check(t, "stored events", bodies.String())
	check(t, "server log", e.log())
	// The owner still sees what is not secret.
	if !strings.Contains(messages(evs), "u=***") || !strings.Contains(string(r.body), "config.txt") {
		t.Errorf("the log lost its non-secret text:\n%s", messages(evs))
	}
}

// TestAbuseScaffolderSecretAcrossRetry: a file rendered from a secret by a step that completed before a
// failure stays hidden when a retry lists the workspace (what a run computed from secrets is kept,
// encrypted, for the attempts that resume it).
func TestAbuseScaffolderSecretAcrossRetry(t *testing.T) {
	e, c := scafStart(t)
	pw := "Retry-" + suffix() + "-Secret"
	name := "scaf-retry-" + suffix()
	later := "payments/scaf-later-" + suffix()
	tmpl := fmt.Sprintf(`apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: %s}
spec:
  type: service
  parameters:
    - properties:
        password: {type: string, ui:widget: password}
  steps:
    - id: render
      action: fetch:template
      input: {url: ./skeleton, values: {pw: "${{ parameters.password }}"}}
    - id: later
      action: fetch:plain
      input: {url: "http://goldenpath/git/%s/tree/main/docs", targetPath: docs}
    - id: show
      action: debug:log
      input: {listWorkspace: with-contents}
`, name, later)
	scafMergeTemplate(t, e, c.pay, "scafpay", c.approver, name, name, []forge.Change{
		{Path: "template.yaml", Content: []byte(tmpl)},
		{Path: "skeleton/config.txt", Content: []byte("reversed=${{ values.pw | reverse }}\n")},
	})
	id := e.task(c.pay, name, map[string]any{"password": pw}, nil)
	if status, evs := e.waitTask(c.pay, id, time.Minute); status != "failed" {
		t.Fatalf("first attempt: %s\n%s", status, messages(evs))
	}
	ctx := context.Background()
	if _, _, err := e.app.Forge.CreateRepoWithCommit(ctx, later, "main", forge.CommitOptions{Message: "docs",
		Author: forge.Signature{Name: "a", Email: "a@example.com"}, Changes: []forge.Change{{Path: "docs/index.md", Content: []byte("# docs\n")}}}); err != nil {
		t.Fatal(err)
	}
	e.must(201, "POST", "/api/scaffolder/v2/tasks/"+id+"/retry", c.pay, nil)
	status, evs := e.waitTask(c.pay, id, time.Minute)
	if status != "completed" {
		t.Fatalf("retry: %s\n%s", status, messages(evs))
	}
	r := []rune(pw)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	if strings.Contains(messages(evs), string(r)) || strings.Contains(messages(evs), pw) {
		t.Errorf("the retry's listing shows what the first attempt computed from the secret:\n%s", messages(evs))
	}
	if !strings.Contains(messages(evs), "reversed=***") {
		t.Errorf("the listing does not show the file:\n%s", messages(evs))
	}
}

// TestAbuseScaffolderTaskVisibility: a search developer can neither list, read, stream, cancel nor retry a
// task of payments (404, as for a task that does not exist); payments' other developer and admins can read
// it, and its creator can cancel and retry it.
func TestAbuseScaffolderTaskVisibility(t *testing.T) {
	e, c := scafStart(t)
	name := "scaf-visible-" + suffix()
	tmpl := fmt.Sprintf(`apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: %s}
spec:
  type: service
  parameters:
    - properties:
        waits: {type: number}
  steps:
    - id: hello
      action: debug:log
      input: {message: "private payments work"}
    - id: wait
      action: debug:wait
      each: ${{ range(parameters.waits) }}
      input: {seconds: 9}
    - id: fail
      action: fs:rename
      input: {files: [{from: does-not-exist, to: x}]}
`, name)
	scafMergeTemplate(t, e, c.pay, "scafpay", c.approver, name, name, []forge.Change{{Path: "template.yaml", Content: []byte(tmpl)}})

	failed := e.task(c.pay, name, map[string]any{"waits": 0}, nil)
	if status, evs := e.waitTask(c.pay, failed, time.Minute); status != "failed" {
		t.Fatalf("task %s:\n%s", status, messages(evs))
	}
	running := e.task(c.pay, name, map[string]any{"waits": 100}, nil)

	for _, id := range []string{failed, running} {
		for _, p := range []string{"", "/events", "/eventstream"} {
			if r := e.call("GET", "/api/scaffolder/v2/tasks/"+id+p, c.search, nil); r.status != 404 || strings.Contains(string(r.body), "private payments work") {
				t.Errorf("search developer: GET task%s: got %d %s, want 404", p, r.status, r.body)
			}
			e.must(200, "GET", "/api/scaffolder/v2/tasks/"+id+strings.Replace(p, "/eventstream", "/events", 1), c.pay2, nil)
			e.must(200, "GET", "/api/scaffolder/v2/tasks/"+id+strings.Replace(p, "/eventstream", "/events", 1), e.admin, nil)
		}
	}
	for _, q := range []string{"", "?createdBy=user:default/scafpay", "?status=failed"} {
		r := e.must(200, "GET", "/api/scaffolder/v2/tasks"+q, c.search, nil)
		if strings.Contains(string(r.body), failed) || strings.Contains(string(r.body), running) {
			t.Errorf("search developer: the task list %q shows payments' tasks: %s", q, r.body)
		}
		for _, tok := range []string{c.pay2, e.admin} {
			if r := e.must(200, "GET", "/api/scaffolder/v2/tasks"+q, tok, nil); !strings.Contains(string(r.body), failed) {
				t.Errorf("the task list %q does not show payments' task to payments or an admin: %s", q, r.body)
			}
		}
	}
	if r := e.call("POST", "/api/scaffolder/v2/tasks/"+failed+"/retry", c.search, nil); r.status != 404 {
		t.Errorf("search developer: retry: got %d %s, want 404", r.status, r.body)
	}
	if r := e.call("POST", "/api/scaffolder/v2/tasks/"+running+"/cancel", c.search, nil); r.status != 404 {
		t.Errorf("search developer: cancel: got %d %s, want 404", r.status, r.body)
	}
	// A teammate reads the task but only its creator (or an admin) cancels or retries it.
	if r := e.call("POST", "/api/scaffolder/v2/tasks/"+running+"/cancel", c.pay2, nil); r.status != 403 {
		t.Errorf("payments teammate: cancel: got %d %s, want 403", r.status, r.body)
	}

	// The portal's pages answer the same way.
	search := scafPortal(t, e, c.search)
	for _, p := range []string{"/tasks/" + failed, "/tasks/" + failed + "/events"} {
		if status, body := search.get(p); status != 404 || strings.Contains(body, "private payments work") {
			t.Errorf("search developer: portal %s: got %d, want 404:\n%.1000s", p, status, body)
		}
	}
	if _, body := search.get("/tasks?all=true"); strings.Contains(body, failed) {
		t.Errorf("search developer: the portal's task list shows payments' task")
	}
	for _, p := range []string{"/tasks/" + failed + "/retry", "/tasks/" + running + "/cancel"} {
		if status := search.post(p); status != 404 {
			t.Errorf("search developer: portal POST %s: got %d, want 404", p, status)
		}
	}
	pay2 := scafPortal(t, e, c.pay2)
	if status, body := pay2.get("/tasks/" + failed); status != 200 || !strings.Contains(body, "private payments work") {
		t.Errorf("payments developer: portal task page: got %d, want 200 with the log", status)
	}

	// The creator still cancels and retries.
	e.must(200, "POST", "/api/scaffolder/v2/tasks/"+running+"/cancel", c.pay, nil)
	if status, _ := e.waitTask(c.pay, running, time.Minute); status != "cancelled" {
		t.Errorf("the creator's cancel: task is %s, want cancelled", status)
	}
	e.must(201, "POST", "/api/scaffolder/v2/tasks/"+failed+"/retry", c.pay, nil)
}

// TestAbuseScaffolderLogFlood: a template that logs 40 MiB stops at the cap, says so in the log itself, and
// neither the dry-run response nor the task's stored events grow past it.
func TestAbuseScaffolderLogFlood(t *testing.T) {
	e, c := scafStart(t)
	const mib = 1 << 20
	steps := `[{"id":"flood","action":"debug:log","each":"${{ range(40) }}","input":{"message":"${{ 'x' | center(1048576) }}"}}]`
	body := inlineTemplate(tmplJSON(steps), nil, map[string]any{"name": "x"}, nil)
	r := e.must(200, "POST", "/api/scaffolder/v2/dry-run", c.search, body)
	if len(r.body) > 12*mib {
		t.Errorf("the dry-run response is %d bytes, want it capped near 10 MiB", len(r.body))
	}
	if !strings.Contains(string(r.body), "log truncated at 10 MiB") {
		t.Errorf("the dry-run log does not say it was truncated (%d bytes)", len(r.body))
	}

	name := "scaf-flood-" + suffix()
	tmpl := fmt.Sprintf(`apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: %s}
spec:
  type: service
  steps:
    - id: flood
      action: debug:log
      each: ${{ range(40) }}
      input: {message: "${{ 'x' | center(1048576) }}"}
`, name)
	scafMergeTemplate(t, e, c.search, "scafsearch", c.approver, name, name, []forge.Change{{Path: "template.yaml", Content: []byte(tmpl)}})
	id := e.task(c.search, name, nil, nil)
	e.waitTask(c.search, id, 2*time.Minute)
	evs := e.must(200, "GET", "/api/scaffolder/v2/tasks/"+id+"/events", c.search, nil)
	if len(evs.body) > 12*mib {
		t.Errorf("the task's events are %d bytes, want them capped near 10 MiB", len(evs.body))
	}
	if !strings.Contains(string(evs.body), "log truncated at 10 MiB") {
		t.Errorf("the task log does not say it was truncated")
	}
	stored, _ := e.app.Store.TaskEvents(context.Background(), id, 0)
	total := 0
	for _, ev := range stored {
		total += len(ev.Body)
	}
	if total > 11*mib {
		t.Errorf("the task stored %d bytes of events, want at most about 10 MiB", total)
	}
}

// TestAbuseScaffolderInvalidTemplateReportedOnce: an invalid template on main is reported once per commit
// of main (with the commit, the file and the field), not on every pass of the catalog's sync.
func TestAbuseScaffolderInvalidTemplateReportedOnce(t *testing.T) {
	e, _ := scafStart(t)
	ctx := context.Background()
	name := "scaf-invalid-" + suffix()
	tmpl := fmt.Sprintf("apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: %s, tags: [Not A Tag]}\n"+
		"spec:\n  type: service\n  steps: [{id: a, action: debug:log, input: {message: hi}}]\n", name)
	commit := func(path, content string) string {
		for attempt := 0; ; attempt++ { // goldenpath commits to main too
			main, _ := e.app.Platform.ResolveRef(ctx, "main")
			sha, err := e.app.Platform.Commit(ctx, forge.CommitOptions{Branch: "main", Parent: main, Message: "update " + path,
				Author: forge.Signature{Name: "admin", Email: "admin@example.com"}, Changes: []forge.Change{{Path: path, Content: []byte(content)}}})
			if err == nil {
				return sha
			}
			if !errors.Is(err, forge.ErrConflict) || attempt == 20 {
				t.Fatal(err)
			}
		}
	}
	commitRe := regexp.MustCompile(`commit=([0-9a-f]{40})`)
	// reports returns the warnings about the template, by the commit each names ("" when it names none).
	reports := func() (map[string]int, []string) {
		byCommit := map[string]int{}
		var lines []string
		sc := bufio.NewScanner(strings.NewReader(e.log()))
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			if line := sc.Text(); strings.Contains(line, "level=WARN") && strings.Contains(line, name) {
				lines = append(lines, line)
				sha := ""
				if m := commitRe.FindStringSubmatch(line); m != nil {
					sha = m[1]
				}
				byCommit[sha]++
			}
		}
		return byCommit, lines
	}
	// waitReports waits for reports naming n commits (goldenpath commits to main too, so main may have
	// moved past a commit of the test before the template list was read at it).
	waitReports := func(n int) {
		deadline := time.Now().Add(30 * time.Second)
		for {
			if byCommit, _ := reports(); len(byCommit) >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the invalid template was not reported for %d commits of main:\n%s", n, e.log())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// syncPasses waits until the catalog's sync has run at least twice more: each probe user appears in the
	// catalog only through a pass.
	probes := 0
	syncPasses := func() {
		for i := 0; i < 2; i++ {
			probes++
			user := fmt.Sprintf("scafprobe%d", probes)
			e.user(user, []string{"developer"}, "payments")
			deadline := time.Now().Add(30 * time.Second)
			for {
				if _, err := e.app.Catalog.Get(ctx, catalog.Ref{Kind: "user", Namespace: "default", Name: user}); err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("user %s never reached the catalog", user)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
	commit("templates/"+name+"/template.yaml", tmpl)
	waitReports(1)
	syncPasses()
	seen, _ := reports()
	commit("notes/"+suffix()+".md", "another commit of main\n")
	waitReports(len(seen) + 1)
	syncPasses()
	byCommit, lines := reports()
	for sha, n := range byCommit {
		if sha == "" || n != 1 {
			t.Errorf("reported %d times for commit %q, want once per commit of main:\n%s", n, sha, strings.Join(lines, "\n"))
		}
	}
	if !strings.Contains(lines[0], "templates/"+name+"/template.yaml") || !strings.Contains(lines[0], "metadata.tags[0]") {
		t.Errorf("the report does not name the file and the field: %s", lines[0])
	}
}

// scafBrowser is a signed-in portal session (cookies kept by hand: the portal's cookies are Secure, and a
// cookie jar would not send them over the test's plain HTTP).
type scafBrowser struct {
	t       *testing.T
	e       *env
	session string
	csrf    string
	client  *http.Client
}

var scafCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func scafPortal(t *testing.T, e *env, token string) *scafBrowser {
	t.Helper()
	b := &scafBrowser{t: t, e: e, client: &http.Client{Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	resp, err := b.client.Get(e.app.URL() + "/signin")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := scafCSRF.FindSubmatch(page)
	if m == nil {
		t.Fatalf("no sign-in form:\n%s", page)
	}
	var signin string
	for _, ck := range resp.Cookies() {
		if ck.Name == "gp_signin" {
			signin = ck.Value
		}
	}
	form := url.Values{"csrf": {string(m[1])}, "token": {token}, "next": {"/"}}
	req, _ := http.NewRequest("POST", e.app.URL()+"/signin", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: "gp_signin", Value: signin})
	resp, err = b.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, ck := range resp.Cookies() {
		if ck.Name == "gp_session" {
			b.session = ck.Value
		}
	}
	if b.session == "" {
		t.Fatalf("signing in to the portal: got %d and no session", resp.StatusCode)
	}
	_, home := b.get("/")
	if m := scafCSRF.FindStringSubmatch(home); m != nil {
		b.csrf = m[1]
	}
	return b
}

func (b *scafBrowser) do(req *http.Request) (int, string) {
	req.AddCookie(&http.Cookie{Name: "gp_session", Value: b.session})
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return resp.StatusCode, string(raw)
}

func (b *scafBrowser) get(p string) (int, string) {
	req, _ := http.NewRequest("GET", b.e.app.URL()+p, nil)
	return b.do(req)
}

func (b *scafBrowser) post(p string) int {
	req, _ := http.NewRequest("POST", b.e.app.URL()+p, strings.NewReader(url.Values{"csrf": {b.csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	status, _ := b.do(req)
	return status
}
