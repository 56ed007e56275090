package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
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

// The scaffolder abuse tests' cast is twoTeams': alice and pete develop for payments, seadev for search
// (the attacker), and bob, a platform approver, merges templates.

// scafMergeTemplate adds files under templates/<name>/ the way a developer does: a branch of the platform
// repository, a change request, an approval and a merge. It waits until the template is on the list.
func scafMergeTemplate(t *testing.T, e *env, author, authorName, approver, name string, files ...forge.Change) {
	t.Helper()
	ctx := context.Background()
	main, err := e.app.Platform.ResolveRef(ctx, "main")
	if err != nil {
		t.Fatal(err)
	}
	for i := range files {
		files[i].Path = "templates/" + name + "/" + files[i].Path
	}
	branch := authorName + "/" + name
	if _, err := e.app.Platform.Commit(ctx, forge.CommitOptions{Branch: branch, Base: main, Message: "add " + name,
		Author: forge.Signature{Name: authorName, Email: authorName + "@example.com"}, Changes: files}); err != nil {
		t.Fatal(err)
	}
	r := e.must(201, "POST", "/api/v1/changes", author, map[string]any{"branch": branch, "title": "Add template " + name})
	e.approveAndMerge(int64(r.field(t, "number").(float64)), approver)
	waitFor(t, 30*time.Second, "template "+name+" listed after its merge", func() bool {
		return strings.Contains(string(e.must(200, "GET", "/api/scaffolder/v2/templates", author, nil).body), `"name":"`+name+`"`)
	})
}

// scafTemplate is the template.yaml of a service template called name; spec goes on after `type: service`.
func scafTemplate(name, spec string) forge.Change {
	return forge.Change{Path: "template.yaml", Content: []byte("apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\n" +
		"metadata: {name: " + name + "}\nspec:\n  type: service\n" + spec)}
}

// scafReverse is s backwards, as the reverse filter writes it.
func scafReverse(s string) string {
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
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
	spec := fmt.Sprintf(`  parameters:
    - properties:
        attack: {type: string}
  steps:
    - id: fetch
      action: fetch:plain
      input: {url: ./skeleton}
    - id: write
      if: ${{ parameters.attack == 'write' }}
      action: fetch:plain:file
      input: {url: ./payload.txt, targetPath: %[1]s/out}
    - id: catalog
      if: ${{ parameters.attack == 'catalog' }}
      action: catalog:write
      input: {filePath: %[1]s/out2, entity: {apiVersion: backstage.io/v1alpha1, kind: Component, metadata: {name: pwned}}}
    - id: rename
      if: ${{ parameters.attack == 'rename' }}
      action: fs:rename
      input: {files: [{from: %[1]s/canary, to: canary}]}
    - id: list
      action: debug:log
      input: {listWorkspace: with-contents}
`, deep)
	return []forge.Change{
		scafTemplate(name, spec),
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
	e := start(t, startOptions{})
	c := twoTeams(e)
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
	scafMergeTemplate(t, e, c.seadev, "seadev", c.bob, name, scafEscapeTemplate(name, outside)...)
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
			r := e.must(200, "POST", "/api/scaffolder/v2/dry-run", c.seadev, map[string]any{
				"templateRef": "template:default/" + name, "values": map[string]any{"attack": attack}})
			leaked(t, "dry run", string(r.body))
			if !strings.Contains(string(r.body), "keep.txt") {
				t.Errorf("the ordinary file is not listed: the run did not get to the listing:\n%.3000s", r.body)
			}
		})
		t.Run("task "+attack, func(t *testing.T) {
			e.t = t
			id := e.task(c.seadev, name, map[string]any{"attack": attack}, nil)
			_, evs := e.waitTask(c.seadev, id, time.Minute)
			leaked(t, "task", messages(evs))
			state := e.must(200, "GET", "/api/scaffolder/v2/tasks/"+id, c.seadev, nil)
			leaked(t, "task state", string(state.body))
		})
	}
}

// TestAbuseScaffolderSecretTransforms: a secret parameter and a task secret, transformed by filters,
// methods and concatenation, never appear in the log, the state, the output, the completion event, the
// dry-run result, the database or the server log.
func TestAbuseScaffolderSecretTransforms(t *testing.T) {
	e := start(t, startOptions{})
	c := twoTeams(e)
	pw := "Hunter2-" + suffix() + "-Zebra"
	token := "TokenXy-" + suffix() + "-Quartz"
	name := "scaf-secret-" + suffix()
	spec := `  parameters:
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
`
	scafMergeTemplate(t, e, c.alice, "alice", c.bob, name, scafTemplate(name, spec),
		forge.Change{Path: "skeleton/config.txt", Content: []byte("key=${{ values.pw | reverse }}\ntoken=${{ values.tk | upper }}\n")})
	forbidden := []string{pw, strings.ToUpper(pw), strings.ToLower(pw), scafReverse(pw), scafReverse(strings.ToUpper(pw)), pw[2:12],
		token, strings.ToUpper(token), scafReverse(strings.ToLower(token))}
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

	r := e.must(200, "POST", "/api/scaffolder/v2/dry-run", c.alice, map[string]any{"templateRef": "template:default/" + name,
		"values": values, "secrets": secrets})
	check(t, "dry-run result", string(r.body))
	if !strings.Contains(string(r.body), "config.txt") {
		t.Errorf("the dry run did not render the skeleton:\n%.3000s", r.body)
	}

	id := e.task(c.alice, name, values, secrets)
	status, evs := e.waitTask(c.alice, id, time.Minute)
	if status != "completed" {
		t.Fatalf("task %s:\n%s", status, messages(evs))
	}
	check(t, "task events", messages(evs))
	check(t, "task", string(e.must(200, "GET", "/api/scaffolder/v2/tasks/"+id, c.alice, nil).body))
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
	e := start(t, startOptions{})
	c := twoTeams(e)
	pw := "Retry-" + suffix() + "-Secret"
	name := "scaf-retry-" + suffix()
	later := "payments/scaf-later-" + suffix()
	spec := fmt.Sprintf(`  parameters:
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
`, later)
	scafMergeTemplate(t, e, c.alice, "alice", c.bob, name, scafTemplate(name, spec),
		forge.Change{Path: "skeleton/config.txt", Content: []byte("reversed=${{ values.pw | reverse }}\n")})
	id := e.task(c.alice, name, map[string]any{"password": pw}, nil)
	if status, evs := e.waitTask(c.alice, id, time.Minute); status != "failed" {
		t.Fatalf("first attempt: %s\n%s", status, messages(evs))
	}
	createRepo(t, e, later, map[string]string{"docs/index.md": "# docs\n"})
	e.must(201, "POST", "/api/scaffolder/v2/tasks/"+id+"/retry", c.alice, nil)
	status, evs := e.waitTask(c.alice, id, time.Minute)
	if status != "completed" {
		t.Fatalf("retry: %s\n%s", status, messages(evs))
	}
	if strings.Contains(messages(evs), scafReverse(pw)) || strings.Contains(messages(evs), pw) {
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
	e := start(t, startOptions{})
	c := twoTeams(e)
	name := "scaf-visible-" + suffix()
	spec := `  parameters:
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
`
	scafMergeTemplate(t, e, c.alice, "alice", c.bob, name, scafTemplate(name, spec))

	failed := e.task(c.alice, name, map[string]any{"waits": 0}, nil)
	if status, evs := e.waitTask(c.alice, failed, time.Minute); status != "failed" {
		t.Fatalf("task %s:\n%s", status, messages(evs))
	}
	running := e.task(c.alice, name, map[string]any{"waits": 100}, nil)

	for _, id := range []string{failed, running} {
		for _, p := range []string{"", "/events", "/eventstream"} {
			if r := e.call("GET", "/api/scaffolder/v2/tasks/"+id+p, c.seadev, nil); r.status != 404 || strings.Contains(string(r.body), "private payments work") {
				t.Errorf("search developer: GET task%s: got %d %s, want 404", p, r.status, r.body)
			}
			e.must(200, "GET", "/api/scaffolder/v2/tasks/"+id+strings.Replace(p, "/eventstream", "/events", 1), c.pete, nil)
			e.must(200, "GET", "/api/scaffolder/v2/tasks/"+id+strings.Replace(p, "/eventstream", "/events", 1), e.admin, nil)
		}
	}
	for _, q := range []string{"", "?createdBy=user:default/alice", "?status=failed"} {
		r := e.must(200, "GET", "/api/scaffolder/v2/tasks"+q, c.seadev, nil)
		if strings.Contains(string(r.body), failed) || strings.Contains(string(r.body), running) {
			t.Errorf("search developer: the task list %q shows payments' tasks: %s", q, r.body)
		}
		for _, tok := range []string{c.pete, e.admin} {
			if r := e.must(200, "GET", "/api/scaffolder/v2/tasks"+q, tok, nil); !strings.Contains(string(r.body), failed) {
				t.Errorf("the task list %q does not show payments' task to payments or an admin: %s", q, r.body)
			}
		}
	}
	if r := e.call("POST", "/api/scaffolder/v2/tasks/"+failed+"/retry", c.seadev, nil); r.status != 404 {
		t.Errorf("search developer: retry: got %d %s, want 404", r.status, r.body)
	}
	if r := e.call("POST", "/api/scaffolder/v2/tasks/"+running+"/cancel", c.seadev, nil); r.status != 404 {
		t.Errorf("search developer: cancel: got %d %s, want 404", r.status, r.body)
	}
	// A teammate reads the task but only its creator (or an admin) cancels or retries it.
	if r := e.call("POST", "/api/scaffolder/v2/tasks/"+running+"/cancel", c.pete, nil); r.status != 403 {
		t.Errorf("payments teammate: cancel: got %d %s, want 403", r.status, r.body)
	}

	// The portal's pages answer the same way.
	search := portalAs(t, e, c.seadev)
	for _, p := range []string{"/tasks/" + failed, "/tasks/" + failed + "/events"} {
		if status, _, body := search.do("GET", p, nil); status != 404 || strings.Contains(body, "private payments work") {
			t.Errorf("search developer: portal %s: got %d, want 404:\n%.1000s", p, status, body)
		}
	}
	if _, _, body := search.do("GET", "/tasks?all=true", nil); strings.Contains(body, failed) {
		t.Errorf("search developer: the portal's task list shows payments' task")
	}
	csrf := search.csrf("/")
	for _, p := range []string{"/tasks/" + failed + "/retry", "/tasks/" + running + "/cancel"} {
		if status, _, _ := search.do("POST", p, url.Values{"csrf": {csrf}}); status != 404 {
			t.Errorf("search developer: portal POST %s: got %d, want 404", p, status)
		}
	}
	if status, _, body := portalAs(t, e, c.pete).do("GET", "/tasks/"+failed, nil); status != 200 || !strings.Contains(body, "private payments work") {
		t.Errorf("payments developer: portal task page: got %d, want 200 with the log", status)
	}

	// The creator still cancels and retries.
	e.must(200, "POST", "/api/scaffolder/v2/tasks/"+running+"/cancel", c.alice, nil)
	if status, _ := e.waitTask(c.alice, running, time.Minute); status != "cancelled" {
		t.Errorf("the creator's cancel: task is %s, want cancelled", status)
	}
	e.must(201, "POST", "/api/scaffolder/v2/tasks/"+failed+"/retry", c.alice, nil)
}

// TestAbuseScaffolderLogFlood: a template that logs 40 MiB stops at the cap, says so in the log itself, and
// neither the dry-run response nor the task's stored events grow past it.
func TestAbuseScaffolderLogFlood(t *testing.T) {
	e := start(t, startOptions{})
	c := twoTeams(e)
	const mib = 1 << 20
	steps := `[{"id":"flood","action":"debug:log","each":"${{ range(40) }}","input":{"message":"${{ 'x' | center(1048576) }}"}}]`
	body := inlineTemplate(tmplJSON(steps), nil, map[string]any{"name": "x"}, nil)
	r := e.must(200, "POST", "/api/scaffolder/v2/dry-run", c.seadev, body)
	if len(r.body) > 12*mib {
		t.Errorf("the dry-run response is %d bytes, want it capped near 10 MiB", len(r.body))
	}
	if !strings.Contains(string(r.body), "log truncated at 10 MiB") {
		t.Errorf("the dry-run log does not say it was truncated (%d bytes)", len(r.body))
	}

	name := "scaf-flood-" + suffix()
	spec := `  steps:
    - id: flood
      action: debug:log
      each: ${{ range(40) }}
      input: {message: "${{ 'x' | center(1048576) }}"}
`
	scafMergeTemplate(t, e, c.seadev, "seadev", c.bob, name, scafTemplate(name, spec))
	id := e.task(c.seadev, name, nil, nil)
	e.waitTask(c.seadev, id, 2*time.Minute)
	evs := e.must(200, "GET", "/api/scaffolder/v2/tasks/"+id+"/events", c.seadev, nil)
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
	e := start(t, startOptions{})
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
		if !eventually(30*time.Second, func() bool { byCommit, _ := reports(); return len(byCommit) >= n }) {
			t.Fatalf("the invalid template was not reported for %d commits of main:\n%s", n, e.log())
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
			waitFor(t, 30*time.Second, "user "+user+" in the catalog", func() bool {
				_, err := e.app.Catalog.Get(ctx, catalog.Ref{Kind: "user", Namespace: "default", Name: user})
				return err == nil
			})
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
