package forge

import (
	"bytes"
	"fmt"
	"testing"
)

func TestReadCache(t *testing.T) {
	var c readCache
	c.put("r", "c1", "a.yaml", []byte("one"))
	got, ok := c.get("r", "c1", "a.yaml")
	if !ok || string(got) != "one" {
		t.Fatalf("get after put: %q %v", got, ok)
	}
	got[0] = 'X' // callers get copies
	if again, _ := c.get("r", "c1", "a.yaml"); string(again) != "one" {
		t.Errorf("a caller's edit reached the cache: %q", again)
	}
	if _, ok := c.get("r", "c2", "a.yaml"); ok {
		t.Error("another commit's file was served")
	}
	c.put("r", "c1", "big", bytes.Repeat([]byte("x"), readCacheMaxFile+1))
	if _, ok := c.get("r", "c1", "big"); ok {
		t.Error("a file above the per-file limit was kept")
	}

	// Filling past the byte limit evicts the least recently used entries first.
	chunk := bytes.Repeat([]byte("y"), readCacheMaxFile)
	c.get("r", "c1", "a.yaml") // a.yaml is now the most recent
	for i := range readCacheBytes/readCacheMaxFile - 1 {
		c.put("r", "c1", fmt.Sprintf("f%d", i), chunk)
		c.get("r", "c1", "a.yaml")
	}
	c.put("r", "c1", "last", chunk)
	if c.size > readCacheBytes {
		t.Errorf("cache holds %d bytes, limit %d", c.size, readCacheBytes)
	}
	if _, ok := c.get("r", "c1", "a.yaml"); !ok {
		t.Error("the most recently used entry was evicted")
	}
	if _, ok := c.get("r", "c1", "f0"); ok {
		t.Error("the least recently used entry survived")
	}
}

// TestReadFileCachedAcrossCommits checks the cache never serves a file from another commit.
func TestReadFileCachedAcrossCommits(t *testing.T) {
	f := newForge(t, Options{})
	ctx := t.Context()
	repo := newRepo(t, f, "cache")
	first := commitFiles(t, repo, "main", "", "", map[string]string{"a.txt": "v1"})
	if b, err := repo.ReadFile(ctx, "main", "a.txt"); err != nil || string(b) != "v1" {
		t.Fatalf("v1: %q %v", b, err)
	}
	commitFiles(t, repo, "main", first, "", map[string]string{"a.txt": "v2"})
	if b, err := repo.ReadFile(ctx, "main", "a.txt"); err != nil || string(b) != "v2" {
		t.Errorf("after a commit main reads %q %v, want v2", b, err)
	}
	if b, err := repo.ReadFile(ctx, first, "a.txt"); err != nil || string(b) != "v1" {
		t.Errorf("the first commit reads %q %v, want v1", b, err)
	}
}
