// Package forge hosts goldenpath's git repositories: bare repositories under one directory, served to the
// real git client over the smart HTTP protocol, plus the in-process operations change requests need (read
// files at a revision, commit changes atomically, diff, merge).
//
// Everything is done by the system git (>= 2.38), the way Gitea and soft-serve do it: the wire protocol
// is git's own upload-pack/receive-pack, and repository writes are plumbing commands that end in an
// `update-ref <ref> <new> <old>` compare-and-swap. That CAS, not an in-process lock, is what makes
// concurrent Commit, Merge and pushes safe: a loser gets ErrConflict and re-reads.
package forge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Errors callers branch on. Wrapped errors carry the details.
var (
	// ErrNotFound means a repository, ref or path does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means a ref moved between the caller's read and the write: re-read and retry.
	ErrConflict = errors.New("ref changed concurrently")
	// ErrNoChanges means a commit would not change the tree (or a merge has nothing to merge).
	ErrNoChanges = errors.New("nothing to commit")
	// ErrUnauthenticated from an Authorizer makes the HTTP handler answer 401 with a Basic challenge.
	ErrUnauthenticated = errors.New("authentication required")
	// ErrDenied from an Authorizer makes the HTTP handler answer 403.
	ErrDenied = errors.New("access denied")
)

// MergeConflictError lists the paths that conflict.
type MergeConflictError struct{ Paths []string }

func (e *MergeConflictError) Error() string {
	return fmt.Sprintf("merge conflict in %d file(s): %s", len(e.Paths), strings.Join(e.Paths, ", "))
}

// Signature identifies an author or committer. A zero When means now.
type Signature struct {
	Name, Email string
	When        time.Time
}

// ZeroSHA is the object id git uses for "no object": the Old of a created ref, the New of a deleted one.
const ZeroSHA = "0000000000000000000000000000000000000000"

// RefUpdate is one ref change; Old or New is ZeroSHA for a create or delete.
type RefUpdate struct{ Ref, Old, New string }

// PushEvent is reported after a successful push over HTTP.
type PushEvent struct {
	Repo    string
	Subject string      // who pushed (from Authorize)
	Updates []RefUpdate // refs that actually changed (compare before/after)
	// Commits are the commits the push introduced: reachable from the new tips and from no other ref
	// before. Recording who pushed them is the only trustworthy authorship (git's author fields are not).
	Commits []string
}

// Authorizer decides whether a request may read (write=false) or push to (write=true) repo. It returns
// the subject (who is asking) or an error wrapping ErrUnauthenticated or ErrDenied, whose message is sent
// to the client.
type Authorizer func(r *http.Request, repo string, write bool) (subject string, err error)

// Options configure a Forge. The zero value allows everything and logs nothing.
type Options struct {
	Authorize Authorizer // nil = allow all (tests)
	// BeforePush sees the ref updates a push asks for, before git runs, and may refuse them all by
	// returning an error; `git push` prints its message as the rejection reason of every ref.
	BeforePush func(ctx context.Context, repo, subject string, updates []RefUpdate) error
	// CheckPush sees a push once git has received its objects and before any ref moves (git's
	// pre-receive hook), so it can read the pushed files; an error refuses the whole push, and `git push`
	// prints its message as "remote: ...". Unix only.
	CheckPush func(ctx context.Context, p PendingPush) error
	// OnPush is called after a push that changed refs; it runs inside the request, so it must not block long.
	OnPush       func(ctx context.Context, ev PushEvent)
	Logger       *slog.Logger
	MaxPushBytes int64 // default 512 MiB

	// Additions to the contract.

	// GitPath is the git binary; "" looks up "git" in PATH.
	GitPath string
	// Committer is who commits made by Commit and Merge are committed by; the zero value is
	// "goldenpath <goldenpath@localhost>". The author is always the caller's Signature.
	Committer Signature
}

const (
	defaultMaxPushBytes = 512 << 20
	minGitMajor         = 2
	minGitMinor         = 38 // merge-tree --write-tree
)

// Forge hosts the bare repositories under one directory. It is safe for concurrent use.
type Forge struct {
	dir       string
	git       string
	home      string // empty HOME for every git process, so no user config leaks in
	tmp       string // temporary index files and repos being initialised
	hooks     string // git hooks receive-pack runs with (CheckPush)
	opts      Options
	log       *slog.Logger
	committer Signature
	packer    packer
	commits   sync.Map // "<repo path>\x00<sha>" → struct{}: objects known to be commits (they never change)
	recent    recentCommits
	reads     readCache
}

// New opens (creating if needed) the forge rooted at dir. It fails when git is missing or older than 2.38.
func New(dir string, opts Options) (*Forge, error) {
	if dir == "" {
		return nil, errors.New("forge: dir is required")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("forge: resolving dir %q: %w", dir, err)
	}
	f := &Forge{dir: abs, home: filepath.Join(abs, ".home"), tmp: filepath.Join(abs, ".tmp"), hooks: filepath.Join(abs, ".hooks"), opts: opts}
	if err := f.applyDefaults(); err != nil {
		return nil, err
	}
	if err := f.checkGitVersion(context.Background()); err != nil {
		return nil, err
	}
	if err := f.prepareDirs(); err != nil {
		return nil, err
	}
	if opts.CheckPush != nil {
		if runtime.GOOS == "windows" {
			return nil, errors.New("forge: CheckPush needs a Unix system (git's hook inherits the forge's pipes)")
		}
		if err := f.writeHooks(); err != nil {
			return nil, err
		}
	}
	return f, nil
}

func (f *Forge) applyDefaults() error {
	f.log = f.opts.Logger
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	f.log = f.log.With("component", "forge")
	if f.opts.MaxPushBytes == 0 {
		f.opts.MaxPushBytes = defaultMaxPushBytes
	}
	if f.opts.MaxPushBytes < 0 {
		return fmt.Errorf("forge: MaxPushBytes must be positive, got %d", f.opts.MaxPushBytes)
	}
	f.committer = f.opts.Committer
	if f.committer.Name == "" && f.committer.Email == "" {
		f.committer = Signature{Name: "goldenpath", Email: "goldenpath@localhost"}
	}
	if err := validateSignature("Committer", f.committer); err != nil {
		return fmt.Errorf("forge: %w", err)
	}
	gitPath := f.opts.GitPath
	if gitPath == "" {
		gitPath = "git"
	}
	p, err := exec.LookPath(gitPath)
	if err != nil {
		return fmt.Errorf("forge: git %s is required but was not found: %w", minVersion(), err)
	}
	f.git = p
	return nil
}

// prepareDirs creates the layout. The temp dir is emptied: anything there is left over from a crash.
func (f *Forge) prepareDirs() error {
	if err := os.RemoveAll(f.tmp); err != nil {
		return fmt.Errorf("forge: clearing %s: %w", f.tmp, err)
	}
	for _, d := range []string{f.dir, f.home, f.tmp} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return fmt.Errorf("forge: creating %s: %w", d, err)
		}
	}
	return nil
}

func minVersion() string { return fmt.Sprintf(">= %d.%d", minGitMajor, minGitMinor) }

func (f *Forge) checkGitVersion(ctx context.Context) error {
	out, err := f.run(ctx, runOpts{}, "version")
	if err != nil {
		return fmt.Errorf("forge: running %s version: %w", f.git, err)
	}
	major, minor, ok := parseGitVersion(string(out))
	if !ok {
		return fmt.Errorf("forge: cannot parse git version from %q; git %s is required", strings.TrimSpace(string(out)), minVersion())
	}
	if major < minGitMajor || (major == minGitMajor && minor < minGitMinor) {
		return fmt.Errorf("forge: git %d.%d at %s is too old: git %s is required (for merge-tree --write-tree)",
			major, minor, f.git, minVersion())
	}
	return nil
}

// parseGitVersion reads "git version 2.39.5" (and vendor variants such as "2.39.5.windows.1").
func parseGitVersion(s string) (major, minor int, ok bool) {
	fields := strings.Fields(s)
	if len(fields) < 3 || fields[0] != "git" || fields[1] != "version" {
		return 0, 0, false
	}
	parts := strings.Split(fields[2], ".")
	if len(parts) < 2 {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return major, minor, true
}

func (f *Forge) repoPath(name string) string { return filepath.Join(f.dir, name+".git") }

// CreateRepo creates the bare repository name with defaultBranch ("" = "main") as HEAD. It is
// idempotent: created is false when the repository already exists.
func (f *Forge) CreateRepo(ctx context.Context, name string, defaultBranch string) (created bool, err error) {
	if err := ValidateRepoName(name); err != nil {
		return false, err
	}
	if defaultBranch == "" {
		defaultBranch = "main"
	}
	if err := ValidateBranchName(defaultBranch); err != nil {
		return false, fmt.Errorf("defaultBranch: %w", err)
	}
	path := f.repoPath(name)
	if isRepo(path) {
		return false, nil
	}
	// Initialise aside and rename into place so nobody ever sees a half-made repository, and two
	// concurrent creators cannot both win.
	staging, err := os.MkdirTemp(f.tmp, "init-")
	if err != nil {
		return false, fmt.Errorf("creating repository %q: %w", name, err)
	}
	defer os.RemoveAll(staging)
	bare := filepath.Join(staging, "repo.git")
	if _, err := f.run(ctx, runOpts{}, "init", "--bare", "--quiet", "--template=",
		"--initial-branch="+defaultBranch, bare); err != nil {
		return false, fmt.Errorf("creating repository %q: %w", name, err)
	}
	// Bare repositories keep no reflog by default; with one, a bad force-push to a branch of the
	// platform repository can be undone by hand.
	if _, err := f.run(ctx, runOpts{gitDir: bare}, "config", "core.logAllRefUpdates", "true"); err != nil {
		return false, fmt.Errorf("creating repository %q: %w", name, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return false, fmt.Errorf("creating repository %q: %w", name, err)
	}
	if err := os.Rename(bare, path); err != nil {
		if isRepo(path) {
			return false, nil
		}
		return false, fmt.Errorf("creating repository %q: %w", name, err)
	}
	f.log.InfoContext(ctx, "created repository", "repo", name, "default_branch", defaultBranch)
	return true, nil
}

func isRepo(path string) bool {
	st, err := os.Stat(filepath.Join(path, "HEAD"))
	return err == nil && st.Mode().IsRegular()
}

// Repo returns the repository name, or an error wrapping ErrNotFound if it does not exist.
func (f *Forge) Repo(name string) (*Repo, error) {
	if err := ValidateRepoName(name); err != nil {
		return nil, err
	}
	path := f.repoPath(name)
	if !isRepo(path) {
		return nil, fmt.Errorf("repository %q: %w", name, ErrNotFound)
	}
	return &Repo{f: f, name: name, path: path}, nil
}

// Repos lists the repository names, sorted.
func (f *Forge) Repos() ([]string, error) {
	entries, err := os.ReadDir(f.dir)
	if err != nil {
		return nil, fmt.Errorf("listing repositories: %w", err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if name, ok := strings.CutSuffix(e.Name(), ".git"); ok {
			if ValidateRepoName(name) == nil && isRepo(filepath.Join(f.dir, e.Name())) {
				names = append(names, name)
			}
			continue
		}
		// An owner directory holding owner/name repositories.
		owned, err := os.ReadDir(filepath.Join(f.dir, e.Name()))
		if err != nil {
			continue
		}
		for _, o := range owned {
			name, ok := strings.CutSuffix(o.Name(), ".git")
			full := e.Name() + "/" + name
			if ok && o.IsDir() && ValidateRepoName(full) == nil && isRepo(filepath.Join(f.dir, e.Name(), o.Name())) {
				names = append(names, full)
			}
		}
	}
	sort.Strings(names)
	return names, nil
}

// Repo is one bare repository. Methods are safe for concurrent use.
type Repo struct {
	f    *Forge
	name string
	path string
}

// Name returns the repository name.
func (r *Repo) Name() string { return r.name }

// git runs a git command inside this repository and returns its stdout.
func (r *Repo) git(ctx context.Context, o runOpts, args ...string) ([]byte, error) {
	o.gitDir = r.path
	return r.f.run(ctx, o, args...)
}
