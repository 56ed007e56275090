package forge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
)

// FileDiff is one changed file of a Diff.
type FileDiff struct {
	Path    string `json:"path"`
	OldPath string `json:"oldPath,omitempty"` // for renames
	Status  string `json:"status"`            // "added" | "modified" | "deleted" | "renamed"
	Patch   string `json:"patch,omitempty"`   // unified diff text for this file (text files; "Binary files differ" otherwise)
	Binary  bool   `json:"binary,omitempty"`
}

// binaryPatch is the Patch of a binary file.
const binaryPatch = "Binary files differ"

// Diff is what a pull request shows: changes from merge-base(base, head) to head, renames detected.
// Branches without common history diff against the empty tree.
func (r *Repo) Diff(ctx context.Context, base, head string) ([]FileDiff, error) {
	from, to, err := r.diffRange(ctx, base, head)
	if err != nil {
		return nil, err
	}
	out, err := r.git(ctx, runOpts{}, "diff", "--raw", "-p", "-z", "-M", "--no-color", "--no-ext-diff",
		"--no-textconv", from, to, "--")
	if err != nil {
		return nil, fmt.Errorf("diffing %s...%s in %s: %w", base, head, r.name, err)
	}
	files, rest, err := parseRawDiff(out)
	if err != nil {
		return nil, fmt.Errorf("diffing %s...%s in %s: %w", base, head, r.name, err)
	}
	patches := splitPatches(rest)
	if len(patches) != len(files) {
		return nil, fmt.Errorf("diffing %s...%s in %s: got %d patches for %d files", base, head, r.name, len(patches), len(files))
	}
	for i, p := range patches {
		files[i].Patch, files[i].Binary = p, isBinaryPatch(p)
		if files[i].Binary {
			files[i].Patch = binaryPatch
		}
	}
	return files, nil
}

// ChangedFiles is like Diff without patches: paths and statuses only (cheap).
func (r *Repo) ChangedFiles(ctx context.Context, base, head string) ([]FileDiff, error) {
	from, to, err := r.diffRange(ctx, base, head)
	if err != nil {
		return nil, err
	}
	out, err := r.git(ctx, runOpts{}, "diff", "--raw", "-z", "-M", "--no-color", "--no-ext-diff", from, to, "--")
	if err != nil {
		return nil, fmt.Errorf("listing changes %s...%s in %s: %w", base, head, r.name, err)
	}
	files, _, err := parseRawDiff(out)
	if err != nil {
		return nil, fmt.Errorf("listing changes %s...%s in %s: %w", base, head, r.name, err)
	}
	return files, nil
}

// diffRange resolves the two ends of a pull-request diff: merge-base(base, head) and head.
func (r *Repo) diffRange(ctx context.Context, base, head string) (from, to string, err error) {
	to, err = r.ResolveRef(ctx, head)
	if err != nil {
		return "", "", err
	}
	from, err = r.MergeBase(ctx, base, to)
	if errors.Is(err, ErrNotFound) {
		if _, rerr := r.ResolveRef(ctx, base); rerr != nil {
			return "", "", rerr // base itself is missing: say so, not "no common ancestor"
		}
		return emptyTree, to, nil
	}
	return from, to, err
}

// parseRawDiff reads the NUL-separated `--raw -z` records at the start of out:
// ":<mode> <mode> <oid> <oid> <status>\0<path>\0" (two paths for renames and copies). It returns the
// files and whatever follows the records (the patches, when -p was given).
func parseRawDiff(out []byte) ([]FileDiff, []byte, error) {
	var files []FileDiff
	for len(out) > 0 && out[0] == ':' {
		meta, rest, ok := bytes.Cut(out, []byte{0})
		if !ok {
			return nil, nil, fmt.Errorf("truncated raw diff record %.60q", out)
		}
		fields := strings.Fields(string(meta))
		if len(fields) != 5 {
			return nil, nil, fmt.Errorf("unexpected raw diff record %q", meta)
		}
		status := fields[4][:1]
		npaths := 1
		if status == "R" || status == "C" {
			npaths = 2
		}
		paths := make([]string, npaths)
		for i := range paths {
			var p []byte
			if p, rest, ok = bytes.Cut(rest, []byte{0}); !ok {
				return nil, nil, fmt.Errorf("truncated raw diff record for %q", meta)
			}
			paths[i] = string(p)
		}
		files = append(files, newFileDiff(status, paths))
		out = rest
	}
	return files, bytes.TrimPrefix(out, []byte{0}), nil
}

func newFileDiff(status string, paths []string) FileDiff {
	d := FileDiff{Path: paths[len(paths)-1]}
	switch status {
	case "A", "C":
		d.Status = "added"
	case "D":
		d.Status = "deleted"
	case "R":
		d.Status, d.OldPath = "renamed", paths[0]
	default: // M, T (type change)
		d.Status = "modified"
	}
	return d
}

// splitPatches cuts git's patch output into one chunk per file. Every file's chunk starts with a
// "diff --git " line, and no line of hunk content can (those start with ' ', '+', '-' or '\').
func splitPatches(out []byte) []string {
	text := string(out)
	if text == "" {
		return nil
	}
	var patches []string
	for {
		next := strings.Index(text[1:], "\ndiff --git ")
		if next < 0 {
			return append(patches, text)
		}
		patches = append(patches, text[:next+2])
		text = text[next+2:]
	}
}

// isBinaryPatch reports whether a file's patch is git's "Binary files a/x and b/x differ" stanza.
func isBinaryPatch(p string) bool {
	for _, line := range strings.Split(p, "\n") {
		if strings.HasPrefix(line, "@@") {
			return false
		}
		if strings.HasPrefix(line, "Binary files ") && strings.HasSuffix(line, " differ") {
			return true
		}
	}
	return false
}
