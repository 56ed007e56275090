package forge

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func TestValidateRepoName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		wantErr string
	}{
		{name: "platform"},
		{name: "team-a.apps_v2"},
		{name: "0"},
		{name: strings.Repeat("a", 100)},
		{name: "", wantErr: "must not be empty"},
		{name: strings.Repeat("a", 101), wantErr: "at most 100"},
		{name: "Platform", wantErr: "[a-z0-9][a-z0-9._-]*"},
		{name: "-x", wantErr: "[a-z0-9][a-z0-9._-]*"},
		{name: ".hidden", wantErr: "[a-z0-9][a-z0-9._-]*"},
		{name: "a..b", wantErr: `".."`},
		{name: "payments/orders"},
		{name: "a/b/c", wantErr: "at most one"},
		{name: "/b", wantErr: "non-empty"},
		{name: "a/", wantErr: "non-empty"},
		{name: "a.git/b", wantErr: ".git"},
		{name: "A/b", wantErr: "[a-z0-9][a-z0-9._-]*"},
		{name: "x.git", wantErr: `".git"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateRepoName(tt.name)
			if tt.wantErr == "" && err != nil {
				t.Errorf("ValidateRepoName(%q) = %v, want nil", tt.name, err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("ValidateRepoName(%q) = %v, want error containing %q", tt.name, err, tt.wantErr)
			}
		})
	}
}

func TestCreateRepoAndList(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newForge(t, Options{})
	created, err := f.CreateRepo(ctx, "platform", "")
	if err != nil || !created {
		t.Fatalf("CreateRepo = %v, %v; want true, nil", created, err)
	}
	created, err = f.CreateRepo(ctx, "platform", "")
	if err != nil || created {
		t.Errorf("second CreateRepo = %v, %v; want false, nil (idempotent)", created, err)
	}
	if _, err := f.CreateRepo(ctx, "apps", "trunk"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.CreateRepo(ctx, "Bad", ""); err == nil {
		t.Errorf("CreateRepo(Bad) succeeded, want name error")
	}
	if _, err := f.CreateRepo(ctx, "bad-branch", "a..b"); err == nil || !strings.Contains(err.Error(), "defaultBranch") {
		t.Errorf("CreateRepo with branch a..b = %v, want defaultBranch error", err)
	}

	repos, err := f.Repos()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"apps", "platform"}; !reflect.DeepEqual(repos, want) {
		t.Errorf("Repos() = %v, want %v", repos, want)
	}
	if _, err := f.Repo("missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Repo(missing) = %v, want ErrNotFound", err)
	}

	// The default branch is HEAD: the first commit to it is what a clone checks out.
	apps, _ := f.Repo("apps")
	sha := commitFiles(t, apps, "trunk", "", "", map[string]string{"a": "a"})
	if got, err := apps.ResolveRef(ctx, "HEAD"); err != nil || got != sha {
		t.Errorf("HEAD = %s, %v; want trunk tip %s", got, err, sha)
	}
}

func TestCreateRepoConcurrently(t *testing.T) {
	t.Parallel()
	f := newForge(t, Options{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	createdCount := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			created, err := f.CreateRepo(context.Background(), "platform", "main")
			if err != nil {
				t.Errorf("CreateRepo: %v", err)
			}
			if created {
				mu.Lock()
				createdCount++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if createdCount != 1 {
		t.Errorf("%d concurrent CreateRepo calls reported created, want exactly 1", createdCount)
	}
}

func TestNewChecksGit(t *testing.T) {
	t.Parallel()
	fakeGit := func(version string) string {
		p := filepath.Join(t.TempDir(), "git")
		if err := os.WriteFile(p, []byte("#!/bin/sh\necho '"+version+"'\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, gitPath, wantErr string
	}{
		{name: "missing", gitPath: filepath.Join(t.TempDir(), "no-git"), wantErr: "git >= 2.38 is required but was not found"},
		{name: "too old", gitPath: fakeGit("git version 2.30.2"), wantErr: "git 2.30 at"},
		{name: "unparsable", gitPath: fakeGit("hello"), wantErr: "cannot parse git version"},
		{name: "new enough", gitPath: fakeGit("git version 2.45.1.windows.1")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(t.TempDir(), Options{GitPath: tt.gitPath})
			if tt.wantErr == "" && err != nil {
				t.Errorf("New = %v, want nil", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("New = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestCommit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newForge(t, Options{})
	r := newRepo(t, f, "platform")
	old := commitFiles(t, r, "main", "", "", map[string]string{"README.md": "old\n"})
	root := commitFiles(t, r, "main", old, "", map[string]string{"README.md": "hi\n", "apps/api.yaml": "api\n", "bin/run": "#!/bin/sh\n"})

	tests := []struct {
		name    string
		opts    CommitOptions
		wantErr error  // errors.Is target
		wantMsg string // substring of the error
	}{
		{name: "stale parent", opts: CommitOptions{Branch: "main", Parent: old, Changes: []Change{{Path: "x", Content: []byte("x")}}}, wantErr: ErrConflict},
		{name: "unknown parent", opts: CommitOptions{Branch: "main", Parent: strings.Repeat("1", 40), Changes: []Change{{Path: "x", Content: []byte("x")}}}, wantErr: ErrNotFound},
		{name: "branch exists but no parent", opts: CommitOptions{Branch: "main", Changes: []Change{{Path: "x", Content: []byte("x")}}}, wantErr: ErrConflict},
		{name: "same content", opts: CommitOptions{Branch: "main", Parent: root, Changes: []Change{{Path: "README.md", Content: []byte("hi\n")}}}, wantErr: ErrNoChanges},
		{name: "delete missing file", opts: CommitOptions{Branch: "main", Parent: root, Changes: []Change{{Path: "nope", Delete: true}}}, wantErr: ErrNoChanges},
		{name: "no changes", opts: CommitOptions{Branch: "main", Parent: root}, wantErr: ErrNoChanges},
		{name: "missing base", opts: CommitOptions{Branch: "new", Base: "nope", Changes: []Change{{Path: "x", Content: []byte("x")}}}, wantErr: ErrNotFound},
		{name: "dotdot path", opts: CommitOptions{Branch: "main", Parent: root, Changes: []Change{{Path: "../x", Content: []byte("x")}}}, wantMsg: `Changes[0]: path "../x": must not contain ".." components`},
		{name: "absolute path", opts: CommitOptions{Branch: "main", Parent: root, Changes: []Change{{Path: "/etc/x"}}}, wantMsg: "must be relative"},
		{name: ".git component", opts: CommitOptions{Branch: "main", Parent: root, Changes: []Change{{Path: "a/.GIT/config"}}}, wantMsg: "must not contain a .git component"},
		{name: "dot component", opts: CommitOptions{Branch: "main", Parent: root, Changes: []Change{{Path: "a/./b"}}}, wantMsg: `"." components`},
		{name: "double slash", opts: CommitOptions{Branch: "main", Parent: root, Changes: []Change{{Path: "a//b"}}}, wantMsg: "empty components"},
		{name: "newline", opts: CommitOptions{Branch: "main", Parent: root, Changes: []Change{{Path: "a\nb"}}}, wantMsg: "must not contain"},
		{name: "duplicate path", opts: CommitOptions{Branch: "main", Parent: root, Changes: []Change{{Path: "a"}, {Path: "a"}}}, wantMsg: "appears more than once"},
		{name: "bad mode", opts: CommitOptions{Branch: "main", Parent: root, Changes: []Change{{Path: "a", Mode: "100600"}}}, wantMsg: `mode "100600"`},
		{name: "file under a file", opts: CommitOptions{Branch: "main", Parent: root, Changes: []Change{{Path: "README.md/x", Content: []byte("x")}}}, wantMsg: `"README.md" is a file in the parent commit`},
		{name: "file over a directory", opts: CommitOptions{Branch: "main", Parent: root, Changes: []Change{{Path: "apps", Content: []byte("x")}}}, wantMsg: `"apps": is a directory`},
		{name: "bad branch", opts: CommitOptions{Branch: "a..b", Changes: []Change{{Path: "x"}}}, wantMsg: "Branch:"},
		{name: "short parent", opts: CommitOptions{Branch: "main", Parent: root[:7]}, wantMsg: "Parent"},
		{name: "no message", opts: CommitOptions{Branch: "main", Parent: root, Message: " "}, wantMsg: "Message must not be empty"},
		{name: "no author", opts: CommitOptions{Branch: "main", Parent: root, Author: Signature{Email: "x@y"}}, wantMsg: "Author.Name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.opts
			if o.Message == "" {
				o.Message = "change"
			}
			if o.Author == (Signature{}) {
				o.Author = testAuthor
			}
			_, err := r.Commit(ctx, o)
			if err == nil {
				t.Fatalf("Commit succeeded, want error")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("Commit error = %v, want %v", err, tt.wantErr)
			}
			if tt.wantMsg != "" && !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Commit error = %v, want it to contain %q", err, tt.wantMsg)
			}
			if got := tip(t, r, "main"); got != root {
				t.Errorf("main moved to %s after a failed commit", got)
			}
		})
	}
}

func TestCommitCreatesBranchesAndFiles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newForge(t, Options{})
	r := newRepo(t, f, "platform")
	root := commitFiles(t, r, "main", "", "", map[string]string{"README.md": "hi\n", "apps/api.yaml": "api\n"})

	// A request branch starts from main and carries the requested changes.
	sha, err := r.Commit(ctx, CommitOptions{
		Branch: "request/rds-dev-orders-1", Base: "main", Message: "Request an RDS instance\n\nFor orders.",
		Author: testAuthor,
		Changes: []Change{
			{Path: "requests/rds/orders.yaml", Content: []byte("kind: RDSRequest\n")},
			{Path: "scripts/migrate.sh", Content: []byte("#!/bin/sh\n"), Mode: "100755"},
			{Path: "apps/api.yaml", Delete: true},
		},
	})
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	files, err := r.ReadTree(ctx, sha, "")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, fl := range files {
		got[fl.Path] = fl.Mode + " " + string(fl.Content)
	}
	want := map[string]string{
		"README.md":                "100644 hi\n",
		"requests/rds/orders.yaml": "100644 kind: RDSRequest\n",
		"scripts/migrate.sh":       "100755 #!/bin/sh\n",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("tree after commit = %v, want %v", got, want)
	}
	log, err := r.Log(ctx, "request/rds-dev-orders-1", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 2 || !reflect.DeepEqual(log[0].Parents, []string{root}) {
		t.Fatalf("log = %+v, want 2 commits with the new one's parent %s", log, root)
	}
	if log[0].Message != "Request an RDS instance\n\nFor orders." {
		t.Errorf("message = %q, want the full message", log[0].Message)
	}
	if log[0].Author.Name != testAuthor.Name || log[0].Author.Email != testAuthor.Email || !log[0].Author.When.Equal(testAuthor.When) {
		t.Errorf("author = %+v, want %+v", log[0].Author, testAuthor)
	}

	// An orphan branch has no parent; AllowEmpty permits a commit without changes.
	orphan, err := r.Commit(ctx, CommitOptions{Branch: "state", Message: "init", Author: testAuthor, AllowEmpty: true})
	if err != nil {
		t.Fatalf("empty orphan commit: %v", err)
	}
	log, _ = r.Log(ctx, orphan, 10)
	if len(log) != 1 || len(log[0].Parents) != 0 {
		t.Errorf("orphan log = %+v, want one root commit", log)
	}

	// Replacing a file by a directory in one commit is fine when the file is deleted too.
	_, err = r.Commit(ctx, CommitOptions{Branch: "main", Parent: root, Message: "dir", Author: testAuthor,
		Changes: []Change{{Path: "README.md", Delete: true}, {Path: "README.md/index", Content: []byte("x")}}})
	if err != nil {
		t.Errorf("replacing a file by a directory: %v", err)
	}
}

func TestReadFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newForge(t, Options{})
	r := newRepo(t, f, "platform")
	sha := commitFiles(t, r, "main", "", "", map[string]string{"apps/my api.yaml": "api\n", "empty": ""})
	tests := []struct {
		name, rev, path, want string
		wantErr               error
	}{
		{name: "by branch", rev: "main", path: "apps/my api.yaml", want: "api\n"},
		{name: "by sha", rev: sha, path: "apps/my api.yaml", want: "api\n"},
		{name: "by short sha", rev: sha[:8], path: "apps/my api.yaml", want: "api\n"},
		{name: "empty file", rev: "main", path: "empty", want: ""},
		{name: "missing path", rev: "main", path: "apps/nope.yaml", wantErr: ErrNotFound},
		{name: "directory", rev: "main", path: "apps", wantErr: ErrNotFound},
		{name: "missing rev", rev: "nope", path: "empty", wantErr: ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.ReadFile(ctx, tt.rev, tt.path)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ReadFile error = %v, want %v", err, tt.wantErr)
			}
			if string(got) != tt.want {
				t.Errorf("ReadFile = %q, want %q", got, tt.want)
			}
		})
	}
	if _, err := r.ReadFile(ctx, "--output=/tmp/x", "empty"); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("ReadFile with an option-like rev = %v, want a validation error", err)
	}
}

// A tag pushed under a branch's name must not change what "main" means.
func TestResolveRefPrefersBranches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newForge(t, Options{})
	r := newRepo(t, f, "platform")
	good := commitFiles(t, r, "main", "", "", map[string]string{"state.yaml": "good\n"})
	evil := commitFiles(t, r, "evil", "", "", map[string]string{"state.yaml": "evil\n"})
	if err := r.UpdateRef(ctx, "refs/tags/main", evil, ""); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ rev, want string }{
		{rev: "main", want: good},
		{rev: "refs/heads/main", want: good},
		{rev: "refs/tags/main", want: evil},
		{rev: "evil", want: evil},
		{rev: good, want: good},
		{rev: good[:10], want: good},
	}
	for _, tt := range tests {
		t.Run(tt.rev, func(t *testing.T) {
			if got, err := r.ResolveRef(ctx, tt.rev); err != nil || got != tt.want {
				t.Errorf("ResolveRef(%q) = %s, %v; want %s", tt.rev, got, err, tt.want)
			}
		})
	}
	for _, rev := range []string{"main~0", "main^", "main:state.yaml", "a..b", "-x", "HEAD@{1}", "refs/heads/a b"} {
		if _, err := r.ResolveRef(ctx, rev); err == nil || errors.Is(err, ErrNotFound) {
			t.Errorf("ResolveRef(%q) = %v, want a validation error", rev, err)
		}
	}
	if got, _ := r.ReadFile(ctx, "main", "state.yaml"); string(got) != "good\n" {
		t.Errorf("ReadFile(main) = %q, want the branch's content", got)
	}
	sha, err := r.Commit(ctx, CommitOptions{Branch: "request/x", Base: "main", Message: "m", Author: testAuthor,
		Changes: []Change{{Path: "x", Content: []byte("x")}}})
	if err != nil {
		t.Fatal(err)
	}
	if log, _ := r.Log(ctx, sha, 1); log[0].Parents[0] != good {
		t.Errorf("branch from Base main has parent %s, want the main branch %s", log[0].Parents[0], good)
	}
}

func TestReadTree(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newForge(t, Options{})
	r := newRepo(t, f, "platform")
	files := seedManyFiles(t, r, 1000)

	all, err := r.ReadTree(ctx, "main", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(files) {
		t.Fatalf("ReadTree returned %d files, want %d", len(all), len(files))
	}
	for _, fl := range all {
		if want := files[fl.Path]; string(fl.Content) != want {
			t.Errorf("%s = %q, want %q", fl.Path, fl.Content, want)
		}
		if fl.Mode != "100644" || len(fl.Blob) != 40 {
			t.Errorf("%s: mode %q blob %q, want 100644 and a 40-hex blob id", fl.Path, fl.Mode, fl.Blob)
		}
	}

	tests := []struct {
		prefix string
		want   int
	}{
		{prefix: "team-1", want: 100},
		{prefix: "team-1/", want: 100},
		{prefix: "team-1/app-11.yaml", want: 1},
		{prefix: "team", want: 0},
		{prefix: "nope", want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.prefix, func(t *testing.T) {
			got, err := r.ReadTree(ctx, "main", tt.prefix)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.want {
				t.Errorf("ReadTree(%q) returned %d files, want %d", tt.prefix, len(got), tt.want)
			}
			for _, fl := range got {
				if !strings.HasPrefix(fl.Path, strings.TrimSuffix(tt.prefix, "/")) {
					t.Errorf("ReadTree(%q) returned %s", tt.prefix, fl.Path)
				}
			}
		})
	}
	if _, err := r.ReadTree(ctx, "main", "../x"); err == nil {
		t.Errorf("ReadTree with prefix ../x succeeded, want error")
	}
}

// seedManyFiles commits n small files spread over 10 directories and returns them.
func seedManyFiles(t testing.TB, r *Repo, n int) map[string]string {
	files := map[string]string{}
	var changes []Change
	for i := range n {
		p := "team-" + strconv.Itoa(i%10) + "/app-" + strconv.Itoa(i) + ".yaml"
		content := "kind: App\nname: app-" + strconv.Itoa(i) + "\n"
		files[p] = content
		changes = append(changes, Change{Path: p, Content: []byte(content)})
	}
	_, err := r.Commit(context.Background(), CommitOptions{Branch: "main", Message: "seed", Author: testAuthor, Changes: changes})
	if err != nil {
		t.Fatalf("seeding %d files: %v", n, err)
	}
	return files
}

// Big commits go through a packfile we encode ourselves; sizes cover every length-header width.
func TestCommitManyBlobsAsPack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newForge(t, Options{})
	r := newRepo(t, f, "platform")
	sizes := []int{0, 1, 15, 16, 127, 128, 2047, 2048, 1 << 16, 300000}
	want := map[string][]byte{}
	var changes []Change
	for i := range packBlobsMin + 8 {
		content := make([]byte, sizes[i%len(sizes)])
		for j := range content {
			content[j] = byte(i + j*7)
		}
		p := "blobs/" + strconv.Itoa(i)
		want[p] = content
		changes = append(changes, Change{Path: p, Content: content})
	}
	if _, err := r.Commit(ctx, CommitOptions{Branch: "main", Message: "many", Author: testAuthor, Changes: changes}); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	files, err := r.ReadTree(ctx, "main", "blobs")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(want) {
		t.Fatalf("ReadTree returned %d files, want %d", len(files), len(want))
	}
	for _, fl := range files {
		if !bytes.Equal(fl.Content, want[fl.Path]) {
			t.Errorf("%s: got %d bytes, want the %d committed", fl.Path, len(fl.Content), len(want[fl.Path]))
		}
	}
	if _, err := r.git(ctx, runOpts{}, "fsck", "--no-dangling"); err != nil {
		t.Errorf("git fsck after a packed commit: %v", err)
	}
}

func BenchmarkReadTree(b *testing.B) {
	f := newForge(b, Options{})
	r := newRepo(b, f, "platform")
	seedManyFiles(b, r, 1000)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		files, err := r.ReadTree(ctx, "main", "")
		if err != nil || len(files) != 1000 {
			b.Fatalf("ReadTree = %d files, %v", len(files), err)
		}
	}
}
