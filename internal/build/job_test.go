package build

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func moduleDir(t *testing.T, module string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module "+module+"\n\ngo 1.22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestJobNamesTheBinaryAfterThePackage(t *testing.T) {
	tests := []struct {
		name       string
		module     string
		importPath string
		want       string
	}{
		{name: "module root", module: "orders", want: "orders"},
		{name: "module root, dot", module: "example.com/payments/orders", importPath: ".", want: "orders"},
		{name: "major version suffix", module: "example.com/orders/v2", want: "orders"},
		{name: "relative command", module: "example.com/orders", importPath: "./cmd/api", want: "api"},
		{name: "full import path", module: "example.com/orders", importPath: "example.com/orders/cmd/worker", want: "worker"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := newJob(Options{Dir: moduleDir(t, tt.module), ImportPath: tt.importPath, Ref: "127.0.0.1:1/dev/orders:v1"})
			if err != nil {
				t.Fatalf("newJob: %v", err)
			}
			if j.binName != tt.want {
				t.Errorf("binary name: got %q, want %q", j.binName, tt.want)
			}
		})
	}
}

func TestJobRefusesBadOptions(t *testing.T) {
	dir := moduleDir(t, "orders")
	valid := Options{Dir: dir, Ref: "127.0.0.1:1/dev/orders:v1"}
	tests := []struct {
		name   string
		modify func(*Options)
		want   string // in the error
	}{
		{name: "no dir", modify: func(o *Options) { o.Dir = "" }, want: "Dir is empty"},
		{name: "no go.mod", modify: func(o *Options) { o.Dir = t.TempDir() }, want: "no go.mod"},
		{name: "no ref", modify: func(o *Options) { o.Ref = "" }, want: "Ref is empty"},
		{name: "ref by digest", modify: func(o *Options) { o.Ref = "127.0.0.1:1/dev/orders@sha256:" + strings.Repeat("a", 64) }, want: "must be a tag"},
		{name: "ref unparsable", modify: func(o *Options) { o.Ref = "127.0.0.1:1/Dev/Orders:v1" }, want: "Ref"},
		{name: "extra tag with a colon", modify: func(o *Options) { o.Tags = []string{"a:b"} }, want: "Tags"},
		{name: "empty extra tag", modify: func(o *Options) { o.Tags = []string{""} }, want: "Tags"},
		{name: "pattern", modify: func(o *Options) { o.ImportPath = "./..." }, want: "not a pattern"},
		{name: "platform without arch", modify: func(o *Options) { o.Platform = "linux" }, want: "Platform"},
		{name: "platform with too much", modify: func(o *Options) { o.Platform = "linux/arm/v7/x" }, want: "Platform"},
		{name: "version with a space", modify: func(o *Options) { o.Version = "1.0 -X main.admin=true" }, want: "Version"},
		{name: "env without =", modify: func(o *Options) { o.Env = []string{"GOPROXY"} }, want: "KEY=value"},
		{name: "env sets GOOS", modify: func(o *Options) { o.Env = []string{"GOOS=windows"} }, want: "Env GOOS"},
		{name: "env enables cgo", modify: func(o *Options) { o.Env = []string{"CGO_ENABLED=1"} }, want: "Env CGO_ENABLED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := valid
			tt.modify(&o)
			_, err := newJob(o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("newJob: got error %v, want one containing %q", err, tt.want)
			}
		})
	}
	t.Run("no go.mod is ErrNoGoMod", func(t *testing.T) {
		_, err := newJob(Options{Dir: t.TempDir(), Ref: valid.Ref})
		if !errors.Is(err, ErrNoGoMod) {
			t.Errorf("got %v, want an error wrapping ErrNoGoMod", err)
		}
	})
}

func TestWithoutCredentials(t *testing.T) {
	tests := []struct{ remote, want string }{
		{"http://alice:s3cret@127.0.0.1:7070/git/payments/orders.git", "http://127.0.0.1:7070/git/payments/orders.git"},
		{"https://github.com/acme/orders.git", "https://github.com/acme/orders.git"},
		{"git@github.com:acme/orders.git", "git@github.com:acme/orders.git"},
	}
	for _, tt := range tests {
		if got := withoutCredentials(tt.remote); got != tt.want {
			t.Errorf("withoutCredentials(%q): got %q, want %q", tt.remote, got, tt.want)
		}
	}
}
