package forge

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestCreateRepoWithCommit(t *testing.T) {
	ctx := context.Background()
	f := newForge(t, Options{})
	changes := []Change{
		{Path: "main.go", Content: []byte("package main\n")},
		{Path: "scripts/run.sh", Content: []byte("#!/bin/sh\necho hi\n"), Mode: "100755"},
		{Path: "docs/ä file.md", Content: []byte("unicode and a space\n")},
		{Path: "empty.txt", Content: nil},
	}
	sha, created, err := f.CreateRepoWithCommit(ctx, "payments/orders", "main", CommitOptions{
		Message: "initial commit", Author: testAuthor, Changes: changes})
	if err != nil || !created || len(sha) != 40 {
		t.Fatalf("CreateRepoWithCommit = %q, %v, %v", sha, created, err)
	}
	r, err := f.Repo("payments/orders")
	if err != nil {
		t.Fatal(err)
	}
	if tipSHA := tip(t, r, "main"); tipSHA != sha {
		t.Errorf("main = %s, want %s", tipSHA, sha)
	}
	files, err := r.ReadTree(ctx, "main", "")
	if err != nil || len(files) != len(changes) {
		t.Fatalf("ReadTree = %v, %v", files, err)
	}
	for _, fl := range files {
		if fl.Path == "scripts/run.sh" && fl.Mode != "100755" {
			t.Errorf("run.sh mode %s, want 100755", fl.Mode)
		}
	}
	if got, _ := r.ReadFile(ctx, "main", "docs/ä file.md"); string(got) != "unicode and a space\n" {
		t.Errorf("unicode path content = %q", got)
	}
	// The real git client reads it, and git fsck finds nothing wrong.
	g := newGitClient(t)
	srv := newServer(t, f)
	dir := g.clone(srv.URL + "/git/payments/orders.git")
	if b, err := os.ReadFile(filepath.Join(dir, "main.go")); err != nil || string(b) != "package main\n" {
		t.Errorf("cloned main.go = %q, %v", b, err)
	}
	// git accepts what was written by hand: fsck finds nothing wrong and verify-pack checks the index.
	for _, args := range [][]string{{"fsck", "--strict", "--no-dangling"}, {"count-objects", "-v"}} {
		if out, err := f.run(ctx, runOpts{gitDir: r.path}, args...); err != nil {
			t.Errorf("git %v: %v %s", args, err, out)
		}
	}
	packs, _ := filepath.Glob(filepath.Join(r.path, "objects", "pack", "*.idx"))
	if len(packs) != 1 {
		t.Fatalf("packs = %v, want one", packs)
	}
	if out, err := f.run(ctx, runOpts{gitDir: r.path}, "verify-pack", "-v", packs[0]); err != nil {
		t.Errorf("git verify-pack: %v %s", err, out)
	}
	// A second create leaves the repository alone.
	_, created, err = f.CreateRepoWithCommit(ctx, "payments/orders", "main", CommitOptions{Message: "again", Author: testAuthor, Changes: changes[:1]})
	if err != nil || created {
		t.Errorf("second create: created=%v, %v", created, err)
	}
	if _, _, err := f.CreateRepoWithCommit(ctx, "x", "main", CommitOptions{Message: "m", Author: testAuthor, Changes: []Change{{Path: "../evil"}}}); err == nil {
		t.Error("a path leaving the repository was accepted")
	}
}
