package localrun_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goldenpathidp/goldenpath/internal/localrun"
)

// TestKeysArePlainNames: a key's name and environment become directories; anything but a plain name
// (a DNS label) is refused before a path is built, so no key reads or writes outside its own directory.
func TestKeysArePlainNames(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "apps", "sub")
	// What a traversal would reach: a log of another directory.
	for _, p := range []string{filepath.Join(root, "output.log"), filepath.Join(root, "apps", "output.log"), filepath.Join(root, "apps", "other", "x", "output.log")} {
		os.MkdirAll(filepath.Dir(p), 0o700)
		os.WriteFile(p, []byte("not yours\n"), 0o600)
	}
	sup, err := localrun.New(localrun.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sup.Close() })
	for _, k := range []localrun.Key{
		{Environment: "..", Name: ".."},
		{Environment: "dev", Name: "../../.."},
		{Environment: "../other", Name: "x"},
		{Environment: "dev/../../other", Name: "x"},
		{Environment: "dev", Name: "/etc"},
		{Environment: "dev", Name: ""},
		{Environment: "", Name: "x"},
		{Environment: "Dev", Name: "x"},
	} {
		out, err := sup.Logs(k)
		if err == nil || errors.Is(err, localrun.ErrNotDeployed) || strings.Contains(string(out), "not yours") {
			t.Errorf("Logs(%+v) = %q, %v; want a refusal naming the rule", k, out, err)
		}
		err = sup.Deploy(context.Background(), localrun.App{Name: k.Name, Environment: k.Environment, Image: "example.com/x:v1"})
		if err == nil {
			t.Errorf("Deploy(%+v) succeeded", k)
		}
	}
	if _, err := sup.Logs(localrun.Key{Environment: "dev", Name: "never"}); !errors.Is(err, localrun.ErrNotDeployed) {
		t.Errorf("Logs of a plain, unknown key: got %v, want ErrNotDeployed", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("refused keys left files in %s: %v", dir, entries)
	}
}
