package localrun_test

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/goldenpathidp/goldenpath/internal/build"
	"github.com/goldenpathidp/goldenpath/internal/registry"
	"github.com/goldenpathidp/goldenpath/internal/sandbox"
)

// images are pushed once for all tests to one registry: building the reference app is the slow part.
var images struct {
	v1, v2 string // the reference app (testdata/orders, app-template's output), twice
	crash  string // a shell script that prints, then exits 3
	probe  string // testdata/probe: tries to reach what it must not, reports at GET /
}

func TestMain(m *testing.M) {
	// This test binary is the apps' launcher, as goldenpath's program is in production.
	sandbox.Main()
	code, err := run(m)
	if err != nil {
		log.Fatal(err)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	dir, err := os.MkdirTemp("", "localrun-registry-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	reg, err := registry.New(dir, registry.Options{})
	if err != nil {
		return 0, err
	}
	for _, repo := range []string{"dev/orders", "dev/crash", "dev/probe"} {
		if _, err := reg.CreateRepository(context.Background(), repo, registry.RepoSettings{}); err != nil {
			return 0, err
		}
	}
	srv := httptest.NewServer(reg)
	defer srv.Close()
	u, err := url.Parse(srv.URL)
	if err != nil {
		return 0, err
	}
	if err := pushImages(u.Host); err != nil {
		return 0, err
	}
	return m.Run(), nil
}

func pushImages(host string) error {
	v1Res, err := build.Build(context.Background(), build.Options{
		Dir: "testdata/orders", Ref: host + "/dev/orders:v1", Platform: build.HostPlatform(),
	})
	if err != nil {
		return fmt.Errorf("building the reference app: %w", err)
	}
	images.v1 = host + "/dev/orders:v1"
	// v2 is the same program with another label: a new image, told its version by VERSION.
	img, err := pullImage(v1Res.Ref)
	if err != nil {
		return err
	}
	if images.v2, err = pushMutated(img, host+"/dev/orders:v2", map[string]string{"release": "v2"}); err != nil {
		return err
	}
	if _, err := build.Build(context.Background(), build.Options{
		Dir: "testdata/probe", Ref: host + "/dev/probe:v1", Platform: build.HostPlatform(),
	}); err != nil {
		return fmt.Errorf("building the probe app: %w", err)
	}
	images.probe = host + "/dev/probe:v1"
	images.crash = host + "/dev/crash:v1"
	return pushScript(images.crash, "#!/bin/sh\necho \"starting with token=$API_TOKEN\"\necho boom >&2\nexit 3\n")
}

func pullImage(ref string) (v1.Image, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, err
	}
	return remote.Image(r)
}

func pushMutated(img v1.Image, ref string, labels map[string]string) (string, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return "", err
	}
	cf = cf.DeepCopy()
	if cf.Config.Labels == nil {
		cf.Config.Labels = map[string]string{}
	}
	for k, v := range labels {
		cf.Config.Labels[k] = v
	}
	out, err := mutate.ConfigFile(img, cf)
	if err != nil {
		return "", err
	}
	return ref, pushTag(ref, out)
}

// pushScript pushes an image whose entrypoint is a shell script: a program that needs no compiling.
func pushScript(ref, script string) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "ko-app/script", Mode: 0o755, Size: int64(len(script)), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if _, err := tw.Write([]byte(script)); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil })
	if err != nil {
		return err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = runtime.GOOS, runtime.GOARCH
	cf.Config.Entrypoint = []string{"/ko-app/script"}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return err
	}
	return pushTag(ref, img)
}

func pushTag(ref string, img v1.Image) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return err
	}
	return remote.Write(tag, img)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
