package forge

import (
	"context"
	"errors"
	"os/exec"
	"testing"
)

// The fast path reads branches from ref files; it must agree with git for loose and packed refs, see
// moves at once, and leave everything else (tags, unknown names, bad shas) to git.
func TestResolveRefFastPath(t *testing.T) {
	ctx := context.Background()
	f := newForge(t, Options{})
	r := newRepo(t, f, "fast")
	first := commitFiles(t, r, "main", "", "", map[string]string{"a": "1"})
	if got, err := r.ResolveRef(ctx, "main"); err != nil || got != first {
		t.Fatalf("loose ref: %s, %v; want %s", got, err, first)
	}
	if out, err := exec.Command("git", "--git-dir", r.path, "pack-refs", "--all", "--prune").CombinedOutput(); err != nil {
		t.Fatalf("pack-refs: %v %s", err, out)
	}
	if got, err := r.ResolveRef(ctx, "refs/heads/main"); err != nil || got != first {
		t.Errorf("packed ref: %s, %v; want %s", got, err, first)
	}
	second := commitFiles(t, r, "main", first, "", map[string]string{"a": "2"})
	if got, _ := r.ResolveRef(ctx, "main"); got != second {
		t.Errorf("after a commit: %s, want %s", got, second)
	}
	if _, err := r.ResolveRef(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing branch: %v", err)
	}
	if _, err := r.ResolveRef(ctx, "0123456789012345678901234567890123456789"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown sha: %v", err)
	}
	if out, err := exec.Command("git", "--git-dir", r.path, "tag", "v1", first).CombinedOutput(); err != nil {
		t.Fatalf("tag: %v %s", err, out)
	}
	if got, err := r.ResolveRef(ctx, "v1"); err != nil || got != first {
		t.Errorf("tag: %s, %v; want %s", got, err, first)
	}
}

// Owner/name repositories (a Backstage repoUrl's owner and repo) are served and listed like any other.
func TestOwnerRepos(t *testing.T) {
	ctx := context.Background()
	f := newForge(t, Options{})
	newRepo(t, f, "platform")
	r := newRepo(t, f, "payments/orders")
	commitFiles(t, r, "main", "", "", map[string]string{"README.md": "orders"})
	names, err := f.Repos()
	if err != nil || len(names) != 2 || names[0] != "payments/orders" || names[1] != "platform" {
		t.Errorf("Repos() = %v, %v", names, err)
	}
	srv := newServer(t, f)
	g := newGitClient(t)
	dir := g.clone(srv.URL + "/git/payments/orders.git")
	g.commitFile(dir, "NOTES.md", "pushed", "add notes")
	g.must(dir, "push", "origin", "main")
	if got, err := r.ReadFile(ctx, "main", "NOTES.md"); string(got) != "pushed" {
		t.Errorf("NOTES.md after push = %q, %v", got, err)
	}
}
