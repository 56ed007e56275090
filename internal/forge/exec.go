package forge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// runOpts describe one git invocation.
type runOpts struct {
	gitDir string    // GIT_DIR; "" for commands that take no repository (version, init)
	stdin  io.Reader // nil = empty
	stdout io.Writer // nil = captured and returned by run
	env    []string  // extra KEY=VALUE, overriding the defaults
	// extraFiles become git's fds 3, 4, ... (the pre-receive hook's pipes).
	extraFiles []*os.File
}

// maxStderr bounds how much of git's stderr we keep for error messages.
const maxStderr = 16 << 10

// gitError is a failed git command with its stderr, so callers and logs see git's own explanation.
type gitError struct {
	subcommand string
	stderr     string
	err        error
}

func (e *gitError) Error() string {
	if e.stderr == "" {
		return fmt.Sprintf("git %s: %v", e.subcommand, e.err)
	}
	return fmt.Sprintf("git %s: %v: %s", e.subcommand, e.err, e.stderr)
}

func (e *gitError) Unwrap() error { return e.err }

// exitCode returns git's exit status for err, or -1 when err is not an exit.
func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// run executes git with a clean, predictable environment: no system or user config, no prompts, a
// fixed committer, literal pathspecs, C locale. Arguments go straight to exec, never through a shell.
func (f *Forge) run(ctx context.Context, o runOpts, args ...string) ([]byte, error) {
	cmd := f.command(ctx, o, args...)
	var out bytes.Buffer
	cmd.Stdout = o.stdout
	if o.stdout == nil {
		cmd.Stdout = &out
	}
	stderr := &cappedBuffer{max: maxStderr}
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		return out.Bytes(), &gitError{subcommand: subcommand(args), stderr: strings.TrimSpace(stderr.String()), err: err}
	}
	return out.Bytes(), nil
}

// command prepares (but does not start) a git process with the forge's environment.
func (f *Forge) command(ctx context.Context, o runOpts, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, f.git, args...)
	cmd.Env = append(f.baseEnv(o.gitDir), o.env...)
	if o.gitDir != "" {
		cmd.Dir = o.gitDir
	}
	// SIGTERM lets git remove its lock files and push quarantine before exiting.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	cmd.Stdin = o.stdin
	cmd.ExtraFiles = o.extraFiles
	return cmd
}

func (f *Forge) baseEnv(gitDir string) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + f.home,
		"XDG_CONFIG_HOME=" + f.home,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_LITERAL_PATHSPECS=1",
		"GIT_NO_REPLACE_OBJECTS=1",
		"LC_ALL=C",
		"GIT_COMMITTER_NAME=" + f.committer.Name,
		"GIT_COMMITTER_EMAIL=" + f.committer.Email,
		"GIT_AUTHOR_NAME=" + f.committer.Name,
		"GIT_AUTHOR_EMAIL=" + f.committer.Email,
	}
	if gitDir != "" {
		env = append(env, "GIT_DIR="+gitDir)
	}
	return env
}

// subcommand names the git subcommand in args for error messages, skipping "-c key=value" pairs.
func subcommand(args []string) string {
	for i := 0; i < len(args); i++ {
		if args[i] == "-c" {
			i++
			continue
		}
		return args[i]
	}
	return ""
}

// cappedBuffer keeps the first max bytes written and silently drops the rest, so a chatty git cannot
// grow memory without bound.
type cappedBuffer struct {
	buf bytes.Buffer
	max int
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if room := c.max - c.buf.Len(); room > 0 {
		c.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (c *cappedBuffer) String() string { return c.buf.String() }

// withTempDir gives fn a private directory under the forge's temp dir and removes it afterwards. Each
// Commit uses its own index file there, so concurrent commits never share an index.
func (f *Forge) withTempDir(fn func(dir string) error) error {
	dir, err := os.MkdirTemp(f.tmp, "work-")
	if err != nil {
		return fmt.Errorf("creating temp dir: %w", err)
	}
	defer os.RemoveAll(dir)
	return fn(dir)
}
