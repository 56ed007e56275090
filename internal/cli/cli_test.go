package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goldenpathidp/goldenpath/internal/app"
)

type cliEnv struct {
	t      *testing.T
	server string
	dir    string
}

// run executes the CLI with token and returns stdout, stderr and the exit code.
func (c cliEnv) run(token string, args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	full := append([]string{"--server", c.server, "--token", token, "--data-dir", c.dir}, args...)
	code := Run(context.Background(), full, Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
	return out.String(), errb.String(), code
}

func (c cliEnv) ok(token string, args ...string) string {
	c.t.Helper()
	out, errs, code := c.run(token, args...)
	if code != 0 {
		c.t.Fatalf("goldenpath %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

func TestCLI(t *testing.T) {
	dir := t.TempDir()
	a, err := app.Start(context.Background(), app.Config{DataDir: dir, Addr: "127.0.0.1:0", S3Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	c := cliEnv{t: t, server: a.URL(), dir: t.TempDir()}
	admin := a.AdminToken

	c.ok(admin, "user", "add", "alice", "--role", "developer", "--team", "payments")
	c.ok(admin, "user", "add", "bob", "--role", "approver", "--team", "platform")
	alice := strings.TrimSpace(c.ok(admin, "user", "token", "alice"))
	bob := strings.TrimSpace(c.ok(admin, "user", "token", "bob"))
	if !strings.HasPrefix(alice, "gp_") {
		t.Fatalf("token output %q", alice)
	}

	doc := c.ok(alice, "request", "new", "rds", "--name", "orders", "--dry-run")
	for _, want := range []string{"kind: RDSRequest", "owner: alice", "team: payments", "engine: postgres", "size: small"} {
		if !strings.Contains(doc, want) {
			t.Errorf("dry-run contract lacks %q:\n%s", want, doc)
		}
	}
	out := c.ok(alice, "request", "new", "secret", "--name", "api-key", "--description", "the key")
	if !strings.Contains(out, "change request #1 opened") {
		t.Errorf("request new printed %q", out)
	}
	if out := c.ok(bob, "change", "show", "1"); !strings.Contains(out, "create    secret.dev.api-key") || !strings.Contains(out, "Mergeable:  no") {
		t.Errorf("change show:\n%s", out)
	}
	// Exit codes carry the problem's class.
	if _, errs, code := c.run(alice, "change", "approve", "1"); code != 4 || !strings.Contains(errs, "approver role") {
		t.Errorf("developer approving: exit %d, %s", code, errs)
	}
	if _, errs, code := c.run(bob, "change", "merge", "1"); code != 6 || !strings.Contains(errs, "needs 1 approval") {
		t.Errorf("merge without approval: exit %d, %s", code, errs)
	}
	c.ok(bob, "change", "approve", "1", "--merge")
	c.ok(alice, "request", "wait", "secret.dev.api-key", "--timeout", "10s")

	var v struct {
		Phase  string `json:"phase"`
		Events []struct {
			Reason string `json:"reason"`
		} `json:"events"`
	}
	if err := json.Unmarshal([]byte(c.ok(alice, "request", "show", "secret.dev.api-key", "-o", "json")), &v); err != nil || v.Phase != "Ready" || len(v.Events) < 4 {
		t.Errorf("request show -o json: %+v, %v", v, err)
	}
	if y := c.ok(alice, "request", "list", "-o", "yaml"); !strings.Contains(y, "phase: Ready") {
		t.Errorf("request list -o yaml:\n%s", y)
	}

	file := filepath.Join(t.TempDir(), "bad.yaml")
	writeFile(t, file, "apiVersion: goldenpath.io/v1\nkind: S3Request\nmetadata: {name: x, owner: alice, team: payments, environment: dev}\nspec: {size: small, colour: red}\n")
	if _, errs, code := c.run(alice, "request", "create", "-f", file); code != 3 || !strings.Contains(errs, file+":4: spec.colour: unknown field") {
		t.Errorf("invalid file: exit %d, %s", code, errs)
	}
	if _, _, code := c.run(alice, "request", "list", "-o", "xml"); code != 2 {
		t.Errorf("bad -o: exit %d, want 2", code)
	}
	if out := c.ok("", "schema", "S3Request"); !strings.Contains(out, `"versioning"`) {
		t.Errorf("schema: %s", out)
	}
	if _, errs, code := c.run(alice, "--server", "http://127.0.0.1:1", "request", "list"); code != 7 || !strings.Contains(errs, "cannot reach goldenpath") {
		t.Errorf("unreachable server: exit %d, %s", code, errs)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestTemplateCommands(t *testing.T) {
	a, err := app.Start(context.Background(), app.Config{DataDir: t.TempDir(), Addr: "127.0.0.1:0", S3Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	c := cliEnv{t: t, server: a.URL(), dir: t.TempDir()}
	c.ok(a.AdminToken, "user", "add", "alice", "--role", "developer", "--team", "payments")
	alice := strings.TrimSpace(c.ok(a.AdminToken, "user", "token", "alice"))

	if out := c.ok(alice, "template", "list"); !strings.Contains(out, "stateful-app-template") {
		t.Errorf("template list:\n%s", out)
	}
	if out := c.ok(alice, "template", "show", "rds-request"); !strings.Contains(out, "size (required)") {
		t.Errorf("template show:\n%s", out)
	}
	out := filepath.Join(t.TempDir(), "rendered")
	c.ok(alice, "template", "dry-run", "app-template", "--set", "name=orders", "--set", "owner=group:default/payments",
		"--set", "repoUrl=goldenpath?owner=payments&repo=orders", "--out", out)
	if b, err := os.ReadFile(filepath.Join(out, "catalog-info.yaml")); err != nil || !strings.Contains(string(b), `name: "orders"`) {
		t.Errorf("dry-run --out wrote catalog-info.yaml = %q, %v", b, err)
	}
	if _, errs, code := c.run(alice, "template", "dry-run", "app-template", "--set", "name=Not_Valid"); code != 3 || !strings.Contains(errs, "name") {
		t.Errorf("invalid parameter: exit %d, %s", code, errs)
	}
	// A local template's step inputs and a values file keep their objects' order (catalog:write writes it).
	local := t.TempDir()
	_ = os.WriteFile(filepath.Join(local, "template.yaml"), []byte("apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\n"+
		"metadata: {name: local}\nspec:\n  type: service\n  steps:\n    - id: w\n      action: catalog:write\n      input:\n"+
		"        entity:\n          kind: Component\n          metadata:\n            name: x\n            annotations: ${{ parameters.annotations }}\n"+
		"          spec: {type: service, owner: team-a}\n"), 0o644)
	_ = os.WriteFile(filepath.Join(local, "values.yaml"), []byte("annotations: {z: '1', a: '2'}\n"), 0o644)
	localOut := filepath.Join(t.TempDir(), "local")
	c.ok(alice, "template", "dry-run", "--dir", local, "--values", filepath.Join(local, "values.yaml"), "--out", localOut)
	want := "kind: Component\nmetadata:\n  name: x\n  annotations:\n    z: \"1\"\n    a: \"2\"\nspec:\n  type: service\n  owner: team-a\n"
	if b, err := os.ReadFile(filepath.Join(localOut, "catalog-info.yaml")); err != nil || string(b) != want {
		t.Errorf("dry-run --dir wrote catalog-info.yaml\n%s(%v)\nwant\n%s", b, err, want)
	}
	res := c.ok(alice, "template", "run", "secret-request", "--set", "name=api-key", "--set", "environment=dev")
	if !strings.Contains(res, "Run completed with status: completed") || !strings.Contains(res, "/api/v1/changes/1") {
		t.Errorf("template run:\n%s", res)
	}
}
