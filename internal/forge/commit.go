package forge

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// emptyTree is the id of the empty tree in SHA-1 repositories (the only kind CreateRepo makes).
const emptyTree = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

// Change is one file to write or delete in a Commit.
type Change struct {
	Path    string
	Content []byte
	Delete  bool   // remove Path; deleting a file that does not exist changes nothing
	Mode    string // "" = 100644; "100755" for executables; "120000" for a symlink (Content = target)
}

// CommitOptions describe a Commit.
type CommitOptions struct {
	Branch     string // e.g. "main" or "request/rds-dev-orders-1"
	Parent     string // expected current tip of Branch ("" = Branch must not exist yet; then Base is used)
	Base       string // when creating the branch: start from this commit ("" = an orphan root commit)
	Message    string
	Author     Signature
	Changes    []Change
	AllowEmpty bool // default false: a commit that changes nothing returns ErrNoChanges
}

// Commit writes o.Changes on top of o.Parent as one new commit and moves o.Branch to it. Objects are
// written first and the branch moves last by compare-and-swap, so a concurrent writer makes this fail
// with ErrConflict (re-read the tip and retry) and never loses either commit.
func (r *Repo) Commit(ctx context.Context, o CommitOptions) (sha string, err error) {
	if err := validateCommitOptions(&o); err != nil {
		return "", err
	}
	ref := "refs/heads/" + o.Branch
	startRev, old, err := r.commitStart(ctx, ref, o)
	if err != nil {
		return "", err
	}
	start, err := r.inspectStart(ctx, startRev, o.Changes)
	if err != nil {
		return "", fmt.Errorf("committing to %s in %s: %w", o.Branch, r.name, err)
	}
	err = r.f.withTempDir(func(tmp string) error {
		tree, err := r.buildTree(ctx, tmp, start.commit, o.Changes)
		if err != nil {
			return err
		}
		if tree == start.tree && !o.AllowEmpty {
			return ErrNoChanges
		}
		sha, err = r.commitTree(ctx, tree, o.Message, o.Author, parentList(start.commit)...)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("committing to %s in %s: %w", o.Branch, r.name, err)
	}
	if err := r.casRef(ctx, ref, sha, old, "goldenpath: commit"); err != nil {
		return "", err
	}
	r.wrote(ctx, len(o.Changes)+2) // blobs, about one tree per change, the commit
	return sha, nil
}

func parentList(parent string) []string {
	if parent == "" {
		return nil
	}
	return []string{parent}
}

func validateCommitOptions(o *CommitOptions) error {
	if err := ValidateBranchName(o.Branch); err != nil {
		return fmt.Errorf("Branch: %w", err)
	}
	if o.Parent != "" {
		if err := validateSHA("Parent", o.Parent); err != nil {
			return err
		}
		if o.Base != "" {
			return fmt.Errorf("Base %q: only allowed when creating a branch (Parent empty)", o.Base)
		}
	}
	if o.Base != "" {
		if err := validateRev(o.Base); err != nil {
			return fmt.Errorf("Base: %w", err)
		}
	}
	if strings.TrimSpace(o.Message) == "" {
		return fmt.Errorf("Message must not be empty")
	}
	if err := validateSignature("Author", o.Author); err != nil {
		return err
	}
	return validateChanges(o.Changes)
}

func validateChanges(changes []Change) error {
	seen := make(map[string]bool, len(changes))
	for i, c := range changes {
		if err := validatePath(c.Path); err != nil {
			return fmt.Errorf("Changes[%d]: %w", i, err)
		}
		if seen[c.Path] {
			return fmt.Errorf("Changes[%d]: path %q appears more than once", i, c.Path)
		}
		seen[c.Path] = true
		switch c.Mode {
		case "", "100644", "100755", "120000":
		default:
			return fmt.Errorf("Changes[%d]: mode %q of %q: must be \"\", 100644, 100755 or 120000", i, c.Mode, c.Path)
		}
		if c.Delete && len(c.Content) > 0 {
			return fmt.Errorf("Changes[%d]: %q has Delete set and Content: choose one", i, c.Path)
		}
	}
	return nil
}

// commitStart works out what the new commit builds on (o.Parent, o.Base or "" for a root commit) and
// the value the branch must still have when we move it (ZeroSHA: must not exist). A stale Parent is
// caught by the compare-and-swap in casRef; a new branch's name is checked here so that the caller
// hears "already exists" rather than a bare conflict.
func (r *Repo) commitStart(ctx context.Context, ref string, o CommitOptions) (startRev, old string, err error) {
	if o.Parent != "" {
		return o.Parent, o.Parent, nil
	}
	cur, err := r.refTip(ctx, ref)
	if err != nil {
		return "", "", err
	}
	if cur != "" {
		return "", "", fmt.Errorf("branch %q of %s already exists (at %s) and Parent is empty: %w", o.Branch, r.name, cur, ErrConflict)
	}
	if o.Base == "" {
		return "", ZeroSHA, nil
	}
	base, err := r.ResolveRef(ctx, o.Base)
	if err != nil {
		return "", "", fmt.Errorf("Base: %w", err)
	}
	return base, ZeroSHA, nil
}

// startPoint is the commit a Commit builds on and its tree (the empty tree for a root commit).
type startPoint struct{ commit, tree string }

// inspectStart resolves startRev to a commit and its tree and refuses writes that git's index would
// resolve by silently dropping files (writing "a/b" where "a" is a file, or "a" where "a" is a
// directory), all with one `cat-file --batch-check`.
func (r *Repo) inspectStart(ctx context.Context, startRev string, changes []Change) (startPoint, error) {
	if startRev == "" {
		return startPoint{tree: emptyTree}, checkNewPaths(changes, nil)
	}
	specs := append([]string{startRev + "^{commit}", startRev + "^{tree}"}, clashSpecs(startRev, changes)...)
	var found []object
	err := r.catFileCheck(ctx, specs, func(_ int, obj object) error {
		found = append(found, obj)
		return nil
	})
	if err != nil {
		return startPoint{}, err
	}
	if found[0].typ != "commit" || found[1].typ != "tree" {
		return startPoint{}, fmt.Errorf("commit %s: %w", startRev, ErrNotFound)
	}
	types := map[string]string{}
	for i, spec := range specs[2:] {
		types[strings.TrimPrefix(spec, startRev+":")] = found[i+2].typ
	}
	return startPoint{commit: found[0].oid, tree: found[1].oid}, checkNewPaths(changes, types)
}

// clashSpecs names, in startRev, every written path and each of its parent directories that this
// commit does not delete.
func clashSpecs(startRev string, changes []Change) []string {
	writes, deletes := splitChanges(changes)
	asked := map[string]bool{}
	var specs []string
	ask := func(p string) {
		if !asked[p] {
			asked[p] = true
			specs = append(specs, startRev+":"+p)
		}
	}
	for _, p := range slices.Sorted(maps.Keys(writes)) {
		for dir := range parentDirs(p) {
			if !deletes[dir] {
				ask(dir)
			}
		}
		ask(p)
	}
	return specs
}

func splitChanges(changes []Change) (writes, deletes map[string]bool) {
	writes, deletes = map[string]bool{}, map[string]bool{}
	for _, c := range changes {
		if c.Delete {
			deletes[c.Path] = true
		} else {
			writes[c.Path] = true
		}
	}
	return writes, deletes
}

// checkNewPaths reports file/directory clashes given the object types existing paths have in the
// start tree (types maps path -> "blob", "tree" or "missing").
func checkNewPaths(changes []Change, types map[string]string) error {
	writes, deletes := splitChanges(changes)
	for _, p := range slices.Sorted(maps.Keys(writes)) {
		for dir := range parentDirs(p) {
			switch {
			case writes[dir]:
				return fmt.Errorf("path %q: %q is also written as a file in this commit", p, dir)
			case !deletes[dir] && types[dir] == "blob":
				return fmt.Errorf("path %q: %q is a file in the parent commit, so nothing can be written under it", p, dir)
			}
		}
		if types[p] == "tree" {
			return fmt.Errorf("path %q: is a directory in the parent commit", p)
		}
	}
	return nil
}

// buildTree applies changes to parent's tree ("" = empty) in a private index file and writes the result.
func (r *Repo) buildTree(ctx context.Context, tmp, parent string, changes []Change) (string, error) {
	env := runOpts{env: []string{"GIT_INDEX_FILE=" + filepath.Join(tmp, "index")}}
	readTree := []string{"read-tree", "--empty"}
	if parent != "" {
		readTree = []string{"read-tree", parent}
	}
	if _, err := r.git(ctx, env, readTree...); err != nil {
		return "", err
	}
	blobs, err := r.writeBlobs(ctx, tmp, changes)
	if err != nil {
		return "", err
	}
	var info bytes.Buffer
	for i, c := range changes {
		if c.Delete {
			fmt.Fprintf(&info, "0 %s\t%s\x00", ZeroSHA, c.Path)
			continue
		}
		fmt.Fprintf(&info, "%s %s\t%s\x00", modeOrDefault(c.Mode), blobs[i], c.Path)
	}
	env.stdin = &info
	if _, err := r.git(ctx, env, "update-index", "-z", "--index-info"); err != nil {
		return "", err
	}
	env.stdin = nil
	out, err := r.git(ctx, env, "write-tree")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

func modeOrDefault(mode string) string {
	if mode == "" {
		return "100644"
	}
	return mode
}

// writeBlobs stores the contents of the non-delete changes and returns their ids by change index:
// as one pack when there are many, else as loose objects with one hash-object process.
func (r *Repo) writeBlobs(ctx context.Context, tmp string, changes []Change) (map[int]string, error) {
	var idx []int
	var contents [][]byte
	for i, c := range changes {
		if !c.Delete {
			idx, contents = append(idx, i), append(contents, c.Content)
		}
	}
	var oids []string
	var err error
	switch {
	case len(idx) == 0:
	case len(idx) >= packBlobsMin:
		oids, err = r.writeBlobPack(ctx, contents)
	default:
		oids, err = r.writeLooseBlobs(ctx, tmp, contents)
	}
	if err != nil {
		return nil, err
	}
	blobs := make(map[int]string, len(idx))
	for k, i := range idx {
		blobs[i] = oids[k]
	}
	return blobs, nil
}

// writeLooseBlobs hashes contents through temp files, since hash-object --stdin takes only one object.
func (r *Repo) writeLooseBlobs(ctx context.Context, tmp string, contents [][]byte) ([]string, error) {
	paths := make([]string, len(contents))
	for i, c := range contents {
		paths[i] = filepath.Join(tmp, fmt.Sprintf("blob-%d", i))
		if err := os.WriteFile(paths[i], c, 0o600); err != nil {
			return nil, fmt.Errorf("staging blob: %w", err)
		}
	}
	out, err := r.git(ctx, runOpts{stdin: strings.NewReader(strings.Join(paths, "\n") + "\n")},
		"hash-object", "-w", "--no-filters", "--stdin-paths")
	if err != nil {
		return nil, err
	}
	oids := strings.Fields(string(out))
	if len(oids) != len(contents) {
		return nil, fmt.Errorf("git hash-object returned %d ids for %d files", len(oids), len(contents))
	}
	return oids, nil
}

// parentDirs yields "a" and "a/b" for "a/b/c".
func parentDirs(p string) func(yield func(string) bool) {
	return func(yield func(string) bool) {
		for i := range len(p) {
			if p[i] == '/' && !yield(p[:i]) {
				return
			}
		}
	}
}

// commitTree writes a commit object; the message goes through stdin so it is never parsed as options.
func (r *Repo) commitTree(ctx context.Context, tree, message string, author Signature, parents ...string) (string, error) {
	args := []string{"commit-tree", tree}
	for _, p := range parents {
		args = append(args, "-p", p)
	}
	if !strings.HasSuffix(message, "\n") {
		message += "\n"
	}
	when := author.When
	if when.IsZero() {
		when = time.Now()
	}
	o := runOpts{stdin: strings.NewReader(message), env: []string{
		"GIT_AUTHOR_NAME=" + author.Name,
		"GIT_AUTHOR_EMAIL=" + author.Email,
		"GIT_AUTHOR_DATE=" + gitDate(when),
	}}
	out, err := r.git(ctx, o, args...)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// gitDate formats t the way git stores dates: seconds since the epoch and the zone offset.
func gitDate(t time.Time) string {
	return fmt.Sprintf("@%d %s", t.Unix(), t.Format("-0700"))
}
