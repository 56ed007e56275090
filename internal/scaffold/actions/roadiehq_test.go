package actions

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/scaffold"
	"github.com/goldenpathidp/goldenpath/internal/scaffold/expr"
)

// runSteps runs a template of the given steps with the given actions, in a new workspace holding files.
func runSteps(t *testing.T, ctx context.Context, acts []scaffold.Action, steps string, files map[string]string, values map[string]any) (string, scaffold.Result, *recorder, error) {
	t.Helper()
	engine := expr.New(expr.Options{})
	reg, err := scaffold.NewRegistry(append(acts, DebugLog())...)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := stepsTemplate(t, steps)
	ws := filepath.Join(t.TempDir(), "workspace")
	for name, content := range files {
		p := filepath.Join(ws, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(content, "symlink:"); ok {
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(ws, 0o755); err != nil {
		t.Fatal(err)
	}
	ev := &recorder{}
	res, err := (&scaffold.Runner{Actions: reg, Engine: engine}).Execute(ctx, scaffold.Run{
		TaskID: "t", Template: tmpl, Values: values, Workspace: ws, Events: ev, User: testUser})
	return ws, res, ev, err
}

// testUser is who runSteps runs as.
var testUser = scaffold.User{Name: "alice", Ref: "user:default/alice", Teams: []string{"payments"}}

func roadieActions() []scaffold.Action {
	return []scaffold.Action{RoadieWrite(), RoadieAppend(), RoadieParse(), RoadieReplace(), RoadieMerge(), RoadieJSONMerge(),
		RoadieSerializeJSON(), RoadieSerializeYAML(), RoadieZip(), RoadieSleep(2 * time.Second),
		RoadieJSONata(), RoadieJSONataJSON(), RoadieJSONataYAML()}
}

func stepOutput(res scaffold.Result, id string) map[string]any {
	for _, s := range res.Steps {
		if s.ID == id {
			return s.Output
		}
	}
	return nil
}

func readWS(t *testing.T, ws, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(ws, filepath.FromSlash(name)))
	if err != nil {
		t.Fatalf("reading %s: %v", name, err)
	}
	return string(b)
}

func asJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestRoadieFiles: write, append, parse and replace behave as the originals, in order.
func TestRoadieFiles(t *testing.T) {
	ws, res, _, err := runSteps(t, context.Background(), roadieActions(), `
    - {id: w, action: roadiehq:utils:fs:write, input: {path: out/a.json, content: '{"z":1,"a":[1,2]}', preserveFormatting: true}}
    - {id: w2, action: roadiehq:utils:fs:write, input: {path: plain.txt, content: "not json"}}
    - {id: ap, action: roadiehq:utils:fs:append, input: {path: plain.txt, content: " and more"}}
    - {id: ap2, action: roadiehq:utils:fs:append, input: {path: new.txt, content: "fresh"}}
    - {id: p, action: roadiehq:utils:fs:parse, input: {path: out/a.json, parser: json}}
    - {id: py, action: roadiehq:utils:fs:parse, input: {path: multi.yaml, parser: multiyaml}}
    - {id: pt, action: roadiehq:utils:fs:parse, input: {path: plain.txt}}
    - {id: order, action: roadiehq:utils:serialize:json, input: {data: {json: "${{ steps.p.output.content }}", yaml: "${{ steps.py.output.content }}"}}}
    - id: r
      action: roadiehq:utils:fs:replace
      input:
        files:
          - {file: "src/**/*.go", find: "OLD", replaceWith: "NEW"}
          - {file: "src/*.txt", find: "v(\\d+)", replaceWith: "version-$1", matchRegex: true}
`, map[string]string{
		"multi.yaml": "b: 1\na: 2\n---\nkind: X\n", "src/x/y.go": "OLD OLD", "src/.hidden/z.go": "OLD", "src/n.txt": "v1 v22",
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := readWS(t, ws, "out/a.json"), "{\n  \"z\": 1,\n  \"a\": [\n    1,\n    2\n  ]\n}"; got != want {
		t.Errorf("fs:write with preserveFormatting: got %q, want %q", got, want)
	}
	if got := readWS(t, ws, "plain.txt"); got != "not json and more" {
		t.Errorf("fs:append: got %q", got)
	}
	if got := readWS(t, ws, "new.txt"); got != "fresh" {
		t.Errorf("fs:append of a new file: got %q", got)
	}
	if got := stepOutput(res, "w")["path"]; got != filepath.Join(ws, "out/a.json") {
		t.Errorf("fs:write output path: got %v", got)
	}
	if got := stepOutput(res, "order")["serialized"]; got != `{"json":{"z":1,"a":[1,2]},"yaml":[{"b":1,"a":2},{"kind":"X"}]}` {
		t.Errorf("fs:parse json and multiyaml, in their order: got %s", got)
	}
	if got := stepOutput(res, "pt")["content"]; got != "not json and more" {
		t.Errorf("fs:parse without parser: got %v", got)
	}
	if got := readWS(t, ws, "src/x/y.go"); got != "NEW NEW" {
		t.Errorf("fs:replace: got %q", got)
	}
	if got := readWS(t, ws, "src/.hidden/z.go"); got != "OLD" {
		t.Errorf("fs:replace touched a dot directory without includeDotFiles: %q", got)
	}
	if got := readWS(t, ws, "src/n.txt"); got != "version-1 version-22" {
		t.Errorf("fs:replace with a regex: got %q", got)
	}
}

// TestRoadieMergeAndSerialize: merging keeps the file's order, replaces or joins arrays, picks the document
// of a multi-document YAML file; serialization follows JSON.stringify and yaml's stringify.
func TestRoadieMergeAndSerialize(t *testing.T) {
	ws, res, _, err := runSteps(t, context.Background(), roadieActions(), `
    - {id: mj, action: roadiehq:utils:merge, input: {path: package.json, content: {scripts: {test: jest}, files: [b], name: x}}}
    - {id: my, action: roadiehq:utils:merge, input: {path: app.yaml, mergeArrays: true, content: "tags: [b, c]\nspec:\n  replicas: 2\n"}}
    - id: mm
      action: roadiehq:utils:merge
      input: {path: multi.yml, content: {spec: {x: 1}}, useDocumentIncludingField: {key: metadata.name, value: two}}
    - {id: jm, action: roadiehq:utils:json:merge, input: {path: created.json, content: '{"a": {"b": 1}}'}}
    - {id: data, action: roadiehq:utils:fs:parse, input: {path: data.yaml, parser: yaml}}
    - {id: sj, action: roadiehq:utils:serialize:json, input: {data: "${{ steps.data.output.content.sj }}", space: "  "}}
    - {id: sr, action: roadiehq:utils:serialize:json, input: {data: "${{ steps.data.output.content.sr }}", replacer: [a, c]}}
    - {id: sy, action: roadiehq:utils:serialize:yaml, input: {data: "${{ steps.data.output.content.sy }}"}}
`, map[string]string{
		"package.json": `{"name": "a", "files": ["a"], "scripts": {"build": "tsc"}}`,
		"app.yaml":     "# comment\nname: app\ntags: [a, b]\nspec:\n  image: x\n",
		"multi.yml":    "metadata: {name: one}\n---\nmetadata: {name: two}\nspec: {y: 2}\n",
		"data.yaml":    "sj: {b: 1, a: \"<x>\"}\nsr: {b: 1, a: 2, c: {a: 3, d: 4}}\nsy: {name: x, list: [1, 2]}\n",
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ what, got, want string }{
		{"merge json", readWS(t, ws, "package.json"), "{\n  \"name\": \"x\",\n  \"files\": [\n    \"b\"\n  ],\n  \"scripts\": {\n    \"build\": \"tsc\",\n    \"test\": \"jest\"\n  }\n}"},
		{"merge yaml", readWS(t, ws, "app.yaml"), "name: app\ntags:\n  - a\n  - b\n  - c\nspec:\n  image: x\n  replicas: 2\n"},
		{"merge multi-document yaml", readWS(t, ws, "multi.yml"), "metadata:\n  name: one\n---\nmetadata:\n  name: two\nspec:\n  y: 2\n  x: 1\n"},
		{"json:merge creates", readWS(t, ws, "created.json"), "{\n  \"a\": {\n    \"b\": 1\n  }\n}"},
		{"serialize:json", stepOutput(res, "sj")["serialized"].(string), "{\n  \"b\": 1,\n  \"a\": \"<x>\"\n}"},
		{"serialize:json replacer", stepOutput(res, "sr")["serialized"].(string), `{"a":2,"c":{"a":3}}`},
		{"serialize:yaml", stepOutput(res, "sy")["serialized"].(string), "name: x\nlist:\n  - 1\n  - 2\n"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got\n%s\nwant\n%s", c.what, c.got, c.want)
		}
	}
}

// TestRoadieJSONata: the three JSONata actions, as objects and as text.
func TestRoadieJSONata(t *testing.T) {
	_, res, _, err := runSteps(t, context.Background(), roadieActions(), `
    - {id: j, action: roadiehq:utils:jsonata, input: {data: {items: [{n: 1}, {n: 2}]}, expression: "$sum(items.n)"}}
    - {id: jj, action: roadiehq:utils:jsonata:json:transform, input: {path: p.json, expression: "$merge([$, {\"version\": \"2\"}])"}}
    - {id: jo, action: roadiehq:utils:jsonata:json:transform, input: {path: p.json, expression: "name", as: object}}
    - {id: jy, action: roadiehq:utils:jsonata:yaml:transform, input: {path: c.yaml, expression: "spec.owner"}}
    - {id: ja, action: roadiehq:utils:jsonata:yaml:transform, input: {path: c.yaml, loadAll: true, expression: "$count($)", as: object}}
`, map[string]string{"p.json": `{"name": "x", "version": "1"}`, "c.yaml": "spec:\n  owner: team-a\n"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{"j": `3`, "jj": `"{\"name\":\"x\",\"version\":\"2\"}"`, "jo": `"x"`, "jy": `"team-a\n"`, "ja": `1`} {
		if got := asJSON(stepOutput(res, id)["result"]); got != want {
			t.Errorf("step %s: result %s, want %s", id, got, want)
		}
	}
	_, _, _, err = runSteps(t, context.Background(), roadieActions(), `
    - {id: j, action: roadiehq:utils:jsonata, input: {data: {}, expression: "($f := function($x){ $f($x) }; $f(1))"}}
`, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "recursed too deeply") {
		t.Errorf("an endless recursion: got %v, want an error saying so", err)
	}
}

// TestRoadieZipAndSleep: zip holds the directory's files (not links); sleep is capped and cancellable.
func TestRoadieZipAndSleep(t *testing.T) {
	ws, res, _, err := runSteps(t, context.Background(), roadieActions(), `
    - {id: z, action: roadiehq:utils:zip, input: {path: site, outputPath: out/site.zip}}
`, map[string]string{"site/index.html": "<h1>", "site/css/a.css": "a{}"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := stepOutput(res, "z")["outputPath"]; got != "out/site.zip" {
		t.Errorf("outputPath: got %v", got)
	}
	raw := readWS(t, ws, "out/site.zip")
	zr, err := zip.NewReader(bytes.NewReader([]byte(raw)), int64(len(raw)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, ","); got != "css/a.css,index.html" {
		t.Errorf("zip entries: got %s", got)
	}

	_, _, _, err = runSteps(t, context.Background(), roadieActions(), `
    - {id: s, action: roadiehq:utils:sleep, input: {amount: 3600}}
`, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "can not be greater than maxSleep") {
		t.Errorf("an hour's sleep: got %v, want it refused", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, _, _, err := runSteps(t, ctx, roadieActions(), "    - {id: s, action: roadiehq:utils:sleep, input: {amount: 2}}\n", nil, nil)
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Errorf("a cancelled sleep succeeded")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the sleep did not end when the task was cancelled")
	}
}

// TestRoadieStaysInTheWorkspace: paths that leave the workspace, or go through a symlink, are refused.
func TestRoadieStaysInTheWorkspace(t *testing.T) {
	outside := outsideDir(t)
	for _, step := range []string{
		`{id: a, action: roadiehq:utils:fs:write, input: {path: ../escape.txt, content: x}}`,
		`{id: a, action: roadiehq:utils:fs:write, input: {path: /etc/passwd, content: x}}`,
		`{id: a, action: roadiehq:utils:fs:append, input: {path: link/victim.txt, content: x}}`,
		`{id: a, action: roadiehq:utils:fs:parse, input: {path: ../../etc/passwd}}`,
		`{id: a, action: roadiehq:utils:merge, input: {path: link/victim.json, content: {a: 1}}}`,
		`{id: a, action: roadiehq:utils:zip, input: {path: link, outputPath: out.zip}}`,
		`{id: a, action: roadiehq:utils:zip, input: {path: x, outputPath: link/out.zip}}`,
		`{id: a, action: roadiehq:utils:jsonata:json:transform, input: {path: link/victim.json, expression: "$"}}`,
	} {
		t.Run(step, func(t *testing.T) {
			_, _, ev, err := runSteps(t, context.Background(), roadieActions(), "    - "+step+"\n",
				map[string]string{"x/y": "z", "link": "symlink:" + outside}, nil)
			if err == nil {
				t.Fatalf("got success, want a refusal")
			}
			if strings.Contains(ev.text(), "outside-content") {
				t.Errorf("content from outside reached the log")
			}
			if got, _ := os.ReadFile(filepath.Join(outside, "victim.txt")); string(got) != "outside-content" {
				t.Errorf("the file outside was changed to %q", got)
			}
		})
	}
}
