package forge

import (
	"bytes"
	"context"
	"fmt"
	"strings"
)

// MergeOptions describe a MergeWith. (An addition to the contract: Merge has no fast-forward switch.)
type MergeOptions struct {
	Into         string // branch to merge into, e.g. "main"
	ExpectedInto string // the tip of Into the caller validated; if the branch moved, ErrConflict
	Head         string // what to merge: a branch, ref or commit
	Message      string // "" = "Merge <Head> into <Into>"
	Author       Signature
	FastForward  bool // move Into to Head without a merge commit when Into is an ancestor of Head
}

// Merge merges head into branch `into` with a merge commit, using `git merge-tree --write-tree`; on
// conflicts it returns *MergeConflictError and changes nothing. expectedInto is the tip of `into` the
// caller validated; if the branch moved, ErrConflict. If head is already merged, ErrNoChanges.
func (r *Repo) Merge(ctx context.Context, into, expectedInto, head, message string, author Signature) (sha string, err error) {
	return r.MergeWith(ctx, MergeOptions{
		Into: into, ExpectedInto: expectedInto, Head: head, Message: message, Author: author,
	})
}

// MergeWith is Merge with options, including fast-forward.
func (r *Repo) MergeWith(ctx context.Context, o MergeOptions) (string, error) {
	if err := validateMergeOptions(o); err != nil {
		return "", err
	}
	ref := "refs/heads/" + o.Into
	cur, err := r.refTip(ctx, ref)
	if err != nil {
		return "", err
	}
	if cur != o.ExpectedInto {
		return "", fmt.Errorf("merging into %q of %s: branch is at %q, not %s: %w", o.Into, r.name, cur, o.ExpectedInto, ErrConflict)
	}
	head, err := r.ResolveRef(ctx, o.Head)
	if err != nil {
		return "", fmt.Errorf("head: %w", err)
	}
	sha, err := r.mergeCommit(ctx, o, head)
	if err != nil {
		return "", err
	}
	if err := r.casRef(ctx, ref, sha, o.ExpectedInto, "goldenpath: merge "+o.Head); err != nil {
		return "", err
	}
	r.wrote(ctx, 4) // a merge commit and a few trees (merged blobs too, on textual merges)
	return sha, nil
}

func validateMergeOptions(o MergeOptions) error {
	if err := ValidateBranchName(o.Into); err != nil {
		return fmt.Errorf("into: %w", err)
	}
	if err := validateSHA("expectedInto", o.ExpectedInto); err != nil {
		return err
	}
	if err := validateRev(o.Head); err != nil {
		return fmt.Errorf("head: %w", err)
	}
	return validateSignature("author", o.Author)
}

// mergeCommit returns the commit Into should move to: head itself for a fast-forward, else a new
// merge commit of the tree merge-tree computed.
func (r *Repo) mergeCommit(ctx context.Context, o MergeOptions, head string) (string, error) {
	merged, err := r.isAncestor(ctx, head, o.ExpectedInto)
	if err != nil {
		return "", err
	}
	if merged {
		return "", fmt.Errorf("merging %s into %q of %s: already merged: %w", o.Head, o.Into, r.name, ErrNoChanges)
	}
	if o.FastForward {
		ff, err := r.isAncestor(ctx, o.ExpectedInto, head)
		if err != nil {
			return "", err
		}
		if ff {
			return head, nil
		}
	}
	tree, err := r.mergeTree(ctx, o.ExpectedInto, head)
	if err != nil {
		return "", fmt.Errorf("merging %s into %q of %s: %w", o.Head, o.Into, r.name, err)
	}
	msg := o.Message
	if strings.TrimSpace(msg) == "" {
		msg = fmt.Sprintf("Merge %s into %s", o.Head, o.Into)
	}
	sha, err := r.commitTree(ctx, tree, msg, o.Author, o.ExpectedInto, head)
	if err != nil {
		return "", fmt.Errorf("merging %s into %q of %s: %w", o.Head, o.Into, r.name, err)
	}
	return sha, nil
}

// mergeTree runs a real three-way merge without touching any ref or worktree. It writes only
// unreferenced objects, so a conflict leaves the repository as it was.
func (r *Repo) mergeTree(ctx context.Context, ours, theirs string) (string, error) {
	out, err := r.git(ctx, runOpts{}, "merge-tree", "--write-tree", "--name-only", "--no-messages", "-z", ours, theirs)
	if err != nil && exitCode(err) != 1 {
		return "", err
	}
	// Output: "<tree>\0" then, on conflict, "<path>\0" per conflicted file.
	parts := bytes.Split(bytes.TrimSuffix(out, []byte{0}), []byte{0})
	tree := string(parts[0])
	if !isFullSHA(tree) {
		return "", fmt.Errorf("git merge-tree: unexpected output %.80q", out)
	}
	if err == nil {
		return tree, nil
	}
	conflict := &MergeConflictError{}
	for _, p := range parts[1:] {
		if len(p) > 0 {
			conflict.Paths = append(conflict.Paths, string(p))
		}
	}
	return "", conflict
}
