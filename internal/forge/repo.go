package forge

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// CommitInfo describes one commit.
type CommitInfo struct {
	SHA, Message string
	Author       Signature
	Parents      []string
}

// ResolveRef turns "main", "refs/heads/x", a tag or a (possibly abbreviated) sha into a full commit sha.
// A plain name means the branch first: a tag someone pushed as "main" must not stand in for the main
// branch that desired state is read from.
func (r *Repo) ResolveRef(ctx context.Context, ref string) (string, error) {
	if err := validateRev(ref); err != nil {
		return "", err
	}
	if sha, ok := r.fastResolve(ref); ok {
		return sha, nil
	}
	candidates := []string{ref + "^{commit}"}
	if !isFullSHA(ref) && !strings.HasPrefix(ref, "refs/") && ValidateBranchName(ref) == nil {
		candidates = []string{"refs/heads/" + ref + "^{commit}", ref + "^{commit}"}
	}
	var sha string
	err := r.catFileCheck(ctx, candidates, func(_ int, obj object) error {
		if sha == "" && obj.typ == "commit" {
			sha = obj.oid
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("resolving %q in %s: %w", ref, r.name, err)
	}
	if sha == "" {
		return "", fmt.Errorf("resolving %q in %s: %w", ref, r.name, ErrNotFound)
	}
	r.f.commits.Store(r.path+"\x00"+sha, struct{}{})
	return sha, nil
}

// refTip returns the sha a full ref points at, or "" when the ref does not exist. Unlike ResolveRef it
// never guesses: "refs/heads/main" means exactly that ref.
func (r *Repo) refTip(ctx context.Context, ref string) (string, error) {
	values, err := r.refValues(ctx, []string{ref})
	if err != nil {
		return "", fmt.Errorf("reading %s in %s: %w", ref, r.name, err)
	}
	return values[ref], nil
}

// Branches maps every branch name to its tip commit.
func (r *Repo) Branches(ctx context.Context) (map[string]string, error) {
	out, err := r.git(ctx, runOpts{}, "for-each-ref", "--format=%(objectname) %(refname:strip=2)", "refs/heads/")
	if err != nil {
		return nil, fmt.Errorf("listing branches of %s: %w", r.name, err)
	}
	branches := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if sha, name, ok := strings.Cut(line, " "); ok {
			branches[name] = sha
		}
	}
	return branches, nil
}

// ReadFile returns the content of path at rev. A missing rev or path (or a path that is a directory)
// is ErrNotFound.
func (r *Repo) ReadFile(ctx context.Context, rev, path string) ([]byte, error) {
	if err := validatePath(path); err != nil {
		return nil, err
	}
	commit, err := r.ResolveRef(ctx, rev)
	if err != nil {
		return nil, err
	}
	if content, ok := r.f.recent.file(r.path, commit, path); ok {
		return content, nil
	}
	if content, ok := r.f.reads.get(r.path, commit, path); ok {
		return content, nil
	}
	var content []byte
	var found bool
	err = r.catFile(ctx, []string{commit + ":" + path}, func(_ int, obj object) error {
		if obj.typ != "blob" {
			return nil
		}
		found, content = true, obj.data
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading %s at %s in %s: %w", path, rev, r.name, err)
	}
	if !found {
		return nil, fmt.Errorf("file %q at %s in %s: %w", path, rev, r.name, ErrNotFound)
	}
	r.f.reads.put(r.path, commit, path, content)
	return content, nil
}

// Log returns up to n commits reachable from rev, newest first; n <= 0 means all.
func (r *Repo) Log(ctx context.Context, rev string, n int) ([]CommitInfo, error) {
	commit, err := r.ResolveRef(ctx, rev)
	if err != nil {
		return nil, err
	}
	args := []string{"log", "-z", "--format=%H%x1f%P%x1f%an%x1f%ae%x1f%aI%x1f%B"}
	if n > 0 {
		args = append(args, fmt.Sprintf("--max-count=%d", n))
	}
	out, err := r.git(ctx, runOpts{}, append(args, commit, "--")...)
	if err != nil {
		return nil, fmt.Errorf("reading log of %s in %s: %w", rev, r.name, err)
	}
	var commits []CommitInfo
	for _, rec := range bytes.Split(out, []byte{0}) {
		if len(rec) == 0 {
			continue
		}
		c, err := parseLogRecord(string(rec))
		if err != nil {
			return nil, fmt.Errorf("reading log of %s in %s: %w", rev, r.name, err)
		}
		commits = append(commits, c)
	}
	return commits, nil
}

// parseLogRecord parses one "%H %P %an %ae %aI %B" record; the message comes last so it may contain
// anything but NUL.
func parseLogRecord(rec string) (CommitInfo, error) {
	f := strings.SplitN(strings.TrimPrefix(rec, "\n"), "\x1f", 6)
	if len(f) != 6 {
		return CommitInfo{}, fmt.Errorf("unexpected log record %.60q", rec)
	}
	when, err := time.Parse(time.RFC3339, f[4])
	if err != nil {
		return CommitInfo{}, fmt.Errorf("parsing author date %q: %w", f[4], err)
	}
	return CommitInfo{
		SHA:     f[0],
		Parents: strings.Fields(f[1]),
		Author:  Signature{Name: f[2], Email: f[3], When: when},
		Message: strings.TrimRight(f[5], "\n"),
	}, nil
}

// MergeBase returns the best common ancestor of a and b; ErrNotFound when they share no history.
func (r *Repo) MergeBase(ctx context.Context, a, b string) (string, error) {
	shaA, err := r.ResolveRef(ctx, a)
	if err != nil {
		return "", err
	}
	shaB, err := r.ResolveRef(ctx, b)
	if err != nil {
		return "", err
	}
	out, err := r.git(ctx, runOpts{}, "merge-base", shaA, shaB)
	if err != nil {
		if exitCode(err) == 1 {
			return "", fmt.Errorf("%s and %s have no common ancestor: %w", a, b, ErrNotFound)
		}
		return "", fmt.Errorf("finding merge base of %s and %s in %s: %w", a, b, r.name, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// isAncestor reports whether commit a is reachable from commit b (a == b counts).
func (r *Repo) isAncestor(ctx context.Context, a, b string) (bool, error) {
	_, err := r.git(ctx, runOpts{}, "merge-base", "--is-ancestor", a, b)
	switch {
	case err == nil:
		return true, nil
	case exitCode(err) == 1:
		return false, nil
	default:
		return false, fmt.Errorf("checking ancestry of %s and %s in %s: %w", a, b, r.name, err)
	}
}

// UpdateRef moves ref from oldSHA to newSHA atomically. ref is a full ref ("refs/heads/x") or a branch
// name. oldSHA "" (or ZeroSHA) means the ref must not exist yet; newSHA "" deletes the ref, which then
// requires oldSHA. If the ref is not at oldSHA, the error wraps ErrConflict.
func (r *Repo) UpdateRef(ctx context.Context, ref, newSHA, oldSHA string) error {
	if !strings.HasPrefix(ref, "refs/") {
		if err := ValidateBranchName(ref); err != nil {
			return err
		}
		ref = "refs/heads/" + ref
	}
	if err := validateRefName(ref); err != nil {
		return err
	}
	if oldSHA == "" {
		oldSHA = ZeroSHA
	}
	if err := validateSHA("oldSHA", oldSHA); err != nil {
		return err
	}
	if newSHA == "" {
		if oldSHA == ZeroSHA {
			return fmt.Errorf("deleting %s: oldSHA is required", ref)
		}
		newSHA = ZeroSHA
	}
	if err := validateSHA("newSHA", newSHA); err != nil {
		return err
	}
	return r.casRef(ctx, ref, newSHA, oldSHA, "goldenpath: update-ref")
}

// casRef is the compare-and-swap every write ends with. update-ref takes the ref's lock and checks the
// old value under it, so of two racing writers exactly one wins; we tell the loser apart from other
// failures (bad object, not a commit) by re-reading the ref.
func (r *Repo) casRef(ctx context.Context, ref, newSHA, oldSHA, reason string) error {
	args := []string{"update-ref", "-m", reason, ref, newSHA, oldSHA}
	if newSHA == ZeroSHA {
		args = []string{"update-ref", "-m", reason, "-d", ref, oldSHA}
	}
	// Not cancelled midway: git killed while it holds a ref's lock leaves the lock file behind, and
	// every later write to that ref would fail. It takes milliseconds.
	ctx = context.WithoutCancel(ctx)
	_, err := r.git(ctx, runOpts{}, args...)
	if err != nil && r.removeStaleLock(err) {
		_, err = r.git(ctx, runOpts{}, args...)
	}
	if err == nil {
		return nil
	}
	cur, readErr := r.refTip(ctx, ref)
	if readErr == nil {
		if cur == "" {
			cur = ZeroSHA
		}
		if cur != oldSHA {
			return fmt.Errorf("updating %s in %s: now at %s, expected %s: %w", ref, r.name, cur, oldSHA, ErrConflict)
		}
	}
	return fmt.Errorf("updating %s in %s: %w", ref, r.name, err)
}

// staleLockAge is how old a ref lock must be to be taken for one a crashed process left: git holds
// its locks for milliseconds.
const staleLockAge = 10 * time.Second

var lockExists = regexp.MustCompile(`Unable to create '([^']+\.lock)': File exists`)

// removeStaleLock removes the lock file a failed git command names as in the way, if it is inside this
// repository and old enough to have been left by a process that died (a crash, a kill -9) rather than
// held by a running one, and reports whether it did.
func (r *Repo) removeStaleLock(err error) bool {
	m := lockExists.FindStringSubmatch(err.Error())
	if m == nil {
		return false
	}
	lock := filepath.Clean(m[1])
	if rel, rerr := filepath.Rel(r.path, lock); rerr != nil || strings.HasPrefix(rel, "..") {
		return false
	}
	fi, serr := os.Stat(lock)
	if serr != nil || time.Since(fi.ModTime()) < staleLockAge {
		return false
	}
	if os.Remove(lock) != nil {
		return false
	}
	r.f.log.Warn("removed a stale git lock left by a process that stopped midway", "repo", r.name, "lock", lock, "age", time.Since(fi.ModTime()).Round(time.Second))
	return true
}

// DeleteBranch deletes branch name if it still points at expected ("" = whatever it points at now).
// The repository's default branch (HEAD) cannot be deleted.
func (r *Repo) DeleteBranch(ctx context.Context, name, expected string) error {
	if err := ValidateBranchName(name); err != nil {
		return err
	}
	ref := "refs/heads/" + name
	head, err := r.git(ctx, runOpts{}, "symbolic-ref", "--quiet", "HEAD")
	if err == nil && strings.TrimSpace(string(head)) == ref {
		return fmt.Errorf("deleting branch %q of %s: it is the default branch", name, r.name)
	}
	cur, err := r.refTip(ctx, ref)
	if err != nil {
		return err
	}
	if cur == "" {
		return fmt.Errorf("branch %q of %s: %w", name, r.name, ErrNotFound)
	}
	if expected == "" {
		expected = cur
	}
	if err := validateSHA("expected", expected); err != nil {
		return err
	}
	return r.casRef(ctx, ref, ZeroSHA, expected, "goldenpath: delete branch")
}
