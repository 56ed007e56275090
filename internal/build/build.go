// Package build turns a Go service into an OCI image and pushes it, with no container engine and no
// base image to pull: it compiles a static binary with the Go toolchain and assembles a ko-style image
// with go-containerregistry (an empty base, the binary at /ko-app/<name>, a nonroot user and the host's
// CA certificates). ExtractBinary is the way back, for goldenpath's local runtime: it pulls an image and
// writes its entrypoint to disk so the service can run as a plain process.
package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
)

// DefaultPlatform is what Build compiles for when Options.Platform is empty: what clusters run.
const DefaultPlatform = "linux/amd64"

// Options says what to build and where to push it.
type Options struct {
	// Dir is the module root: the directory holding go.mod.
	Dir string
	// ImportPath is the main package to build: relative to Dir ("./cmd/api") or a full import path.
	// "" means ".", the module's root package.
	ImportPath string
	// Ref is the tag to push, e.g. "127.0.0.1:7070/dev/orders:v1"; without a tag it is ":latest".
	// Loopback and private registries are spoken to over plain HTTP, others over HTTPS.
	Ref string
	// Tags are further tags in Ref's repository that are pointed at the same image.
	Tags []string
	// Auth authenticates to the registry; nil means anonymous.
	Auth authn.Authenticator
	// Platform is "os/arch" or "os/arch/variant"; "" means DefaultPlatform. Images for goldenpath's
	// local runtime run on this machine: build those for HostPlatform().
	Platform string
	// Env is extra build environment as KEY=value (GOPROXY, GOFLAGS, GOAMD64, ...). GOOS, GOARCH and
	// CGO_ENABLED are refused: Platform sets the first two and the binary must be static.
	Env []string
	// Labels are added to the image config, over the ones Build computes.
	Labels map[string]string
	// Version, when set, reaches the program as -X main.version=<Version> (the linker ignores it when
	// there is no such variable) and the image as the org.opencontainers.image.version label.
	Version string
	// Logger gets one line per step; nil discards.
	Logger *slog.Logger
}

// Result is a pushed image.
type Result struct {
	// Digest is the manifest's digest, "sha256:...".
	Digest string
	// Ref names the image by digest, e.g. "127.0.0.1:7070/dev/orders@sha256:...": what to deploy.
	Ref string
	// Size is what the image takes in the registry: manifest, config and compressed layers.
	Size int64
}

// HostPlatform is this machine's platform, e.g. "linux/amd64": images built for it can run here.
func HostPlatform() string {
	return runtime.GOOS + "/" + runtime.GOARCH
}

// Build compiles opts.ImportPath in opts.Dir, wraps the binary in an image and pushes it to opts.Ref.
// A compiler failure is a *CompileError carrying the compiler's output; a refusal by the registry is a
// *PushError carrying its status and message.
func Build(ctx context.Context, opts Options) (Result, error) {
	j, err := newJob(opts)
	if err != nil {
		return Result{}, err
	}
	if err := checkPush(ctx, j); err != nil {
		return Result{}, err
	}
	tmp, err := os.MkdirTemp("", "goldenpath-build-")
	if err != nil {
		return Result{}, fmt.Errorf("creating a build directory: %w", err)
	}
	defer os.RemoveAll(tmp)

	start := time.Now()
	bin, err := compile(ctx, j, tmp)
	if err != nil {
		return Result{}, err
	}
	j.log.Info("compiled", "package", j.importPath, "platform", j.platform.String(), "duration", time.Since(start).Round(time.Millisecond))
	img, err := assemble(ctx, j, bin, tmp, time.Now())
	if err != nil {
		return Result{}, err
	}
	res, err := push(ctx, j, img)
	if err != nil {
		return Result{}, err
	}
	j.log.Info("pushed", "ref", res.Ref, "size", res.Size, "duration", time.Since(start).Round(time.Millisecond))
	return res, nil
}

// ErrNoGoMod means Options.Dir is not the root of a Go module.
var ErrNoGoMod = errors.New("no go.mod")

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
