package skeleton

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestSafeJoin(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "real"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real", filepath.Join(root, "inside")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		rel  string
		want string // joined path relative to root, or "" for a refusal
		err  string
	}{
		{"a/b.txt", "a/b.txt", ""},
		{"real/x", "real/x", ""},
		{"a/./b", "a/b", ""},
		{"escape", "escape", ""}, // the link itself is not passed through
		{"../x", "", `must not contain ".."`},
		{"a/../../x", "", `must not contain ".."`},
		{"a/../b", "", `must not contain ".."`},
		{"/etc/x", "", "must be relative"},
		{`a\..\x`, "", "must be relative"},
		{"", "", "is empty"},
		{".", "", "names no file"},
		{"a\x00b", "", "NUL byte"},
		{"escape/passwd", "", `passes through the symlink "escape"`},
		{"inside/x", "", `passes through the symlink "inside"`},
		{"file/x", "", "is not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.rel, func(t *testing.T) {
			got, err := SafeJoin(root, tt.rel)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("SafeJoin(%q) = %q, %v; want an error containing %q", tt.rel, got, err, tt.err)
				}
				if !strings.Contains(err.Error(), strconv.Quote(tt.rel)) {
					t.Errorf("got error %q, want it to name the path %q", err, tt.rel)
				}
				return
			}
			if err != nil || got != filepath.Join(root, tt.want) {
				t.Errorf("SafeJoin(%q) = %q, %v; want %q", tt.rel, got, err, filepath.Join(root, tt.want))
			}
		})
	}
}

func TestWriteTreeAndReadTree(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	files := []File{
		{Path: "README.md", Content: []byte("# orders\n")},
		{Path: "bin/run.sh", Content: []byte("#!/bin/sh\n"), Executable: true},
		{Path: "docs/link.md", Symlink: "../README.md"},
		{Path: "src/io/acme/App.java", Content: []byte("class App {}")},
	}
	written, kept, err := WriteTree(dir, files, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"README.md", "bin/run.sh", "docs/link.md", "src/io/acme/App.java"}; !reflect.DeepEqual(written, want) || kept != nil {
		t.Errorf("got written %v kept %v, want written %v and nothing kept", written, kept, want)
	}
	if fi, err := os.Stat(filepath.Join(dir, "bin/run.sh")); err != nil || fi.Mode().Perm()&0o111 == 0 {
		t.Errorf("got run.sh mode %v (%v), want it executable", fi.Mode(), err)
	}
	back, err := ReadTree(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := summary(back), summary(files); got != want {
		t.Errorf("read back\n%s\nwant\n%s", got, want)
	}
}

func TestWriteTreeReplace(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := WriteTree(dir, []File{{Path: "a.txt", Content: []byte("old")}}, false); err != nil {
		t.Fatal(err)
	}
	next := []File{{Path: "a.txt", Content: []byte("new")}, {Path: "b.txt", Content: []byte("b")}}
	written, kept, err := WriteTree(dir, next, false)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(written, []string{"b.txt"}) || !reflect.DeepEqual(kept, []string{"a.txt"}) {
		t.Errorf("replace=false: got written %v kept %v, want [b.txt] and [a.txt]", written, kept)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "a.txt")); string(got) != "old" {
		t.Errorf("replace=false: got a.txt %q, want the existing %q kept", got, "old")
	}
	if _, kept, err = WriteTree(dir, next, true); err != nil || kept != nil {
		t.Fatalf("replace=true: got kept %v, %v", kept, err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "a.txt")); string(got) != "new" {
		t.Errorf("replace=true: got a.txt %q, want %q", got, "new")
	}
}

func TestWriteTreeNeverFollowsSymlinks(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
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
			_, _, err := WriteTree(dir, tt.files, true)
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("got %v, want an error containing %q", err, tt.err)
			}
		})
	}
	// Replacing a symlink replaces the link, not the file it points to.
	if _, _, err := WriteTree(dir, []File{{Path: "victim.txt", Content: []byte("mine")}}, true); err != nil {
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
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(tt.target, filepath.Join(dir, tt.link)); err != nil {
				t.Fatal(err)
			}
			if _, err := ReadTree(dir); err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), tt.link) {
				t.Errorf("got %v, want an error naming %q containing %q", err, tt.link, tt.err)
			}
		})
	}
}
