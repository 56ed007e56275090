package cli

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/goldenpathidp/goldenpath/internal/app"
)

// freeForm are the keys whose values are maps keyed by data (request outputs, credentials, JSON Schemas,
// Kubernetes-style annotations), not by field names.
var freeForm = map[string]bool{"outputs": true, "secrets": true, "schema": true, "annotations": true, "labels": true}

var camelKey = regexp.MustCompile(`^[a-z][a-zA-Z0-9]*$`)

// jsonShapeProblems lists the keys of v that are not camelCase, and the arrays that stand where an
// object is wanted (a list is {"items": [...]}, never a bare array at the top).
func jsonShapeProblems(v any, path string, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, child := range x {
			if !camelKey.MatchString(k) {
				*out = append(*out, path+"."+k+" is not camelCase")
			}
			if !freeForm[k] {
				jsonShapeProblems(child, path+"."+k, out)
			}
		}
	case []any:
		for _, child := range x {
			jsonShapeProblems(child, path+"[]", out)
		}
	}
}

// TestJSONOutput runs every command that reads (lists and shows), and those that act, with -o json and checks
// what scripts rely on: one JSON document on stdout, camelCase keys, and every list as {"items": [...]}.
func TestJSONOutput(t *testing.T) {
	a, err := app.Start(context.Background(), app.Config{DataDir: t.TempDir(), Addr: "127.0.0.1:0", S3Addr: "127.0.0.1:0", DNSAddr: "127.0.0.1:0"})
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
	c.ok(alice, "request", "new", "secret", "--name", "api-key", "--description", "the key")
	c.ok(bob, "change", "approve", "1", "--merge")
	c.ok(alice, "request", "wait", "secret.dev.api-key", "--timeout", "30s")
	c.ok(alice, "secret", "set", "secret.dev.api-key", "--value", "s3cr3t")
	c.ok(alice, "template", "run", "app-template", "--set", "name=orders", "--set", "owner=group:default/payments",
		"--set", "repoUrl=goldenpath?owner=payments&repo=orders")

	tests := []struct {
		name string
		args []string
		list bool // the output is a list: {"items": [...]}
	}{
		{"whoami", []string{"whoami"}, false},
		{"request list", []string{"request", "list"}, true},
		{"request show", []string{"request", "show", "secret.dev.api-key"}, false},
		{"request credentials", []string{"request", "credentials", "secret.dev.api-key"}, false},
		{"request new --dry-run", []string{"request", "new", "rds", "--name", "orders", "--dry-run"}, false},
		{"change list", []string{"change", "list", "--state", "all"}, true},
		{"change show", []string{"change", "show", "1"}, false},
		{"secret get", []string{"secret", "get", "secret.dev.api-key"}, false},
		{"user list", []string{"user", "list"}, true},
		{"user token list", []string{"user", "token", "list"}, true},
		{"template list", []string{"template", "list"}, true},
		{"template show", []string{"template", "show", "rds-request"}, false},
		{"routes", []string{"routes"}, false},
		{"dns plan", []string{"dns", "plan"}, false},
		{"apps", []string{"apps"}, true},
		{"apps show", []string{"apps", "show", "orders"}, false},
		{"deployments", []string{"deployments"}, true},
		{"audit", []string{"audit"}, true},
		// Commands that act print what they did.
		{"version", []string{"version"}, false},
		{"secret set", []string{"secret", "set", "secret.dev.api-key", "--value", "again"}, false},
		{"change comment", []string{"change", "comment", "1", "-m", "thanks"}, false},
		{"request wait", []string{"request", "wait", "secret.dev.api-key"}, false},
		{"template dry-run", []string{"template", "dry-run", "app-template", "--set", "name=billing", "--set", "owner=group:default/payments",
			"--set", "repoUrl=goldenpath?owner=payments&repo=billing"}, false},
		{"template run", []string{"template", "run", "secret-request", "--set", "name=other-key", "--set", "environment=dev"}, false},
		{"template run --wait=false", []string{"template", "run", "secret-request", "--set", "name=third-key", "--set", "environment=dev", "--wait=false"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := alice
			if tt.name == "user list" || tt.name == "audit" {
				token = admin
			}
			out := c.ok(token, append(tt.args, "-o", "json")...)
			var v any
			if err := json.Unmarshal([]byte(out), &v); err != nil {
				t.Fatalf("not JSON (%v):\n%s", err, out)
			}
			obj, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("got a %T at the top, want an object:\n%s", v, out)
			}
			if _, ok := obj["items"].([]any); ok != tt.list {
				t.Errorf(`"items" is a list: %v, want %v:\n%s`, ok, tt.list, out)
			}
			var problems []string
			jsonShapeProblems(v, "", &problems)
			for _, p := range problems {
				t.Error(p)
			}
		})
	}
}
