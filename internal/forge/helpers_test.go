package forge

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var testAuthor = Signature{Name: "Ada Lovelace", Email: "ada@example.com", When: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}

func newForge(t testing.TB, opts Options) *Forge {
	t.Helper()
	f, err := New(t.TempDir(), opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return f
}

func newRepo(t testing.TB, f *Forge, name string) *Repo {
	t.Helper()
	if _, err := f.CreateRepo(context.Background(), name, "main"); err != nil {
		t.Fatalf("CreateRepo(%q): %v", name, err)
	}
	r, err := f.Repo(name)
	if err != nil {
		t.Fatalf("Repo(%q): %v", name, err)
	}
	return r
}

// commitFiles commits files (path -> content; "" content with a "-" prefix key deletes) on top of
// parent ("" creates the branch from base) and returns the new sha.
func commitFiles(t testing.TB, r *Repo, branch, parent, base string, files map[string]string) string {
	t.Helper()
	var changes []Change
	for p, c := range files {
		if del, ok := strings.CutPrefix(p, "-"); ok {
			changes = append(changes, Change{Path: del, Delete: true})
			continue
		}
		changes = append(changes, Change{Path: p, Content: []byte(c)})
	}
	sha, err := r.Commit(context.Background(), CommitOptions{
		Branch: branch, Parent: parent, Base: base, Message: "test commit", Author: testAuthor, Changes: changes,
	})
	if err != nil {
		t.Fatalf("Commit to %s: %v", branch, err)
	}
	return sha
}

func tip(t testing.TB, r *Repo, branch string) string {
	t.Helper()
	sha, err := r.ResolveRef(context.Background(), "refs/heads/"+branch)
	if err != nil {
		t.Fatalf("ResolveRef(%s): %v", branch, err)
	}
	return sha
}

// gitClient runs the real git CLI as a developer would, with its own empty HOME.
type gitClient struct {
	t    *testing.T
	home string
	env  []string
}

func newGitClient(t *testing.T) *gitClient {
	home := t.TempDir()
	return &gitClient{t: t, home: home, env: []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + home,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_ASKPASS=",
		"LC_ALL=C",
		"GIT_AUTHOR_NAME=Dev", "GIT_AUTHOR_EMAIL=dev@example.com",
		"GIT_COMMITTER_NAME=Dev", "GIT_COMMITTER_EMAIL=dev@example.com",
	}}
}

// run runs git in dir and returns stdout and stderr; err is non-nil when git fails.
func (c *gitClient) run(dir string, args ...string) (stdout, stderr string, err error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = c.env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// must runs git and fails the test if it fails.
func (c *gitClient) must(dir string, args ...string) string {
	c.t.Helper()
	out, errOut, err := c.run(dir, args...)
	if err != nil {
		c.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	return strings.TrimSpace(out)
}

// clone clones url into a new directory and returns it.
func (c *gitClient) clone(url string, args ...string) string {
	c.t.Helper()
	dir := filepath.Join(c.t.TempDir(), "clone")
	c.must(c.home, append(append([]string{"clone"}, args...), url, dir)...)
	return dir
}

// commitFile writes path in the work tree dir and commits it.
func (c *gitClient) commitFile(dir, path, content, msg string) string {
	c.t.Helper()
	full := filepath.Join(dir, path)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
		c.t.Fatal(err)
	}
	c.must(dir, "add", path)
	c.must(dir, "commit", "-q", "-m", msg)
	return c.must(dir, "rev-parse", "HEAD")
}

func newServer(t *testing.T, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// withUser puts Basic credentials into a server URL the way developers paste them.
func withUser(url, user, pass string) string {
	return strings.Replace(url, "http://", "http://"+user+":"+pass+"@", 1)
}

// localCommits adds n commits on top of HEAD's branch in one fast-import process.
func (c *gitClient) localCommits(dir string, n int) {
	c.t.Helper()
	branch := c.must(dir, "symbolic-ref", "HEAD")
	var stream strings.Builder
	now := time.Now().Unix()
	for i := range n {
		fmt.Fprintf(&stream, "commit %s\ncommitter Dev <dev@example.com> %d +0000\ndata 6\nlocal\n", branch, now+int64(i))
		if i == 0 {
			fmt.Fprintf(&stream, "from %s^0\n", branch)
		}
		content := fmt.Sprint(i)
		fmt.Fprintf(&stream, "M 644 inline local.txt\ndata %d\n%s\n\n", len(content), content)
	}
	cmd := exec.Command("git", "fast-import", "--quiet")
	cmd.Dir, cmd.Env, cmd.Stdin = dir, c.env, strings.NewReader(stream.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		c.t.Fatalf("git fast-import: %v\n%s", err, out)
	}
	c.must(dir, "reset", "-q", "--hard")
}
