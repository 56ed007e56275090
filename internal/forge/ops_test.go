package forge

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestDiff(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newForge(t, Options{})
	r := newRepo(t, f, "platform")
	long := strings.Repeat("line\n", 20)
	base := commitFiles(t, r, "main", "", "", map[string]string{
		"keep.txt": "same\n", "edit.yaml": "size: small\n", "gone.txt": "bye\n", "old/name.txt": long, "logo.png": "\x89PNG\x00\x01",
	})
	head := commitFiles(t, r, "request/x", "", base, map[string]string{
		"edit.yaml": "size: large\n", "-gone.txt": "", "new.txt": "hello\n", "-old/name.txt": "", "new/name.txt": long + "more\n",
		"logo.png": "\x89PNG\x00\x02",
	})
	// main moves on after the branch was cut: a pull request does not show that change.
	commitFiles(t, r, "main", base, "", map[string]string{"main-only.txt": "m\n"})

	diffs, err := r.Diff(ctx, "main", "request/x")
	if err != nil {
		t.Fatal(err)
	}
	byPath := map[string]FileDiff{}
	for _, d := range diffs {
		byPath[d.Path] = d
	}
	if len(diffs) != 5 {
		t.Errorf("Diff returned %d files (%v), want 5", len(diffs), keys(byPath))
	}
	tests := []struct {
		path, status, oldPath string
		binary                bool
		patchHas              []string
	}{
		{path: "edit.yaml", status: "modified", patchHas: []string{"diff --git a/edit.yaml b/edit.yaml", "-size: small", "+size: large"}},
		{path: "gone.txt", status: "deleted", patchHas: []string{"deleted file mode 100644", "-bye"}},
		{path: "new.txt", status: "added", patchHas: []string{"new file mode 100644", "+hello"}},
		{path: "new/name.txt", status: "renamed", oldPath: "old/name.txt", patchHas: []string{"rename from old/name.txt", "+more"}},
		{path: "logo.png", status: "modified", binary: true, patchHas: []string{"Binary files differ"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			d, ok := byPath[tt.path]
			if !ok {
				t.Fatalf("%s missing from diff", tt.path)
			}
			if d.Status != tt.status || d.OldPath != tt.oldPath || d.Binary != tt.binary {
				t.Errorf("got status=%q oldPath=%q binary=%v, want %q %q %v", d.Status, d.OldPath, d.Binary, tt.status, tt.oldPath, tt.binary)
			}
			for _, want := range tt.patchHas {
				if !strings.Contains(d.Patch, want) {
					t.Errorf("patch lacks %q:\n%s", want, d.Patch)
				}
			}
			if strings.Count(d.Patch, "diff --git") > 1 {
				t.Errorf("patch holds more than one file:\n%s", d.Patch)
			}
		})
	}

	changed, err := r.ChangedFiles(ctx, "main", head)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range changed {
		if c.Patch != "" {
			t.Errorf("ChangedFiles returned a patch for %s", c.Path)
		}
		got = append(got, c.Status+" "+c.Path)
	}
	want := []string{"modified edit.yaml", "deleted gone.txt", "modified logo.png", "added new.txt", "renamed new/name.txt"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ChangedFiles = %v, want %v", got, want)
	}

	if _, err := r.Diff(ctx, "nope", head); !errors.Is(err, ErrNotFound) {
		t.Errorf("Diff from a missing base = %v, want ErrNotFound", err)
	}
}

func keys(m map[string]FileDiff) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestDiffUnrelatedHistories(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newForge(t, Options{})
	r := newRepo(t, f, "platform")
	commitFiles(t, r, "main", "", "", map[string]string{"a.txt": "a\n"})
	commitFiles(t, r, "orphan", "", "", map[string]string{"b.txt": "b\n"})
	diffs, err := r.Diff(ctx, "main", "orphan")
	if err != nil {
		t.Fatal(err)
	}
	if len(diffs) != 1 || diffs[0].Path != "b.txt" || diffs[0].Status != "added" {
		t.Errorf("Diff of unrelated branch = %+v, want only b.txt added", diffs)
	}
}

func TestMerge(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newForge(t, Options{})
	r := newRepo(t, f, "platform")
	base := commitFiles(t, r, "main", "", "", map[string]string{"shared.yaml": "a: 1\nb: 2\nc: 3\n", "other.txt": "o\n"})

	t.Run("clean", func(t *testing.T) {
		head := commitFiles(t, r, "request/clean", "", base, map[string]string{"requests/s3.yaml": "kind: S3Request\n"})
		into := commitFiles(t, r, "main", base, "", map[string]string{"other.txt": "o2\n"})
		sha, err := r.Merge(ctx, "main", into, "request/clean", "Merge request #1", testAuthor)
		if err != nil {
			t.Fatalf("Merge: %v", err)
		}
		if got := tip(t, r, "main"); got != sha {
			t.Errorf("main = %s, want merge commit %s", got, sha)
		}
		log, _ := r.Log(ctx, sha, 1)
		if want := []string{into, head}; !reflect.DeepEqual(log[0].Parents, want) || log[0].Message != "Merge request #1" {
			t.Errorf("merge commit parents=%v message=%q, want %v %q", log[0].Parents, log[0].Message, want, "Merge request #1")
		}
		for path, want := range map[string]string{"requests/s3.yaml": "kind: S3Request\n", "other.txt": "o2\n"} {
			if got, err := r.ReadFile(ctx, "main", path); err != nil || string(got) != want {
				t.Errorf("after merge %s = %q, %v; want %q", path, got, err, want)
			}
		}
		if _, err := r.Merge(ctx, "main", sha, head, "", testAuthor); !errors.Is(err, ErrNoChanges) {
			t.Errorf("merging an already merged branch = %v, want ErrNoChanges", err)
		}
	})

	t.Run("three-way merge of one file", func(t *testing.T) {
		into := tip(t, r, "main")
		commitFiles(t, r, "request/a", "", into, map[string]string{"shared.yaml": "a: 10\nb: 2\nc: 3\n"})
		next := commitFiles(t, r, "main", into, "", map[string]string{"shared.yaml": "a: 1\nb: 2\nc: 30\n"})
		if _, err := r.Merge(ctx, "main", next, "request/a", "", testAuthor); err != nil {
			t.Fatalf("Merge: %v", err)
		}
		if got, _ := r.ReadFile(ctx, "main", "shared.yaml"); string(got) != "a: 10\nb: 2\nc: 30\n" {
			t.Errorf("merged shared.yaml = %q, want both sides' lines", got)
		}
	})

	t.Run("conflict", func(t *testing.T) {
		into := tip(t, r, "main")
		commitFiles(t, r, "request/b", "", into, map[string]string{"shared.yaml": "a: theirs\n", "other.txt": "theirs\n"})
		next := commitFiles(t, r, "main", into, "", map[string]string{"shared.yaml": "a: ours\n", "other.txt": "ours\n"})
		_, err := r.Merge(ctx, "main", next, "request/b", "", testAuthor)
		var conflict *MergeConflictError
		if !errors.As(err, &conflict) {
			t.Fatalf("Merge = %v, want *MergeConflictError", err)
		}
		if want := []string{"other.txt", "shared.yaml"}; !reflect.DeepEqual(conflict.Paths, want) {
			t.Errorf("conflict paths = %v, want %v", conflict.Paths, want)
		}
		if got := tip(t, r, "main"); got != next {
			t.Errorf("main moved to %s on a conflicting merge, want %s", got, next)
		}
	})

	t.Run("into moved", func(t *testing.T) {
		into := tip(t, r, "main")
		commitFiles(t, r, "request/c", "", into, map[string]string{"c.txt": "c\n"})
		moved := commitFiles(t, r, "main", into, "", map[string]string{"d.txt": "d\n"})
		if _, err := r.Merge(ctx, "main", into, "request/c", "", testAuthor); !errors.Is(err, ErrConflict) {
			t.Errorf("Merge with stale expectedInto = %v, want ErrConflict", err)
		}
		if got := tip(t, r, "main"); got != moved {
			t.Errorf("main = %s, want untouched %s", got, moved)
		}
	})

	t.Run("fast-forward", func(t *testing.T) {
		into := tip(t, r, "main")
		head := commitFiles(t, r, "request/ff", "", into, map[string]string{"ff.txt": "ff\n"})
		sha, err := r.MergeWith(ctx, MergeOptions{Into: "main", ExpectedInto: into, Head: "request/ff", Author: testAuthor, FastForward: true})
		if err != nil || sha != head {
			t.Errorf("fast-forward merge = %s, %v; want %s", sha, err, head)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		into := tip(t, r, "main")
		for _, tc := range []struct{ into, expected, head, want string }{
			{into: "", expected: into, head: "main", want: "into"},
			{into: "main", expected: "abc", head: "main", want: "expectedInto"},
			{into: "main", expected: into, head: "-x", want: "head"},
			{into: "main", expected: into, head: "nope", want: "not found"},
		} {
			if _, err := r.Merge(ctx, tc.into, tc.expected, tc.head, "", testAuthor); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Merge(%q, %q, %q) = %v, want error mentioning %q", tc.into, tc.expected, tc.head, err, tc.want)
			}
		}
	})
}

// Ten writers race on one branch; each retries on ErrConflict. Every commit must survive.
func TestConcurrentCommits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newForge(t, Options{})
	r := newRepo(t, f, "platform")
	commitFiles(t, r, "main", "", "", map[string]string{"README.md": "hi\n"})

	const writers = 10
	var wg sync.WaitGroup
	var mu sync.Mutex
	conflicts := 0
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for attempt := 0; ; attempt++ {
				parent, err := r.ResolveRef(ctx, "refs/heads/main")
				if err != nil {
					t.Errorf("writer %d: %v", i, err)
					return
				}
				_, err = r.Commit(ctx, CommitOptions{Branch: "main", Parent: parent, Message: fmt.Sprint("writer ", i),
					Author: testAuthor, Changes: []Change{{Path: fmt.Sprintf("w/%d.txt", i), Content: []byte(fmt.Sprint(i))}}})
				if err == nil {
					return
				}
				if !errors.Is(err, ErrConflict) || attempt > 100 {
					t.Errorf("writer %d: %v", i, err)
					return
				}
				mu.Lock()
				conflicts++
				mu.Unlock()
				// Back off with jitter, as a real caller would.
				time.Sleep(time.Duration(rand.IntN(50*(attempt+1))) * time.Millisecond)
			}
		}()
	}
	wg.Wait()

	files, err := r.ReadTree(ctx, "main", "w")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != writers {
		t.Errorf("main has %d writer files, want %d (a commit was lost)", len(files), writers)
	}
	log, _ := r.Log(ctx, "main", 0)
	if len(log) != writers+1 {
		t.Errorf("main has %d commits, want %d", len(log), writers+1)
	}
	t.Logf("%d conflicts retried", conflicts)
}

func TestUpdateRefAndDeleteBranch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newForge(t, Options{})
	r := newRepo(t, f, "platform")
	a := commitFiles(t, r, "main", "", "", map[string]string{"a": "a"})
	b := commitFiles(t, r, "main", a, "", map[string]string{"b": "b"})

	tests := []struct {
		name, ref, newSHA, oldSHA string
		wantErr                   error
		wantMsg                   string
	}{
		{name: "create", ref: "refs/heads/x", newSHA: a},
		{name: "create existing", ref: "x", newSHA: b, wantErr: ErrConflict},
		{name: "move with right old", ref: "x", newSHA: b, oldSHA: a},
		{name: "move with stale old", ref: "refs/heads/x", newSHA: a, oldSHA: a, wantErr: ErrConflict},
		{name: "tag", ref: "refs/tags/v1", newSHA: a},
		{name: "unknown object", ref: "y", newSHA: strings.Repeat("e", 40), wantMsg: "update-ref"},
		{name: "bad ref", ref: "refs/heads/a..b", newSHA: a, wantMsg: "not a valid git ref name"},
		{name: "short sha", ref: "y", newSHA: a[:7], wantMsg: "newSHA"},
		{name: "delete without old", ref: "x", wantMsg: "oldSHA is required"},
		{name: "delete with stale old", ref: "x", oldSHA: a, wantErr: ErrConflict},
		{name: "delete", ref: "x", oldSHA: b},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := r.UpdateRef(ctx, tt.ref, tt.newSHA, tt.oldSHA)
			switch {
			case tt.wantErr == nil && tt.wantMsg == "" && err != nil:
				t.Errorf("UpdateRef = %v, want nil", err)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Errorf("UpdateRef = %v, want %v", err, tt.wantErr)
			case tt.wantMsg != "" && (err == nil || !strings.Contains(err.Error(), tt.wantMsg)):
				t.Errorf("UpdateRef = %v, want error containing %q", err, tt.wantMsg)
			}
		})
	}
	if _, err := r.ResolveRef(ctx, "refs/heads/x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("x after delete: %v, want ErrNotFound", err)
	}

	commitFiles(t, r, "request/done", "", "main", map[string]string{"c": "c"})
	if err := r.DeleteBranch(ctx, "request/done", a); !errors.Is(err, ErrConflict) {
		t.Errorf("DeleteBranch with stale expected = %v, want ErrConflict", err)
	}
	if err := r.DeleteBranch(ctx, "request/done", ""); err != nil {
		t.Errorf("DeleteBranch = %v", err)
	}
	if err := r.DeleteBranch(ctx, "request/done", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("DeleteBranch of a deleted branch = %v, want ErrNotFound", err)
	}
	if err := r.DeleteBranch(ctx, "main", ""); err == nil || !strings.Contains(err.Error(), "default branch") {
		t.Errorf("DeleteBranch(main) = %v, want refusal", err)
	}
	branches, _ := r.Branches(ctx)
	if want := map[string]string{"main": b}; !reflect.DeepEqual(branches, want) {
		t.Errorf("Branches = %v, want %v", branches, want)
	}
}

func TestLogAndMergeBase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newForge(t, Options{})
	r := newRepo(t, f, "platform")
	var shas []string
	parent := ""
	for i := range 5 {
		sha, err := r.Commit(ctx, CommitOptions{Branch: "main", Parent: parent, Message: fmt.Sprintf("commit %d\n\nbody with \x1f separator", i),
			Author: testAuthor, Changes: []Change{{Path: "n", Content: []byte(fmt.Sprint(i))}}})
		if err != nil {
			t.Fatal(err)
		}
		shas, parent = append(shas, sha), sha
	}
	log, err := r.Log(ctx, "main", 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 3 {
		t.Fatalf("Log(3) returned %d commits", len(log))
	}
	for i, c := range log {
		want := shas[4-i]
		if c.SHA != want || c.Message != fmt.Sprintf("commit %d\n\nbody with \x1f separator", 4-i) {
			t.Errorf("log[%d] = %s %q, want %s commit %d", i, c.SHA, c.Message, want, 4-i)
		}
	}
	branch := commitFiles(t, r, "side", "", shas[2], map[string]string{"s": "s"})
	if mb, err := r.MergeBase(ctx, "main", branch); err != nil || mb != shas[2] {
		t.Errorf("MergeBase = %s, %v; want %s", mb, err, shas[2])
	}
	orphan := commitFiles(t, r, "orphan", "", "", map[string]string{"o": "o"})
	if _, err := r.MergeBase(ctx, "main", orphan); !errors.Is(err, ErrNotFound) {
		t.Errorf("MergeBase of unrelated commits = %v, want ErrNotFound", err)
	}
	if _, err := r.Log(ctx, "nope", 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("Log(nope) = %v, want ErrNotFound", err)
	}
}
