// Package browser drives goldenpath's web portal in headless Chromium, as a new user would: the real program
// runs in-process on port 0 and the browser signs in, fills in forms, follows a task live and reviews a
// change request. The tests skip when Chromium is missing, except in CI (CI=true), where they fail.
package browser

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/goldenpathidp/goldenpath/internal/app"
	"github.com/goldenpathidp/goldenpath/internal/store"
)

// chromium finds the browser: $GOLDENPATH_CHROMIUM, or Debian's chromium on the PATH.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("GOLDENPATH_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("Chromium is not installed: .ci/run installs Debian's chromium package (apt-get install -y chromium)")
	}
	t.Skip("Chromium is not installed (apt-get install -y chromium, or set GOLDENPATH_CHROMIUM): skipping the browser tests")
	return ""
}

// logBuffer keeps the program's log and prints it only when a test fails.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// start runs goldenpath on port 0 with a developer (alice, team payments) and an approver (bob, team
// platform), and returns it with their tokens.
func start(t *testing.T) (*app.App, map[string]string) {
	t.Helper()
	logs := &logBuffer{}
	a, err := app.Start(context.Background(), app.Config{DataDir: t.TempDir(), Addr: "127.0.0.1:0", S3Addr: "127.0.0.1:0",
		Resync: 2 * time.Second, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatalf("starting goldenpath: %v", err)
	}
	t.Cleanup(func() {
		a.Close()
		if t.Failed() {
			t.Logf("goldenpath log:\n%s", logs.String())
		}
	})
	tokens := map[string]string{}
	for _, u := range []store.User{
		{Name: "alice", Roles: []string{store.RoleDeveloper}, Teams: []string{"payments"}},
		{Name: "bob", Roles: []string{store.RoleApprover}, Teams: []string{"platform"}},
	} {
		if _, err := a.Auth.AddUser(context.Background(), u); err != nil {
			t.Fatal(err)
		}
		tok, _, err := a.Auth.IssueToken(context.Background(), u.Name, "browser test", 0)
		if err != nil {
			t.Fatal(err)
		}
		tokens[u.Name] = tok
	}
	return a, tokens
}

// session is a headless Chromium tab. Each step runs with its own timeout; the whole test has a budget.
type session struct {
	t        *testing.T
	ctx      context.Context
	base     string
	deadline time.Time
}

// newBrowser starts Chromium with a fresh profile. When the test fails, it saves a screenshot and the
// page's HTML and logs where.
func newBrowser(t *testing.T, base string, budget time.Duration) *session {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	// The first action starts the browser; it must not run under a timeout (that would stop the browser).
	if err := chromedp.Do(ctx); err != nil {
		cancelCtx()
		cancelAlloc()
		t.Fatalf("starting Chromium: %v", err)
	}
	s := &session{t: t, ctx: ctx, base: base, deadline: time.Now().Add(budget)}
	t.Cleanup(func() {
		if t.Failed() {
			s.saveFailure()
		}
		cancelCtx()
		cancelAlloc()
	})
	return s
}

// do runs steps, failing the test with what was being done.
func (s *session) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	s.t.Helper()
	if time.Now().After(s.deadline) {
		s.t.Fatalf("%s: the browser test ran out of its time budget", what)
	}
	ctx, cancel := context.WithTimeout(s.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		s.t.Fatalf("%s: %v (at %s)", what, err, s.location())
	}
}

// value runs an action that returns a value.
func value[T any](s *session, what string, a chromedp.Action[T]) T {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		s.t.Fatalf("%s: %v (at %s)", what, err, s.location())
	}
	return v
}

func (s *session) location() string {
	ctx, cancel := context.WithTimeout(s.ctx, 2*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "unknown page"
	}
	return loc
}

// text reads the text of the first element matching a CSS selector, waiting for it to be visible.
func (s *session) text(sel string) string {
	s.t.Helper()
	s.do("waiting for "+sel, chromedp.WaitVisible(chromedp.CSS(sel)))
	return value(s, "reading "+sel, chromedp.Text(chromedp.CSS(sel)))
}

// saveFailure writes a screenshot and the HTML of the current page under the temp directory.
func (s *session) saveFailure() {
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	dir := filepath.Join(os.TempDir(), "goldenpath-browser-failures")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		s.t.Logf("saving the failure: %v", err)
		return
	}
	stem := filepath.Join(dir, fmt.Sprintf("%s-%s", strings.ReplaceAll(s.t.Name(), "/", "_"), time.Now().Format("20060102-150405")))
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		if err := os.WriteFile(stem+".png", png, 0o644); err == nil {
			s.t.Logf("screenshot of the failure: %s.png", stem)
		}
	}
	if html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html"))); err == nil {
		if err := os.WriteFile(stem+".html", []byte(html), 0o644); err == nil {
			s.t.Logf("HTML of the failure: %s.html (page %s)", stem, s.location())
		}
	}
}
