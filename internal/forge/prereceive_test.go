package forge

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// TestCheckPushReadsThePushedFiles: CheckPush sees a push's files before any ref moves; its refusal
// reaches the developer's git, leaves the refs alone, and an allowed push lands.
func TestCheckPushReadsThePushedFiles(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []PendingPush
	f := newForge(t, Options{
		Authorize: basicAuth,
		CheckPush: func(ctx context.Context, p PendingPush) error {
			mu.Lock()
			seen = append(seen, p)
			mu.Unlock()
			for _, u := range p.Updates {
				if u.New == ZeroSHA {
					continue
				}
				b, err := p.ReadFile(ctx, u.New, "app.txt")
				if errors.Is(err, ErrNotFound) {
					continue
				}
				if err != nil {
					return err
				}
				if strings.Contains(string(b), "taken") {
					return fmt.Errorf("app.txt at %s: the name is taken,\nchoose another", u.Ref)
				}
			}
			return nil
		},
	})
	repo := newRepo(t, f, "team/app")
	before := commitFiles(t, repo, "main", "", "", map[string]string{"README.md": "hi\n"})
	srv := newServer(t, f)
	c := newGitClient(t)
	dir := c.clone(withUser(srv.URL+"/git/team/app.git", "alice", "token"))

	refused := c.commitFile(dir, "app.txt", "name: taken\n", "take a name")
	_, stderr, err := c.run(dir, "push", "origin", "main")
	if err == nil || !strings.Contains(stderr, "remote: app.txt at refs/heads/main: the name is taken, choose another") {
		t.Fatalf("push of a taken name: err=%v, stderr:\n%s\nwant a refusal with CheckPush's message on one line", err, stderr)
	}
	if got := tip(t, repo, "main"); got != before {
		t.Errorf("main moved to %s after a refused push, want %s", got, before)
	}
	mu.Lock()
	if len(seen) != 1 || seen[0].Repo != "team/app" || seen[0].Subject != "alice" ||
		!reflect.DeepEqual(seen[0].Updates, []RefUpdate{{Ref: "refs/heads/main", Old: before, New: refused}}) {
		t.Errorf("CheckPush saw %+v", seen)
	}
	mu.Unlock()
	// The refused objects were not kept: the commit is unknown to the repository.
	if _, err := repo.ReadFile(context.Background(), refused, "app.txt"); err == nil {
		t.Errorf("the refused commit's file is readable in the repository")
	}

	allowed := c.commitFile(dir, "app.txt", "name: free\n", "take another name")
	c.must(dir, "push", "-q", "origin", "main")
	if got := tip(t, repo, "main"); got != allowed {
		t.Errorf("after an allowed push main is %s, want %s", got, allowed)
	}
	// Deleting a branch reaches CheckPush too, with no objects to read.
	c.must(dir, "push", "-q", "origin", "main:refs/heads/gone")
	c.must(dir, "push", "-q", "origin", ":refs/heads/gone")
	mu.Lock()
	last := seen[len(seen)-1]
	mu.Unlock()
	if len(last.Updates) != 1 || last.Updates[0].New != ZeroSHA {
		t.Errorf("the deletion reached CheckPush as %+v", last.Updates)
	}
}

func TestReadHookInputRefusesOddInput(t *testing.T) {
	t.Parallel()
	f := newForge(t, Options{})
	repo := newRepo(t, f, "team/app")
	req := gitRequest{repo: repo, subject: "alice"}
	sha := strings.Repeat("a", 40)
	tests := []struct{ name, in, want string }{
		{"nothing", "", "EOF"},
		{"cut short", "objects \n" + sha + " " + sha + " refs/heads/main\n", "unexpected EOF"},
		{"a quarantine elsewhere", "objects /tmp/elsewhere\nend\n", "is not in"},
		{"a quarantine next to the repository", "objects " + repo.path + "/../x\nend\n", "is not in"},
		{"a malformed update", "objects \nnot an update\nend\n", "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readHookInput(strings.NewReader(tt.in), req)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
