package forge

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
)

// fastResolve answers ResolveRef without starting git when it safely can: a full sha already known to be
// a commit, or a branch read straight from the ref files. Starting git costs ~10 ms on a small VM and a
// change request's evaluation resolves refs a dozen times; everything else falls back to git.
func (r *Repo) fastResolve(ref string) (string, bool) {
	if isFullSHA(ref) {
		_, ok := r.f.commits.Load(r.path + "\x00" + ref)
		return ref, ok
	}
	branch, ok := strings.CutPrefix(ref, "refs/heads/")
	if !ok {
		branch = ref
	}
	if ValidateBranchName(branch) != nil {
		return "", false
	}
	sha, ok := r.readBranch(branch)
	if !ok {
		return "", false
	}
	// Branch tips are commits: git refuses to point refs/heads/ at anything else.
	r.f.commits.Store(r.path+"\x00"+sha, struct{}{})
	return sha, true
}

// readBranch reads refs/heads/<branch> from the loose ref file, then from packed-refs (git writes both
// atomically by rename, and packs a ref before deleting its loose file, so this order never misses one).
func (r *Repo) readBranch(branch string) (string, bool) {
	ref := "refs/heads/" + branch
	raw, err := os.ReadFile(filepath.Join(r.path, filepath.FromSlash(ref)))
	if err == nil {
		sha := strings.TrimSpace(string(raw))
		return sha, isFullSHA(sha)
	}
	if !os.IsNotExist(err) {
		return "", false
	}
	packed, err := os.ReadFile(filepath.Join(r.path, "packed-refs"))
	if err != nil {
		return "", false
	}
	sc := bufio.NewScanner(bytes.NewReader(packed))
	for sc.Scan() {
		sha, name, ok := strings.Cut(sc.Text(), " ")
		if ok && name == ref && isFullSHA(sha) {
			return sha, true
		}
	}
	return "", false
}
