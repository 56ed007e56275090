package build_test

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/goldenpathidp/goldenpath/internal/build"
	"github.com/goldenpathidp/goldenpath/internal/registry"
)

// The registry's test users: alice may push everywhere but dev/locked.
const (
	user     = "alice"
	password = "s3cret-token"
)

func authorize(r *http.Request, repo string, access registry.Access) (string, error) {
	u, p, ok := r.BasicAuth()
	if !ok || u != user || p != password {
		return "", registry.ErrUnauthenticated
	}
	if repo == "dev/locked" && access != registry.Pull {
		return "", fmt.Errorf("%w: alice may not push to dev/locked", registry.ErrDenied)
	}
	return u, nil
}

var alice = &authn.Basic{Username: user, Password: password}

// newRegistry serves goldenpath's registry with the repositories created, and returns its host:port.
func newRegistry(t *testing.T, repos ...string) string {
	t.Helper()
	reg, err := registry.New(t.TempDir(), registry.Options{Authorize: authorize})
	if err != nil {
		t.Fatalf("registry.New: %v", err)
	}
	for _, repo := range repos {
		if _, err := reg.CreateRepository(context.Background(), repo, registry.RepoSettings{}); err != nil {
			t.Fatalf("CreateRepository(%q): %v", repo, err)
		}
	}
	srv := httptest.NewServer(reg)
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// greeter is a tiny program (only package os, so it links fast) that prints the version the linker
// stamped and the working directory it runs in.
const greeter = `package main

import "os"

var version = "unset"

func main() {
	wd, _ := os.Getwd()
	os.Stdout.WriteString("version=" + version + " wd=" + wd + "\n")
}
`

// writeModule writes a Go module into a new directory and returns the directory.
func writeModule(t *testing.T, module, mainGo string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{"go.mod": "module " + module + "\n\ngo 1.22\n", "main.go": mainGo}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// gitCheckout makes dir a git checkout with one commit and an origin remote, returning the commit.
func gitCheckout(t *testing.T, dir, origin string) string {
	t.Helper()
	git := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir, "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
			"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	git("add", ".")
	git("commit", "-q", "-m", "first")
	git("remote", "add", "origin", origin)
	return git("rev-parse", "HEAD")
}

func pull(t *testing.T, ref string) v1.Image {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r, remote.WithAuth(alice))
	if err != nil {
		t.Fatalf("pulling %s: %v", ref, err)
	}
	return img
}

// files lists a layer's entries by name.
func files(t *testing.T, l v1.Layer) map[string]*tar.Header {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	out := map[string]*tar.Header{}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out[hdr.Name] = hdr
	}
}

func TestBuildPushesARunnableImage(t *testing.T) {
	host := newRegistry(t, "dev/greeter")
	dir := writeModule(t, "example.com/payments/greeter", greeter)
	commit := gitCheckout(t, dir, "http://alice:"+password+"@127.0.0.1:7070/git/payments/greeter.git")

	before := time.Now().Truncate(time.Second)
	res, err := build.Build(context.Background(), build.Options{
		Dir: dir, Ref: host + "/dev/greeter:v1", Tags: []string{"stable"}, Auth: alice,
		Platform: build.HostPlatform(), Version: "1.2.3", Labels: map[string]string{"team": "payments"},
	})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	after := time.Now()

	if want := host + "/dev/greeter@" + res.Digest; res.Ref != want {
		t.Errorf("Result.Ref: got %q, want %q", res.Ref, want)
	}
	img := pull(t, host+"/dev/greeter:v1")
	t.Run("tag and extra tag point at the digest", func(t *testing.T) {
		for _, tag := range []string{"v1", "stable"} {
			d, err := pull(t, host+"/dev/greeter:"+tag).Digest()
			if err != nil || d.String() != res.Digest {
				t.Errorf("digest of :%s: got %v (%v), want %s", tag, d, err, res.Digest)
			}
		}
	})
	t.Run("size is what the registry stores", func(t *testing.T) {
		raw, _ := img.RawManifest()
		m, _ := img.Manifest()
		want := int64(len(raw)) + m.Config.Size
		for _, l := range m.Layers {
			want += l.Size
		}
		if res.Size != want || res.Size < 100_000 {
			t.Errorf("Result.Size: got %d, want %d (manifest, config and layers)", res.Size, want)
		}
		if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON {
			t.Errorf("media types: got %s and %s, want OCI manifest and config", m.MediaType, m.Config.MediaType)
		}
	})
	t.Run("config", func(t *testing.T) {
		checkConfig(t, img, before, after, commit)
	})
	t.Run("files", func(t *testing.T) {
		checkFiles(t, img)
	})
	t.Run("extracted binary runs", func(t *testing.T) {
		bin, err := build.ExtractBinary(context.Background(), res.Ref, alice, t.TempDir())
		if err != nil {
			t.Fatalf("ExtractBinary: %v", err)
		}
		if filepath.Base(bin) != "greeter" {
			t.Errorf("extracted file: got %s, want greeter", filepath.Base(bin))
		}
		out, err := exec.Command(bin).Output()
		if err != nil {
			t.Fatalf("running %s: %v", bin, err)
		}
		if !strings.HasPrefix(string(out), "version=1.2.3 ") {
			t.Errorf("output: got %q, want version=1.2.3 (stamped with -X main.version)", out)
		}
	})
	t.Run("a rebuild gives the same layers", func(t *testing.T) {
		again, err := build.Build(context.Background(), build.Options{
			Dir: dir, Ref: host + "/dev/greeter:v1-again", Auth: alice, Platform: build.HostPlatform(), Version: "1.2.3",
		})
		if err != nil {
			t.Fatalf("Build: %v", err)
		}
		got, _ := pull(t, again.Ref).Manifest()
		want, _ := img.Manifest()
		if !slices.EqualFunc(got.Layers, want.Layers, func(a, b v1.Descriptor) bool { return a.Digest == b.Digest }) {
			t.Errorf("layers of the rebuild differ: got %v, want %v", got.Layers, want.Layers)
		}
	})
}

func checkConfig(t *testing.T, img v1.Image, before, after time.Time, commit string) {
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if !slices.Equal(c.Entrypoint, []string{"/ko-app/greeter"}) {
		t.Errorf("entrypoint: got %q, want [/ko-app/greeter]", c.Entrypoint)
	}
	if c.User != "65532" || c.WorkingDir != "/" {
		t.Errorf("user and working dir: got %q and %q, want 65532 and /", c.User, c.WorkingDir)
	}
	if len(c.Env) != 1 || !strings.HasPrefix(c.Env[0], "PATH=") || !strings.HasSuffix(c.Env[0], ":/ko-app") {
		t.Errorf("env: got %q, want one PATH ending in /ko-app", c.Env)
	}
	if created := cf.Created.Time; created.Before(before) || created.After(after) {
		t.Errorf("created: got %v, want the build time (between %v and %v)", created, before, after)
	}
	if p := cf.OS + "/" + cf.Architecture; p != build.HostPlatform() {
		t.Errorf("platform: got %s, want %s", p, build.HostPlatform())
	}
	wantLabels := map[string]string{
		"team":                              "payments",
		"org.opencontainers.image.version":  "1.2.3",
		"org.opencontainers.image.revision": commit,
		// The clone URL's token must not be published in the image.
		"org.opencontainers.image.source": "http://127.0.0.1:7070/git/payments/greeter.git",
	}
	for k, want := range wantLabels {
		if got := c.Labels[k]; got != want {
			t.Errorf("label %s: got %q, want %q", k, got, want)
		}
	}
}

func checkFiles(t *testing.T, img v1.Image) {
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	all := map[string]*tar.Header{}
	for _, l := range layers {
		for name, hdr := range files(t, l) {
			all[name] = hdr
			if !hdr.ModTime.Equal(time.Unix(0, 0)) {
				t.Errorf("%s: got modification time %v, want the epoch (reproducible layers)", name, hdr.ModTime)
			}
		}
	}
	bin, ok := all["ko-app/greeter"]
	if !ok || bin.Mode != 0o755 {
		t.Errorf("ko-app/greeter: got %+v, want a file with mode 0755", bin)
	}
	for _, f := range []string{"etc/passwd", "etc/group"} {
		if _, ok := all[f]; !ok {
			t.Errorf("%s: missing", f)
		}
	}
	_, hasCA := all["etc/ssl/certs/ca-certificates.crt"]
	if _, err := os.Stat("/etc/ssl/certs/ca-certificates.crt"); (err == nil) != hasCA {
		t.Errorf("CA bundle in the image: got %v, want it exactly when this machine has one", hasCA)
	}
}
