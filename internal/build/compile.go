package build

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// maxCompilerOutput bounds the compiler output kept for a CompileError; the first errors are the
// useful ones and go build stops after a few per package anyway.
const maxCompilerOutput = 64 << 10

// CompileError is a failed go build, with the compiler's own words.
type CompileError struct {
	ImportPath string
	// Output is go build's combined stdout and stderr (the first 64 KiB).
	Output string
	Err    error
}

func (e *CompileError) Error() string {
	return fmt.Sprintf("compiling %s failed (go build: %v):\n%s", e.ImportPath, e.Err, e.Output)
}

func (e *CompileError) Unwrap() error { return e.Err }

// compile runs go build for the job's platform and returns the binary's path inside outDir.
func compile(ctx context.Context, j *job, outDir string) (string, error) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("finding the go command (building needs the Go toolchain on PATH): %w", err)
	}
	bin := filepath.Join(outDir, j.binName)
	cmd := exec.CommandContext(ctx, goCmd, "build", "-trimpath", "-ldflags", j.ldflags(), "-o", bin, j.importPath)
	cmd.Dir = j.dir
	cmd.Env = j.buildEnv()
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("compiling %s: %w", j.importPath, ctx.Err())
		}
		return "", &CompileError{ImportPath: j.importPath, Output: capped(out.String()), Err: err}
	}
	if !isProgram(bin) {
		// go build -o writes a non-main package's archive where the program should be.
		return "", fmt.Errorf("compiling %s: go build made no program: ImportPath must name a main package", j.importPath)
	}
	return bin, nil
}

// isProgram tells an executable from the ar archive go build writes for a library package.
func isProgram(file string) bool {
	f, err := os.Open(file)
	if err != nil {
		return false
	}
	defer f.Close()
	magic := make([]byte, 8)
	if _, err := io.ReadFull(f, magic); err != nil {
		return false
	}
	return string(magic) != "!<arch>\n"
}

func capped(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > maxCompilerOutput {
		return s[:maxCompilerOutput] + "\n[output truncated]"
	}
	return s
}

// Labels Build computes for a git checkout.
const (
	labelSource   = "org.opencontainers.image.source"
	labelRevision = "org.opencontainers.image.revision"
	labelVersion  = "org.opencontainers.image.version"
)

// sourceLabels says where the image comes from when dir is in a git checkout: the commit, and the
// origin remote without credentials (clone URLs often carry a token). Outside a checkout, or without
// git, there is nothing to say and it returns no labels.
func sourceLabels(ctx context.Context, dir string) map[string]string {
	labels := map[string]string{}
	rev, err := gitOutput(ctx, dir, "rev-parse", "--verify", "HEAD")
	if err != nil {
		return labels
	}
	labels[labelRevision] = rev
	if origin, err := gitOutput(ctx, dir, "remote", "get-url", "origin"); err == nil && origin != "" {
		labels[labelSource] = withoutCredentials(origin)
	}
	return labels
}

func gitOutput(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "LC_ALL=C")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w", args[0], err)
	}
	return strings.TrimSpace(string(out)), nil
}

// withoutCredentials drops the user and password from a URL remote; scp-style remotes
// (git@host:path) carry no password and stay as they are.
func withoutCredentials(remote string) string {
	u, err := url.Parse(remote)
	if err != nil || u.Scheme == "" || u.User == nil {
		return remote
	}
	u.User = nil
	return u.String()
}
