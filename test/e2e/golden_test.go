package e2e

import (
	"encoding/base64"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// builtinValues are the answers a developer would give each built-in template's form.
var builtinValues = map[string]map[string]any{
	"app-template": {"name": "orders", "description": "Takes orders", "owner": "group:default/payments", "system": "shop",
		"repoUrl": "goldenpath?owner=payments&repo=orders"},
	"stateful-app-template": {"name": "billing", "owner": "group:default/payments", "db_engine": "postgres", "db_size": "medium",
		"db_name": "invoices", "repoUrl": "goldenpath?owner=payments&repo=billing"},
	"ecr-request":    {"name": "orders", "environment": "dev", "size": "small", "tagImmutability": true, "scanOnPush": true},
	"rds-request":    {"name": "orders", "environment": "staging", "size": "medium", "engine": "postgres", "databaseName": "orders"},
	"s3-request":     {"name": "invoices", "environment": "dev", "size": "small", "versioning": true},
	"secret-request": {"name": "stripe-key", "environment": "prod", "description": "Stripe API key"},
	"eks-request":    {"name": "preview", "environment": "dev", "size": "small", "ttl": "8h"},
}

// TestBuiltinTemplatesGolden dry-runs every built-in template and compares the files, log and output with
// testdata/golden/<template>/ (go test ./test/e2e -run Golden -update rewrites them).
func TestBuiltinTemplatesGolden(t *testing.T) {
	e := start(t, startOptions{})
	tm := cast(e)
	var listed struct {
		Items []struct{ Name string } `json:"items"`
	}
	e.must(200, "GET", "/api/scaffolder/v2/templates", tm.alice, nil).json(t, &listed)
	if len(listed.Items) != len(builtinValues) {
		t.Errorf("%d built-in templates, %d with golden values", len(listed.Items), len(builtinValues))
	}
	for _, item := range listed.Items {
		t.Run(item.Name, func(t *testing.T) {
			e.t = t
			values, ok := builtinValues[item.Name]
			if !ok {
				t.Fatalf("no golden values for %s", item.Name)
			}
			r := e.must(200, "POST", "/api/scaffolder/v2/dry-run", tm.alice, map[string]any{"templateRef": "template:default/" + item.Name, "values": values})
			var res struct {
				Log []struct {
					Body map[string]any `json:"body"`
				} `json:"log"`
				DirectoryContents []struct {
					Path          string `json:"path"`
					Base64Content string `json:"base64Content"`
				} `json:"directoryContents"`
				Output map[string]any `json:"output"`
				Error  string         `json:"error"`
			}
			r.json(t, &res)
			if res.Error != "" {
				t.Fatalf("dry run failed: %s", res.Error)
			}
			// One txtar-style archive of the rendered files: dotfiles such as .gitignore must not act on
			// this repository.
			var archive strings.Builder
			for _, f := range res.DirectoryContents {
				b, _ := base64.StdEncoding.DecodeString(f.Base64Content)
				archive.WriteString("-- " + f.Path + " --\n" + string(b))
				if len(b) > 0 && b[len(b)-1] != '\n' {
					archive.WriteString("\n")
				}
			}
			got := map[string]string{"files.txtar": archive.String()}
			var log []string
			for _, l := range res.Log {
				if msg, _ := l.Body["message"].(string); msg != "" {
					log = append(log, msg)
				}
			}
			got["log.txt"] = strings.Join(log, "\n") + "\n"
			out, _ := json.MarshalIndent(res.Output, "", "  ")
			got["output.json"] = string(out) + "\n"
			for k, v := range got {
				got[k] = strings.ReplaceAll(v, e.app.URL(), "http://goldenpath.test")
			}
			compareGolden(t, filepath.Join("testdata", "golden", item.Name), got)
		})
	}
}

func compareGolden(t *testing.T, dir string, got map[string]string) {
	t.Helper()
	if *update {
		_ = os.RemoveAll(dir)
		for p, c := range got {
			full := filepath.Join(dir, filepath.FromSlash(p))
			_ = os.MkdirAll(filepath.Dir(full), 0o755)
			if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	want := map[string]string{}
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(dir, p)
			want[filepath.ToSlash(rel)] = string(b)
		}
		return nil
	})
	if len(want) == 0 {
		t.Fatalf("no golden files in %s: run go test ./test/e2e -run Golden -update", dir)
	}
	var names []string
	for k := range got {
		names = append(names, k)
	}
	for k := range want {
		if _, ok := got[k]; !ok {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		if got[n] != want[n] {
			t.Errorf("%s differs from the golden file (run with -update after checking):\n--- got\n%s\n--- want\n%s", n, got[n], want[n])
		}
	}
}
