package forge

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// PendingPush is a push git has received but not applied: the pushed objects wait in git's quarantine
// and no ref has moved yet. Options.CheckPush reads the pushed files through it.
type PendingPush struct {
	Repo    string
	Subject string      // who pushes (from Authorize)
	Updates []RefUpdate // what the push asks for
	repo    *Repo
	env     []string // where git keeps the pushed objects
}

// ReadFile returns path at commit (one of the pushed commits, or any commit of the repository); the
// error wraps ErrNotFound when there is no such file.
func (p PendingPush) ReadFile(ctx context.Context, commit, path string) ([]byte, error) {
	if !isFullSHA(commit) {
		return nil, fmt.Errorf("commit %q: want a full object id", commit)
	}
	if err := validatePath(path); err != nil {
		return nil, err
	}
	out, err := p.repo.f.run(ctx, runOpts{gitDir: p.repo.path, env: p.env, stdin: strings.NewReader(commit + ":" + path + "\n")},
		"cat-file", "--batch")
	if err != nil {
		return nil, fmt.Errorf("reading %s at %s of a push to %s: %w", path, commit, p.Repo, err)
	}
	header, data, _ := bytes.Cut(out, []byte("\n"))
	fields := strings.Fields(string(header))
	if len(fields) != 3 || fields[1] != "blob" {
		return nil, fmt.Errorf("file %q at %s of a push to %s: %w", path, commit, p.Repo, ErrNotFound)
	}
	size, err := strconv.Atoi(fields[2])
	if err != nil || size > len(data) {
		return nil, fmt.Errorf("reading %s at %s of a push to %s: git cat-file answered %q", path, commit, p.Repo, header)
	}
	return data[:size], nil
}

// preReceiveHook is git's pre-receive hook while CheckPush is set. git runs it once the pushed objects
// are in its quarantine and before it moves any ref; the forge hands receive-pack two pipes the hook
// inherits: on fd 3 the hook says where the objects are and which refs move, on fd 4 it reads the
// verdict. Anything but "ok" refuses the whole push, and git shows the reason as "remote: ...".
const preReceiveHook = `#!/bin/sh
# Written by goldenpath: asks goldenpath whether a push may land. Changes here are overwritten.
[ -n "$GOLDENPATH_CHECK_PUSH" ] || exit 0
{
	printf 'objects %s\n' "$GIT_OBJECT_DIRECTORY"
	printf 'alternates %s\n' "$GIT_ALTERNATE_OBJECT_DIRECTORIES"
	cat
	printf 'end\n'
} >&3 || { echo "goldenpath: cannot check this push" >&2; exit 1; }
IFS= read -r verdict <&4 || { echo "goldenpath: no answer checking this push" >&2; exit 1; }
[ "$verdict" = ok ] && exit 0
printf '%s\n' "$verdict" >&2
exit 1
`

// writeHooks installs the hooks receive-pack runs with core.hooksPath while CheckPush is set.
func (f *Forge) writeHooks() error {
	if err := os.MkdirAll(f.hooks, 0o750); err != nil {
		return fmt.Errorf("forge: creating %s: %w", f.hooks, err)
	}
	p := filepath.Join(f.hooks, "pre-receive")
	if err := os.WriteFile(p+".new", []byte(preReceiveHook), 0o700); err != nil {
		return fmt.Errorf("forge: writing %s: %w", p, err)
	}
	if err := os.Rename(p+".new", p); err != nil {
		return fmt.Errorf("forge: writing %s: %w", p, err)
	}
	return nil
}

// pushCheck serves one receive-pack's pre-receive hook: it reads what the hook sends, asks CheckPush
// and writes the verdict.
type pushCheck struct {
	fromHook, hookOut *os.File // the hook writes hookOut (its fd 3); we read fromHook
	hookIn, toHook    *os.File // the hook reads hookIn (its fd 4); we write toHook
	done              chan struct{}
}

// maxHookInput bounds what the hook may send: a few lines per pushed ref.
const maxHookInput = 8 << 20

// startPushCheck prepares the pipes and starts serving them; finish must follow receive-pack's exit.
func (f *Forge) startPushCheck(ctx context.Context, req gitRequest) (*pushCheck, error) {
	fromHook, hookOut, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	hookIn, toHook, err := os.Pipe()
	if err != nil {
		fromHook.Close()
		hookOut.Close()
		return nil, err
	}
	c := &pushCheck{fromHook: fromHook, hookOut: hookOut, hookIn: hookIn, toHook: toHook, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		f.servePushCheck(ctx, req, c)
	}()
	return c, nil
}

// files are receive-pack's fds 3 and 4, which the hook inherits.
func (c *pushCheck) files() []*os.File { return []*os.File{c.hookOut, c.hookIn} }

// finish closes our copies of the hook's ends, so a hook that never ran reads as EOF, and waits.
func (c *pushCheck) finish() {
	c.hookOut.Close()
	c.hookIn.Close()
	<-c.done
	c.fromHook.Close()
	c.toHook.Close()
}

func (f *Forge) servePushCheck(ctx context.Context, req gitRequest, c *pushCheck) {
	p, err := readHookInput(io.LimitReader(c.fromHook, maxHookInput), req)
	if errors.Is(err, io.EOF) {
		return // receive-pack ran no hook: nothing to update, or it failed before
	}
	verdict := "ok"
	if err == nil {
		err = f.opts.CheckPush(ctx, p)
	} else {
		f.log.ErrorContext(ctx, "reading the pre-receive hook", "repo", req.repo.name, "error", err)
		err = errors.New("goldenpath could not check this push")
	}
	if err != nil {
		f.log.InfoContext(ctx, "push refused", "repo", req.repo.name, "subject", req.subject, "reason", err)
		verdict = oneLine(err.Error())
	}
	if _, err := io.WriteString(c.toHook, verdict+"\n"); err != nil {
		f.log.WarnContext(ctx, "answering the pre-receive hook", "repo", req.repo.name, "error", err)
	}
}

// readHookInput reads the hook's report; io.EOF means the hook never wrote one.
func readHookInput(r io.Reader, req gitRequest) (PendingPush, error) {
	p := PendingPush{Repo: req.repo.name, Subject: req.subject, repo: req.repo}
	objects := filepath.Join(req.repo.path, "objects")
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxHookInput)
	started := false
	for sc.Scan() {
		line := sc.Text()
		started = true
		switch {
		case line == "end":
			return p, nil
		case strings.HasPrefix(line, "objects "):
			dir := strings.TrimPrefix(line, "objects ")
			if dir == "" {
				continue // no quarantine: the objects are in the repository already
			}
			if !within(objects, dir) {
				return p, fmt.Errorf("quarantine %q is not in %s", dir, objects)
			}
			p.env = append(p.env, "GIT_OBJECT_DIRECTORY="+dir, "GIT_ALTERNATE_OBJECT_DIRECTORIES="+objects)
		case strings.HasPrefix(line, "alternates "):
			// The repository's own objects, which the quarantine is read together with (above).
		default:
			parts := strings.Split(line, " ")
			if len(parts) != 3 || !isFullSHA(parts[0]) || !isFullSHA(parts[1]) || !strings.HasPrefix(parts[2], "refs/") {
				return p, fmt.Errorf("malformed ref update %.100q", line)
			}
			p.Updates = append(p.Updates, RefUpdate{Ref: parts[2], Old: parts[0], New: parts[1]})
		}
	}
	if err := sc.Err(); err != nil {
		return p, err
	}
	if !started {
		return p, io.EOF
	}
	return p, io.ErrUnexpectedEOF
}

// within reports whether dir is below parent.
func within(parent, dir string) bool {
	rel, err := filepath.Rel(parent, filepath.Clean(dir))
	return err == nil && rel != "." && !strings.HasPrefix(rel, "..") && !filepath.IsAbs(rel)
}

// oneLine makes a message fit the hook's one-line verdict.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" || s == "ok" {
		s = "refused"
	}
	if len(s) > 4000 {
		s = s[:4000] + "..."
	}
	return s
}
