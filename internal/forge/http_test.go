package forge

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func TestCloneEmptyRepoThenPush(t *testing.T) {
	t.Parallel()
	f := newForge(t, Options{})
	repo := newRepo(t, f, "platform")
	srv := newServer(t, f)
	c := newGitClient(t)

	dir := c.clone(srv.URL + "/git/platform.git")
	local := c.commitFile(dir, "README.md", "hello\n", "first")
	c.must(dir, "push", "-q", "origin", "HEAD:refs/heads/main")

	if got := tip(t, repo, "main"); got != local {
		t.Errorf("server main = %s, want pushed %s", got, local)
	}
	content, err := repo.ReadFile(context.Background(), "main", "README.md")
	if err != nil || string(content) != "hello\n" {
		t.Errorf("ReadFile(README.md) = %q, %v; want %q", content, err, "hello\n")
	}
}

func TestCloneProtocolVersions(t *testing.T) {
	t.Parallel()
	f := newForge(t, Options{})
	repo := newRepo(t, f, "platform")
	sha := commitFiles(t, repo, "main", "", "", map[string]string{"apps/api.yaml": "kind: App\n", "README.md": "hi\n"})
	srv := newServer(t, f)

	tests := []struct {
		name      string
		version   string
		wantV2    bool
		urlSuffix string
	}{
		{name: "v2", version: "2", wantV2: true, urlSuffix: ".git"},
		{name: "v0", version: "0", wantV2: false, urlSuffix: ".git"},
		{name: "v1", version: "1", wantV2: false, urlSuffix: ".git"},
		{name: "v2 without .git suffix", version: "2", wantV2: true, urlSuffix: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newGitClient(t)
			c.env = append(c.env, "GIT_TRACE_PACKET=1")
			dir := filepath.Join(t.TempDir(), "clone")
			_, trace, err := c.run(c.home, "-c", "protocol.version="+tt.version, "clone", srv.URL+"/git/platform"+tt.urlSuffix, dir)
			if err != nil {
				t.Fatalf("clone: %v\n%s", err, trace)
			}
			if got := strings.Contains(trace, "< version 2"); got != tt.wantV2 {
				t.Errorf("server answered protocol v2 = %v, want %v", got, tt.wantV2)
			}
			if got := c.must(dir, "rev-parse", "HEAD"); got != sha {
				t.Errorf("cloned HEAD = %s, want %s", got, sha)
			}
			content, err := os.ReadFile(filepath.Join(dir, "apps/api.yaml"))
			if err != nil || string(content) != "kind: App\n" {
				t.Errorf("apps/api.yaml = %q, %v; want %q", content, err, "kind: App\n")
			}
		})
	}
}

func TestPartialClone(t *testing.T) {
	t.Parallel()
	f := newForge(t, Options{})
	repo := newRepo(t, f, "platform")
	commitFiles(t, repo, "main", "", "", map[string]string{"a.txt": "a\n", "b.txt": "b\n"})
	srv := newServer(t, f)
	c := newGitClient(t)

	dir := c.clone(srv.URL+"/git/platform.git", "--filter=blob:none")
	if got := c.must(dir, "config", "remote.origin.promisor"); got != "true" {
		t.Errorf("remote.origin.promisor = %q, want true (server must accept --filter)", got)
	}
	if content, err := os.ReadFile(filepath.Join(dir, "b.txt")); err != nil || string(content) != "b\n" {
		t.Errorf("b.txt = %q, %v; want %q", content, err, "b\n")
	}
}

func TestPushBranchFetchAndForcePush(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newForge(t, Options{})
	repo := newRepo(t, f, "platform")
	base := commitFiles(t, repo, "main", "", "", map[string]string{"README.md": "v1\n"})
	srv := newServer(t, f)
	c := newGitClient(t)
	dir := c.clone(srv.URL + "/git/platform.git")

	// A new branch pushed by a developer appears on the server.
	c.must(dir, "checkout", "-q", "-b", "request/s3-logs")
	feature := c.commitFile(dir, "requests/s3-logs.yaml", "kind: S3Request\n", "request a bucket")
	c.must(dir, "push", "-q", "origin", "request/s3-logs")
	branches, err := repo.Branches(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if branches["request/s3-logs"] != feature {
		t.Errorf("server branch request/s3-logs = %q, want %s", branches["request/s3-logs"], feature)
	}

	// A commit made on the server (e.g. a merge) is fetched by the developer.
	serverSHA := commitFiles(t, repo, "main", base, "", map[string]string{"README.md": "v2\n"})
	c.must(dir, "fetch", "-q", "origin")
	if got := c.must(dir, "rev-parse", "origin/main"); got != serverSHA {
		t.Errorf("fetched origin/main = %s, want %s", got, serverSHA)
	}

	// Pushing to main fast-forward works.
	c.must(dir, "checkout", "-q", "-B", "main", "origin/main")
	ff := c.commitFile(dir, "README.md", "v3\n", "v3")
	c.must(dir, "push", "-q", "origin", "main")
	if got := tip(t, repo, "main"); got != ff {
		t.Errorf("server main after push = %s, want %s", got, ff)
	}

	// A rewritten branch needs --force, and then the server takes it.
	c.must(dir, "checkout", "-q", "request/s3-logs")
	c.must(dir, "reset", "-q", "--soft", "HEAD~1")
	rewritten := c.commitFile(dir, "requests/s3-logs.yaml", "kind: S3Request\nspec: {}\n", "rewritten")
	if _, _, err := c.run(dir, "push", "-q", "origin", "request/s3-logs"); err == nil {
		t.Errorf("non-fast-forward push without --force succeeded, want rejection")
	}
	c.must(dir, "push", "-q", "--force", "origin", "request/s3-logs")
	if got := tip(t, repo, "request/s3-logs"); got != rewritten {
		t.Errorf("server branch after force push = %s, want %s", got, rewritten)
	}
}

// basicAuth accepts alice (read and write) and bob (read only), both with password "token".
func basicAuth(r *http.Request, repo string, write bool) (string, error) {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return "", ErrUnauthenticated
	}
	if pass != "token" || (user != "alice" && user != "bob") {
		return "", fmt.Errorf("%w: bad credentials", ErrUnauthenticated)
	}
	if write && user != "alice" {
		return "", fmt.Errorf("%w: %s may not push to %s", ErrDenied, user, repo)
	}
	return user, nil
}

func TestAuthorizeOverHTTP(t *testing.T) {
	t.Parallel()
	f := newForge(t, Options{Authorize: basicAuth})
	repo := newRepo(t, f, "platform")
	commitFiles(t, repo, "main", "", "", map[string]string{"README.md": "hi\n"})
	srv := newServer(t, f)

	tests := []struct {
		name, user, service string
		wantStatus          int
		wantChallenge       bool
	}{
		{name: "no credentials", service: "git-upload-pack", wantStatus: http.StatusUnauthorized, wantChallenge: true},
		{name: "wrong password", user: "alice:nope", service: "git-upload-pack", wantStatus: http.StatusUnauthorized, wantChallenge: true},
		{name: "reader reads", user: "bob:token", service: "git-upload-pack", wantStatus: http.StatusOK},
		{name: "reader pushes", user: "bob:token", service: "git-receive-pack", wantStatus: http.StatusForbidden},
		{name: "writer pushes", user: "alice:token", service: "git-receive-pack", wantStatus: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/git/platform.git/info/refs?service="+tt.service, nil)
			if user, pass, ok := strings.Cut(tt.user, ":"); ok {
				req.SetBasicAuth(user, pass)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			challenge := resp.Header.Get("WWW-Authenticate")
			if got := challenge == `Basic realm="goldenpath"`; got != tt.wantChallenge {
				t.Errorf("WWW-Authenticate = %q, want challenge %v", challenge, tt.wantChallenge)
			}
		})
	}
}

func TestAuthorizeWithGitClient(t *testing.T) {
	t.Parallel()
	f := newForge(t, Options{Authorize: basicAuth})
	repo := newRepo(t, f, "platform")
	commitFiles(t, repo, "main", "", "", map[string]string{"README.md": "hi\n"})
	srv := newServer(t, f)
	c := newGitClient(t)
	url := srv.URL + "/git/platform.git"

	_, stderr, err := c.run(c.home, "clone", url, filepath.Join(t.TempDir(), "anon"))
	if err == nil || !strings.Contains(stderr, "could not read Username") {
		t.Errorf("anonymous clone: err=%v stderr=%q; want failure asking for a username", err, stderr)
	}

	// bob can clone with a token in the URL, but his push is refused with the Authorizer's message.
	dir := c.clone(withUser(url, "bob", "token"))
	c.commitFile(dir, "x.txt", "x\n", "x")
	_, stderr, err = c.run(dir, "push", "origin", "HEAD:refs/heads/bob")
	if err == nil || !strings.Contains(stderr, "403") || !strings.Contains(stderr, "bob may not push to platform") {
		t.Errorf("bob's push: err=%v stderr=%q; want 403 with the Authorizer's message", err, stderr)
	}

	// Credentials sent as a header (as CI systems do) work too.
	c.must(dir, "-c", "http.extraHeader=Authorization: Basic YWxpY2U6dG9rZW4=", "push", "-q", url, "HEAD:refs/heads/alice")
	if _, err := repo.ResolveRef(context.Background(), "alice"); err != nil {
		t.Errorf("alice's push did not create the branch: %v", err)
	}
}

func TestBeforePushRefuses(t *testing.T) {
	t.Parallel()
	var seen []RefUpdate
	var mu sync.Mutex
	f := newForge(t, Options{
		Authorize: basicAuth,
		BeforePush: func(ctx context.Context, repo, subject string, updates []RefUpdate) error {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, updates...)
			for _, u := range updates {
				if u.Ref == "refs/heads/main" {
					return fmt.Errorf("%s: main is protected, open a change request", subject)
				}
			}
			return nil
		},
	})
	repo := newRepo(t, f, "platform")
	before := commitFiles(t, repo, "main", "", "", map[string]string{"README.md": "hi\n"})
	srv := newServer(t, f)
	c := newGitClient(t)
	dir := c.clone(withUser(srv.URL+"/git/platform.git", "alice", "token"))
	pushed := c.commitFile(dir, "README.md", "changed\n", "direct change")

	_, stderr, err := c.run(dir, "push", "origin", "main")
	if err == nil {
		t.Fatalf("push to protected main succeeded, want refusal")
	}
	wantLine := "! [remote rejected] main -> main (alice: main is protected, open a change request)"
	if !strings.Contains(stderr, wantLine) {
		t.Errorf("git push stderr = %q, want it to contain %q", stderr, wantLine)
	}
	if got := tip(t, repo, "main"); got != before {
		t.Errorf("main moved to %s after a refused push, want %s", got, before)
	}
	mu.Lock()
	want := []RefUpdate{{Ref: "refs/heads/main", Old: before, New: pushed}}
	if !reflect.DeepEqual(seen, want) {
		t.Errorf("BeforePush saw %+v, want %+v", seen, want)
	}
	mu.Unlock()

	c.must(dir, "push", "-q", "origin", "main:request/readme")
	if got := tip(t, repo, "request/readme"); got != pushed {
		t.Errorf("allowed push: branch at %s, want %s", got, pushed)
	}
}

func TestOnPushEvent(t *testing.T) {
	t.Parallel()
	events := make(chan PushEvent, 10)
	f := newForge(t, Options{
		Authorize: basicAuth,
		OnPush:    func(ctx context.Context, ev PushEvent) { events <- ev },
	})
	repo := newRepo(t, f, "platform")
	base := commitFiles(t, repo, "main", "", "", map[string]string{"README.md": "hi\n"})
	commitFiles(t, repo, "old", "", base, map[string]string{"old.txt": "old\n"})
	oldTip := tip(t, repo, "old")
	srv := newServer(t, f)
	c := newGitClient(t)
	dir := c.clone(withUser(srv.URL+"/git/platform.git", "alice", "token"))
	next := c.commitFile(dir, "README.md", "v2\n", "v2")

	// One push: update main, create a branch, delete a branch, and re-push an unchanged ref.
	c.must(dir, "push", "-q", "origin", "main", "main:refs/heads/new", ":refs/heads/old")
	ev := <-events
	want := PushEvent{Repo: "platform", Subject: "alice", Updates: []RefUpdate{
		{Ref: "refs/heads/main", Old: base, New: next},
		{Ref: "refs/heads/new", Old: ZeroSHA, New: next},
		{Ref: "refs/heads/old", Old: oldTip, New: ZeroSHA},
	}, Commits: []string{next}}
	sortUpdates(ev.Updates)
	if !reflect.DeepEqual(ev, want) {
		t.Errorf("OnPush event = %+v\nwant %+v", ev, want)
	}

	// A push that changes nothing reports nothing.
	c.must(dir, "push", "-q", "origin", "main")
	select {
	case ev := <-events:
		t.Errorf("no-op push reported %+v, want no event", ev)
	default:
	}

	// Commits another ref already had are not introduced again; only the two new ones are, newest first.
	c.must(dir, "push", "-q", "origin", "main:refs/heads/copy")
	if ev := <-events; len(ev.Commits) != 0 {
		t.Errorf("pushing known commits to a new branch introduced %v, want none", ev.Commits)
	}
	first := c.commitFile(dir, "a.txt", "a\n", "a")
	second := c.commitFile(dir, "b.txt", "b\n", "b")
	c.must(dir, "push", "-q", "origin", "main:refs/heads/feature")
	if ev := <-events; !reflect.DeepEqual(ev.Commits, []string{second, first}) {
		t.Errorf("a branch with two new commits introduced %v, want [%s %s]", ev.Commits, second, first)
	}
	// Force-pushing the branch back does not introduce anything.
	c.must(dir, "push", "-q", "-f", "origin", next+":refs/heads/feature")
	if ev := <-events; len(ev.Commits) != 0 {
		t.Errorf("moving a branch back introduced %v, want none", ev.Commits)
	}
}

func sortUpdates(u []RefUpdate) {
	for i := range u {
		for j := i + 1; j < len(u); j++ {
			if u[j].Ref < u[i].Ref {
				u[i], u[j] = u[j], u[i]
			}
		}
	}
}

func TestPushSizeLimit(t *testing.T) {
	t.Parallel()
	const limit = 256 << 10
	tests := []struct {
		name        string
		size        int
		wantChunked bool // git streams bodies above its 1 MiB http.postBuffer without a Content-Length
		wantOK      bool
	}{
		{name: "under the limit", size: 64 << 10, wantOK: true},
		{name: "declared length over the limit", size: 400 << 10},
		{name: "chunked body over the limit", size: 1200 << 10, wantChunked: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newForge(t, Options{MaxPushBytes: limit})
			repo := newRepo(t, f, "platform")
			before := commitFiles(t, repo, "main", "", "", map[string]string{"README.md": "hi\n"})
			rec := &pushLengths{h: f}
			srv := newServer(t, rec)
			c := newGitClient(t)
			dir := c.clone(srv.URL + "/git/platform.git")
			blob := make([]byte, tt.size)
			_, _ = rand.Read(blob) // incompressible
			if err := os.WriteFile(filepath.Join(dir, "big.bin"), blob, 0o644); err != nil {
				t.Fatal(err)
			}
			c.must(dir, "add", "big.bin")
			c.must(dir, "commit", "-q", "-m", "big")
			pushed := c.must(dir, "rev-parse", "HEAD")

			_, stderr, err := c.run(dir, "push", "origin", "main")
			if tt.wantOK {
				if err != nil || tip(t, repo, "main") != pushed {
					t.Fatalf("push of %d bytes under a %d byte limit failed: %v\n%s", tt.size, limit, err, stderr)
				}
				return
			}
			if err == nil {
				t.Fatalf("push of %d bytes with a %d byte limit succeeded", tt.size, limit)
			}
			if got := rec.chunked(); got != tt.wantChunked {
				t.Errorf("push body chunked = %v, want %v (the test does not exercise its path)", got, tt.wantChunked)
			}
			if want := fmt.Sprintf("push exceeds the limit of %d bytes", limit); !strings.Contains(stderr, want) {
				t.Errorf("git push stderr = %q, want it to contain %q", stderr, want)
			}
			if got := tip(t, repo, "main"); got != before {
				t.Errorf("main = %s after a refused push, want %s", got, before)
			}
		})
	}
}

// pushLengths records the Content-Length of the last receive-pack request (-1 when chunked).
type pushLengths struct {
	h      http.Handler
	mu     sync.Mutex
	length int64
}

func (p *pushLengths) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/git-receive-pack") {
		p.mu.Lock()
		p.length = r.ContentLength
		p.mu.Unlock()
	}
	p.h.ServeHTTP(w, r)
}

func (p *pushLengths) chunked() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.length < 0
}

// gzipSeen records whether any request arrived gzip-encoded.
type gzipSeen struct {
	h    http.Handler
	mu   sync.Mutex
	seen bool
}

func (g *gzipSeen) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Content-Encoding") == "gzip" {
		g.mu.Lock()
		g.seen = true
		g.mu.Unlock()
	}
	g.h.ServeHTTP(w, r)
}

func TestFetchWithGzipNegotiation(t *testing.T) {
	t.Parallel()
	f := newForge(t, Options{})
	repo := newRepo(t, f, "platform")
	base := commitFiles(t, repo, "main", "", "", map[string]string{"README.md": "hi\n"})
	g := &gzipSeen{h: f}
	srv := newServer(t, g)
	c := newGitClient(t)
	dir := c.clone(srv.URL + "/git/platform.git")
	// Many recent local commits the server lacks make the client send long "have" lists, which it
	// gzips once a request passes 1 KiB.
	c.localCommits(dir, 150)
	serverSHA := commitFiles(t, repo, "main", base, "", map[string]string{"server.txt": "s\n"})
	c.must(dir, "-c", "protocol.version=0", "fetch", "-q", "origin")
	if got := c.must(dir, "rev-parse", "origin/main"); got != serverSHA {
		t.Errorf("origin/main = %s, want %s", got, serverSHA)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.seen {
		t.Errorf("no gzip-encoded request was sent; the test does not exercise gzip bodies")
	}
}

func TestHTTPErrors(t *testing.T) {
	t.Parallel()
	f := newForge(t, Options{})
	newRepo(t, f, "platform")
	srv := newServer(t, f)
	tests := []struct {
		name, method, path, contentType string
		want                            int
	}{
		{name: "unknown repo", method: "GET", path: "/git/nope.git/info/refs?service=git-upload-pack", want: 404},
		{name: "invalid repo name", method: "GET", path: "/git/../x.git/info/refs?service=git-upload-pack", want: 404},
		{name: "outside /git/", method: "GET", path: "/platform.git/info/refs?service=git-upload-pack", want: 404},
		{name: "dumb protocol", method: "GET", path: "/git/platform.git/info/refs", want: 403},
		{name: "dumb object path", method: "GET", path: "/git/platform.git/HEAD", want: 404},
		{name: "POST info/refs", method: "POST", path: "/git/platform.git/info/refs?service=git-upload-pack", want: 405},
		{name: "GET upload-pack", method: "GET", path: "/git/platform.git/git-upload-pack", want: 405},
		{name: "wrong content type", method: "POST", path: "/git/platform.git/git-upload-pack", contentType: "text/plain", want: 415},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(""))
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("%s %s: status %d, want %d", tt.method, tt.path, resp.StatusCode, tt.want)
			}
		})
	}
}

func TestInfoRefsHeaders(t *testing.T) {
	t.Parallel()
	f := newForge(t, Options{})
	newRepo(t, f, "platform")
	srv := newServer(t, f)
	resp, err := http.Get(srv.URL + "/git/platform.git/info/refs?service=git-upload-pack")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if got := resp.Header.Get("Content-Type"); got != "application/x-git-upload-pack-advertisement" {
		t.Errorf("Content-Type = %q, want application/x-git-upload-pack-advertisement", got)
	}
	if got := resp.Header.Get("Cache-Control"); !strings.Contains(got, "no-cache") {
		t.Errorf("Cache-Control = %q, want no-cache", got)
	}
	buf := make([]byte, 34)
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatal(err)
	}
	if want := "001e# service=git-upload-pack\n0000"; string(buf) != want {
		t.Errorf("body starts %q, want %q", buf, want)
	}
}
