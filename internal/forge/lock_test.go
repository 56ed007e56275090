package forge

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStaleRefLock covers a process stopped while git held the main branch's lock: a lock file that old
// is removed and the write goes through, while a fresh one — a live writer's — is left alone.
func TestStaleRefLock(t *testing.T) {
	r := newRepo(t, newForge(t, Options{}), "platform")
	tip := commitFiles(t, r, "main", "", "", map[string]string{"a": "1"})
	lock := filepath.Join(r.path, "refs", "heads", "main.lock")

	if err := os.WriteFile(lock, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := r.Commit(context.Background(), CommitOptions{Branch: "main", Parent: tip, Message: "m", Author: testAuthor,
		Changes: []Change{{Path: "a", Content: []byte("2")}}})
	if err == nil || !strings.Contains(err.Error(), "File exists") {
		t.Fatalf("with a fresh lock: got %v, want git's lock error", err)
	}
	if _, err := os.Stat(lock); err != nil {
		t.Fatalf("a fresh lock was removed: %v", err)
	}

	old := time.Now().Add(-time.Minute)
	os.Chtimes(lock, old, old)
	tip = commitFiles(t, r, "main", tip, "", map[string]string{"a": "2"})
	if _, err := os.Stat(lock); !os.IsNotExist(err) {
		t.Errorf("the stale lock is still there: %v", err)
	}
	if got, _ := r.ReadFile(context.Background(), tip, "a"); string(got) != "2" {
		t.Errorf("after the stale lock: a = %q, want 2", got)
	}
}
