package build_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/goldenpathidp/goldenpath/internal/build"
)

func TestBuildErrors(t *testing.T) {
	host := newRegistry(t, "dev/greeter", "dev/locked")
	good := writeModule(t, "greeter", greeter)
	broken := writeModule(t, "greeter", "package main\n\nfunc main() { undefinedThing() }\n")
	library := writeModule(t, "greeter", "package greeter\n\nfunc Hello() string { return \"hi\" }\n")

	tests := []struct {
		name     string
		opts     build.Options
		check    func(error) bool
		want     string // in the message
		wantKind string
	}{
		{
			name: "no go.mod", opts: build.Options{Dir: t.TempDir(), Ref: host + "/dev/greeter:v1", Auth: alice},
			check: func(err error) bool { return errors.Is(err, build.ErrNoGoMod) }, wantKind: "ErrNoGoMod", want: "root of a Go module",
		},
		{
			name: "compiler error", opts: build.Options{Dir: broken, Ref: host + "/dev/greeter:v1", Auth: alice},
			check: func(err error) bool {
				var ce *build.CompileError
				return errors.As(err, &ce) && strings.Contains(ce.Output, "undefined: undefinedThing")
			},
			wantKind: "*CompileError with the compiler's output", want: "undefined: undefinedThing",
		},
		{
			name: "not a main package", opts: build.Options{Dir: library, Ref: host + "/dev/greeter:v1", Auth: alice},
			check: func(err error) bool { return err != nil }, wantKind: "an error", want: "must name a main package",
		},
		{
			name: "no credentials", opts: build.Options{Dir: good, Ref: host + "/dev/greeter:v1"},
			check: pushRefused(http.StatusUnauthorized), wantKind: "*PushError 401", want: "authentication required",
		},
		{
			name: "wrong password", opts: build.Options{Dir: good, Ref: host + "/dev/greeter:v1", Auth: &authn.Basic{Username: user, Password: "nope"}},
			check: pushRefused(http.StatusUnauthorized), wantKind: "*PushError 401", want: "authentication required",
		},
		{
			// Refused before compiling: the broken module would fail to compile otherwise.
			name: "no repository", opts: build.Options{Dir: broken, Ref: host + "/dev/missing:v1", Auth: alice},
			check: pushRefused(http.StatusNotFound), wantKind: "*PushError 404", want: "repository dev/missing does not exist: request it with an ECRRequest",
		},
		{
			name: "no permission", opts: build.Options{Dir: good, Ref: host + "/dev/locked:v1", Auth: alice},
			check: pushRefused(http.StatusForbidden), wantKind: "*PushError 403", want: "alice may not push to dev/locked",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := build.Build(context.Background(), tt.opts)
			t.Logf("error: %v", err)
			if err == nil || !tt.check(err) {
				t.Fatalf("Build: got error %v, want %s", err, tt.wantKind)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Build: got error %q, want it to say %q", err, tt.want)
			}
		})
	}
}

func pushRefused(status int) func(error) bool {
	return func(err error) bool {
		var pe *build.PushError
		return errors.As(err, &pe) && pe.StatusCode == status
	}
}

// TestExtractBinaryRefuses checks the images ExtractBinary cannot run here, made from a good one.
func TestExtractBinaryRefuses(t *testing.T) {
	host := newRegistry(t, "dev/greeter")
	res, err := build.Build(context.Background(), build.Options{
		Dir: writeModule(t, "greeter", greeter), Ref: host + "/dev/greeter:v1", Auth: alice, Platform: build.HostPlatform(),
	})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	base := pull(t, res.Ref)
	tests := []struct {
		name   string
		modify func(t *testing.T, img v1.Image) v1.Image
		want   string
	}{
		{name: "another platform", modify: func(t *testing.T, img v1.Image) v1.Image {
			return editConfig(t, img, func(cf *v1.ConfigFile) { cf.Architecture = "s390x" })
		}, want: "built for linux/s390x"},
		{name: "entrypoint missing", modify: func(t *testing.T, img v1.Image) v1.Image {
			return editConfig(t, img, func(cf *v1.ConfigFile) { cf.Config.Entrypoint = []string{"/ko-app/other"} })
		}, want: "entrypoint /ko-app/other is not in any layer"},
		{name: "no entrypoint", modify: func(t *testing.T, img v1.Image) v1.Image {
			return editConfig(t, img, func(cf *v1.ConfigFile) { cf.Config.Entrypoint = nil })
		}, want: "no entrypoint or command"},
		{name: "entrypoint deleted by a later layer", modify: func(t *testing.T, img v1.Image) v1.Image {
			return appendTar(t, img, &tar.Header{Name: "ko-app/.wh.greeter", Typeflag: tar.TypeReg})
		}, want: "not in any layer"},
		{name: "entrypoint is a directory", modify: func(t *testing.T, img v1.Image) v1.Image {
			return appendTar(t, img, &tar.Header{Name: "ko-app/greeter/", Typeflag: tar.TypeDir, Mode: 0o755})
		}, want: "not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := host + "/dev/greeter:" + strings.ReplaceAll(tt.name, " ", "-")
			push(t, ref, tt.modify(t, base))
			_, err := build.ExtractBinary(context.Background(), ref, alice, t.TempDir())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ExtractBinary: got error %v, want one saying %q", err, tt.want)
			}
		})
	}
}

func editConfig(t *testing.T, img v1.Image, edit func(*v1.ConfigFile)) v1.Image {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	edit(cf)
	out, err := mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func appendTar(t *testing.T, img v1.Image, hdrs ...*tar.Header) v1.Image {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil })
	if err != nil {
		t.Fatal(err)
	}
	out, err := mutate.AppendLayers(img, layer)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func push(t *testing.T, ref string, img v1.Image) {
	t.Helper()
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img, remote.WithAuth(alice)); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
}
