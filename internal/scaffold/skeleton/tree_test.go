package skeleton

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// workspace opens a new workspace in a temporary directory.
func workspace(t *testing.T, max int64) (*Workspace, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "workspace")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	w, err := OpenWorkspace(dir, max)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w, dir
}

// deep is a directory 30 levels down, and up climbs back out of it: up from deep is the workspace
// itself when read as text, and so is up again from a link at deep that points to up.
var (
	deep = strings.TrimSuffix(strings.Repeat("d/", 30), "/")
	up   = strings.Repeat("../", 30)
)

// escapes plants the links of a malicious skeleton: chains of links, each inside when read as text, that
// lead to outside (a directory beside the workspace) and to the file victim there.
func escapes(t *testing.T, w *Workspace, outside string) {
	t.Helper()
	abs := strings.TrimPrefix(outside, "/")
	files := []File{
		{Path: deep + "/l", Symlink: up},                                    // -> the workspace
		{Path: deep + "/victim", Symlink: "l/" + up + abs + "/victim.txt"},  // -> outside/victim.txt
		{Path: deep + "/new", Symlink: "l/" + up + abs + "/new.txt"},        // -> outside/new.txt (not there yet)
		{Path: deep + "/dir", Symlink: "l/" + up + abs},                     // -> outside
		{Path: deep + "/environ", Symlink: "l/" + up + "proc/self/environ"}, // -> /proc/self/environ
		{Path: deep + "/later", Symlink: up + abs + "/victim.txt"},          // inside, until moved up
		{Path: "dotdot/x/l", Symlink: "../../" + deep + "/l/" + up + abs},   // through ".."
		{Path: "keep.txt", Content: []byte("mine")},
	}
	if _, _, err := w.WriteTree(".", files, false); err != nil {
		t.Fatalf("the links were refused when written (they look inside): %v", err)
	}
}

func outsideDir(t *testing.T) string {
	t.Helper()
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "victim.txt"), []byte("outside content"), 0o644); err != nil {
		t.Fatal(err)
	}
	return outside
}

// TestWorkspaceSymlinkChains: no operation reads, writes, moves or lists anything outside the workspace
// through chains of links that each look inside.
func TestWorkspaceSymlinkChains(t *testing.T) {
	w, dir := workspace(t, 0)
	outside := outsideDir(t)
	escapes(t, w, outside)
	// Followed naively (as os.ReadFile does), the chains do lead out: the test is real.
	for _, p := range []string{deep + "/victim", "dotdot/x/l/victim.txt"} {
		if got, err := os.ReadFile(filepath.Join(dir, p)); err != nil || string(got) != "outside content" {
			t.Fatalf("the link chain %s does not lead out when followed: %q, %v", p, got, err)
		}
	}
	if got, err := os.ReadFile(filepath.Join(dir, deep, "environ")); err != nil || !strings.Contains(string(got), "=") {
		t.Fatalf("the link chain to /proc/self/environ does not lead there when followed: %v", err)
	}

	for _, p := range []string{deep + "/victim", deep + "/environ", deep + "/dir/victim.txt", "dotdot/x/l/victim.txt"} {
		if data, _, err := w.ReadFile(p, 1<<20); err == nil {
			t.Errorf("ReadFile(%s) read %q from outside", p, data)
		}
	}
	// Writing at a link replaces the link; writing below one is refused.
	for _, p := range []string{deep + "/victim", deep + "/new"} {
		if err := w.WriteFile(p, []byte("pwned"), false); err != nil {
			t.Errorf("WriteFile(%s): %v", p, err)
		}
	}
	for _, p := range []string{deep + "/dir/x.txt", "dotdot/x/l/x.txt", deep + "/l/x.txt"} {
		if err := w.WriteFile(p, []byte("pwned"), false); err == nil || !strings.Contains(err.Error(), "passes through the symlink") {
			t.Errorf("WriteFile(%s) = %v, want it refused as passing through a symlink", p, err)
		}
	}
	if err := w.MkdirAll(deep + "/dir/sub"); err == nil {
		t.Errorf("MkdirAll through a link succeeded")
	}
	if got, _ := os.ReadFile(filepath.Join(outside, "victim.txt")); string(got) != "outside content" {
		t.Errorf("the file outside was changed to %q", got)
	}
	if _, err := os.Lstat(filepath.Join(outside, "new.txt")); err == nil {
		t.Errorf("a file was created outside")
	}
	// A link moved so that it points out is moved as a link, and still not followed.
	if err := w.Rename(deep+"/later", "later", false); err != nil {
		t.Fatal(err)
	}
	if data, _, err := w.ReadFile("later", 1<<20); err == nil {
		t.Errorf("the moved link was followed out: %q", data)
	}
	if target, err := w.Readlink("later"); err != nil || !strings.HasSuffix(target, "/victim.txt") {
		t.Errorf("Readlink(later) = %q, %v; want the link moved as it is", target, err)
	}
	// Moving or removing through a link is refused, and removing a link leaves what it points to.
	if err := w.Rename("keep.txt", deep+"/dir/keep.txt", false); err == nil {
		t.Errorf("renaming into a linked directory succeeded")
	}
	if err := w.Rename(deep+"/dir/victim.txt", "stolen.txt", false); err == nil {
		t.Errorf("renaming out of a linked directory succeeded")
	}
	if err := w.RemoveAll(deep + "/dir"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(outside, "victim.txt")); err != nil {
		t.Errorf("removing a link removed what it points to: %v", err)
	}
	// Listing and globbing never descend into links.
	var seen []string
	if err := w.Walk(".", func(rel string, d fs.DirEntry) error { seen = append(seen, rel); return nil }); err != nil {
		t.Fatal(err)
	}
	for _, p := range seen {
		if strings.Contains(p, "victim.txt") && p != "victim.txt" {
			t.Errorf("Walk went through a link: %s", p)
		}
	}
	if m, _ := w.Glob("dotdot/x/l/*"); len(m) != 0 {
		t.Errorf("Glob through a link out matched %v", m)
	}
	// Publishing reads links as links, and refuses one that points out as written.
	if _, err := w.ReadTree("."); err == nil || !strings.Contains(err.Error(), `"later" points outside`) {
		t.Errorf("ReadTree = %v, want the moved link refused", err)
	}
	if err := w.RemoveAll("later"); err != nil {
		t.Fatal(err)
	}
	files, err := w.ReadTree(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.Contains(string(f.Content), "outside content") || strings.Contains(string(f.Content), "PATH=") {
			t.Errorf("ReadTree read %s through a link: %q", f.Path, f.Content)
		}
	}
}

// TestWorkspaceRefusesHardLinks: a file with a second name (a hard link planted in the workspace to a file
// outside) is not read, published or previewed.
func TestWorkspaceRefusesHardLinks(t *testing.T) {
	w, dir := workspace(t, 0)
	outside := outsideDir(t)
	if err := os.Link(filepath.Join(outside, "victim.txt"), filepath.Join(dir, "hard.txt")); err != nil {
		t.Skipf("cannot make a hard link here: %v", err)
	}
	if _, _, err := w.ReadFile("hard.txt", 1<<20); !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), "hard links") {
		t.Errorf("ReadFile of a hard link = %v, want it refused", err)
	}
	if _, err := w.ReadTree("."); err == nil {
		t.Errorf("ReadTree published a hard link")
	}
	files, omitted, err := w.Preview(".", 1<<20)
	if err != nil || len(files) != 0 || !reflect.DeepEqual(omitted, []string{"hard.txt"}) {
		t.Errorf("Preview = %v, %v, %v; want hard.txt omitted", files, omitted, err)
	}
	// Replacing it writes a new file; the one outside keeps its content.
	if err := w.WriteFile("hard.txt", []byte("mine"), false); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(outside, "victim.txt")); string(got) != "outside content" {
		t.Errorf("writing over a hard link changed the file outside to %q", got)
	}
}

func TestWorkspacePaths(t *testing.T) {
	w, dir := workspace(t, 0)
	if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		rel, err string
	}{
		{"../x", `must not contain ".."`},
		{"a/../../x", `must not contain ".."`},
		{"a/../b", `must not contain ".."`},
		{"/etc/x", "must be relative"},
		{`a\..\x`, "must be relative"},
		{"a\x00b", "NUL byte"},
		{"file/x", "is not a directory"},
		{".", "names the workspace itself"},
	}
	for _, tt := range tests {
		t.Run(tt.rel, func(t *testing.T) {
			err := w.WriteFile(tt.rel, []byte("x"), false)
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("WriteFile(%q) = %v, want an error containing %q", tt.rel, err, tt.err)
			}
		})
	}
	for _, p := range []string{"", ".", "./", "a/", "./a/b"} {
		if _, err := Rel(p); err != nil {
			t.Errorf("Rel(%q) = %v", p, err)
		}
	}
}

func TestWriteTreeAndReadTree(t *testing.T) {
	w, dir := workspace(t, 0)
	files := []File{
		{Path: "README.md", Content: []byte("# orders\n")},
		{Path: "bin/run.sh", Content: []byte("#!/bin/sh\n"), Executable: true},
		{Path: "docs/link.md", Symlink: "../README.md"},
		{Path: "src/io/acme/App.java", Content: []byte("class App {}")},
	}
	written, kept, err := w.WriteTree("out", files, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"README.md", "bin/run.sh", "docs/link.md", "src/io/acme/App.java"}; !reflect.DeepEqual(written, want) || kept != nil {
		t.Errorf("got written %v kept %v, want written %v and nothing kept", written, kept, want)
	}
	if fi, err := os.Stat(filepath.Join(dir, "out/bin/run.sh")); err != nil || fi.Mode().Perm()&0o111 == 0 {
		t.Errorf("got run.sh mode %v (%v), want it executable", fi.Mode(), err)
	}
	back, err := w.ReadTree("out")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := summary(back), summary(files); got != want {
		t.Errorf("read back\n%s\nwant\n%s", got, want)
	}
	// A link inside is followed by ReadFile (it stays inside), and read as a link by ReadTree.
	if data, _, err := w.ReadFile("out/docs/link.md", 100); err != nil || string(data) != "# orders\n" {
		t.Errorf("ReadFile through an inside link = %q, %v", data, err)
	}
}

func TestWriteTreeReplace(t *testing.T) {
	w, dir := workspace(t, 0)
	if _, _, err := w.WriteTree(".", []File{{Path: "a.txt", Content: []byte("old")}}, false); err != nil {
		t.Fatal(err)
	}
	next := []File{{Path: "a.txt", Content: []byte("new")}, {Path: "b.txt", Content: []byte("b")}}
	written, kept, err := w.WriteTree(".", next, false)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(written, []string{"b.txt"}) || !reflect.DeepEqual(kept, []string{"a.txt"}) {
		t.Errorf("replace=false: got written %v kept %v, want [b.txt] and [a.txt]", written, kept)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "a.txt")); string(got) != "old" {
		t.Errorf("replace=false: got a.txt %q, want the existing %q kept", got, "old")
	}
	if _, kept, err = w.WriteTree(".", next, true); err != nil || kept != nil {
		t.Fatalf("replace=true: got kept %v, %v", kept, err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "a.txt")); string(got) != "new" {
		t.Errorf("replace=true: got a.txt %q, want %q", got, "new")
	}
}

func TestWriteTreeNeverFollowsSymlinks(t *testing.T) {
	w, dir := workspace(t, 0)
	outside := t.TempDir()
	victim := filepath.Join(outside, "victim.txt")
	if err := os.WriteFile(victim, []byte("untouched"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(dir, "victim.txt")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		files []File
		err   string
	}{
		{"through a symlinked dir", []File{{Path: "escape/victim.txt", Content: []byte("pwned")}}, "passes through the symlink"},
		{"dot-dot", []File{{Path: "../victim.txt", Content: []byte("pwned")}}, `must not contain ".."`},
		{"deep dot-dot", []File{{Path: "a/../../victim.txt", Content: []byte("pwned")}}, `must not contain ".."`},
		{"absolute", []File{{Path: "/etc/x", Content: []byte("pwned")}}, "must be relative"},
		{"symlink written then used", []File{{Path: "l", Symlink: "escape"}, {Path: "l/x", Content: []byte("pwned")}}, "passes through the symlink"},
		{"escaping symlink target", []File{{Path: "sub/l", Symlink: "../../x"}}, "points outside the tree"},
		{"absolute symlink target", []File{{Path: "l2", Symlink: "/etc/passwd"}}, "points outside the tree"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := w.WriteTree(".", tt.files, true)
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("got %v, want an error containing %q", err, tt.err)
			}
		})
	}
	// Replacing a symlink replaces the link, not the file it points to.
	if _, _, err := w.WriteTree(".", []File{{Path: "victim.txt", Content: []byte("mine")}}, true); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(victim); string(got) != "untouched" {
		t.Errorf("got the outside file changed to %q, want it untouched", got)
	}
	if fi, err := os.Lstat(filepath.Join(dir, "victim.txt")); err != nil || fi.Mode()&os.ModeSymlink != 0 {
		t.Errorf("got %v (%v), want victim.txt replaced by a regular file", fi.Mode(), err)
	}
}

func TestReadTreeRefusesEscapes(t *testing.T) {
	tests := []struct {
		name, link, target, err string
	}{
		{"relative escape", "sub/l", "../../x", "points outside the tree"},
		{"absolute", "l", "/etc/passwd", "points outside the tree"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, dir := workspace(t, 0)
			if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(tt.target, filepath.Join(dir, tt.link)); err != nil {
				t.Fatal(err)
			}
			if _, err := w.ReadTree("."); err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), tt.link) {
				t.Errorf("got %v, want an error naming %q containing %q", err, tt.link, tt.err)
			}
		})
	}
}

// TestWorkspaceQuota: what a run writes is bounded, and a preview stops adding content at its limit.
func TestWorkspaceQuota(t *testing.T) {
	w, _ := workspace(t, 1000)
	if err := w.WriteFile("a", make([]byte, 600), false); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFile("b", make([]byte, 600), false); err == nil || !strings.Contains(err.Error(), "more than 1000 bytes") {
		t.Errorf("got %v, want the quota refused", err)
	}
	if _, _, err := w.WriteTree("t", []File{{Path: "c", Content: make([]byte, 500)}}, false); err == nil {
		t.Errorf("WriteTree went past the quota")
	}
	w2, _ := workspace(t, 0)
	for _, p := range []string{"1", "2", "3"} {
		if err := w2.WriteFile(p, make([]byte, 400), false); err != nil {
			t.Fatal(err)
		}
	}
	files, omitted, err := w2.Preview(".", 1000)
	if err != nil || len(files) != 2 || !reflect.DeepEqual(omitted, []string{"3"}) {
		t.Errorf("Preview = %d files, omitted %v, %v; want 2 files and 3 omitted", len(files), omitted, err)
	}
	if data, truncated, err := w2.ReadFile("1", 100); err != nil || !truncated || len(data) != 100 {
		t.Errorf("ReadFile with a limit = %d bytes, truncated %v, %v", len(data), truncated, err)
	}
}
