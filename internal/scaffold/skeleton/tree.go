package skeleton

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"sync/atomic"
)

// Workspace is a directory that file operations cannot leave. Every path is resolved by the kernel beneath
// the directory (os.Root: each component is opened relative to the one before, and every symlink on the
// way is checked), never by cleaning it as text, so no chain of symlinks leads out, however inside each
// link looks on its own. On top of that:
//   - nothing is written through a symlink, nor through a directory that is one;
//   - a symlink is read as a link, never followed, when listing or publishing the tree;
//   - a file with more than one hard link is never read (goldenpath makes none, so one can only lead to a
//     file that is not the workspace's);
//   - the bytes written are bounded (MaxBytes), so a template cannot fill the disk or, for a dry run in
//     memory, the server's memory.
type Workspace struct {
	root *os.Root
	dir  string
	max  int64
	used atomic.Int64
}

// DefaultWorkspaceBytes bounds what one run writes into its workspace.
const DefaultWorkspaceBytes = 256 << 20

// OpenWorkspace opens dir (which must exist) as a workspace that accepts at most maxBytes of file content
// (DefaultWorkspaceBytes when 0).
func OpenWorkspace(dir string, maxBytes int64) (*Workspace, error) {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("opening the workspace: %w", err)
	}
	if maxBytes <= 0 {
		maxBytes = DefaultWorkspaceBytes
	}
	return &Workspace{root: r, dir: dir, max: maxBytes}, nil
}

// Close releases the workspace's directory handle.
func (w *Workspace) Close() error { return w.root.Close() }

// Dir is the workspace's absolute path (for messages and outputs; never use it to open files).
func (w *Workspace) Dir() string { return w.dir }

// Rel checks a path relative to the workspace and returns it cleaned; "", "." and "./" name the
// workspace itself (".").
func Rel(p string) (string, error) {
	if c := strings.TrimSuffix(strings.TrimPrefix(p, "./"), "/"); c == "" || c == "." {
		return ".", nil
	}
	return cleanPath(strings.TrimSuffix(p, "/"))
}

// checkWay refuses a path whose directories include a symlink or a file: writes never go through a link.
func (w *Workspace) checkWay(rel string) error {
	segs := strings.Split(rel, "/")
	for i := 1; i < len(segs); i++ {
		dir := strings.Join(segs[:i], "/")
		fi, err := w.root.Lstat(dir)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // nothing further down exists yet, so nothing can be a symlink
		}
		if err != nil {
			return fmt.Errorf("path %q: %w", rel, err)
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("path %q passes through the symlink %q", rel, dir)
		}
		if !fi.IsDir() {
			return fmt.Errorf("path %q: %q is not a directory", rel, dir)
		}
	}
	return nil
}

// prepare checks rel for writing and creates its directory.
func (w *Workspace) prepare(p string) (string, error) {
	rel, err := Rel(p)
	if err != nil {
		return "", err
	}
	if rel == "." {
		return "", fmt.Errorf("path %q names the workspace itself, not a file", p)
	}
	if err := w.checkWay(rel); err != nil {
		return "", err
	}
	if dir := path.Dir(rel); dir != "." {
		if err := w.root.MkdirAll(dir, 0o755); err != nil {
			return "", fmt.Errorf("creating the directory of %q: %w", rel, err)
		}
	}
	return rel, nil
}

// MkdirAll creates a directory of the workspace and its parents.
func (w *Workspace) MkdirAll(p string) error {
	rel, err := Rel(p)
	if err != nil || rel == "." {
		return err
	}
	if err := w.checkWay(rel + "/x"); err != nil {
		return err
	}
	if err := w.root.MkdirAll(rel, 0o755); err != nil {
		return fmt.Errorf("creating %q: %w", rel, err)
	}
	return nil
}

// WriteFile writes a regular file. Whatever is at the path (a file, or a symlink, which is not followed)
// is replaced; a directory there is an error.
func (w *Workspace) WriteFile(p string, data []byte, executable bool) error {
	rel, err := w.prepare(p)
	if err != nil {
		return err
	}
	if _, err := w.clear(rel, true); err != nil {
		return err
	}
	return w.create(rel, data, executable)
}

// create writes a new regular file where nothing is.
func (w *Workspace) create(rel string, data []byte, executable bool) error {
	if n := w.used.Add(int64(len(data))); n > w.max {
		return fmt.Errorf("writing %q: the workspace would hold more than %d bytes", rel, w.max)
	}
	mode := os.FileMode(0o644)
	if executable {
		mode = 0o755
	}
	// O_EXCL: the place was just cleared, so anything there now (a symlink) is not followed.
	f, err := w.root.OpenFile(rel, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("writing %q: %w", rel, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("writing %q: %w", rel, err)
	}
	if err := f.Chmod(mode); err != nil { // the umask may have cleared the executable bits
		f.Close()
		return fmt.Errorf("writing %q: %w", rel, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %q: %w", rel, err)
	}
	return nil
}

// Symlink creates a symlink at p pointing to target, which must be relative and stay inside the tree as
// written (links are never followed by the workspace anyway; this keeps obviously escaping ones out of
// what is published).
func (w *Workspace) Symlink(target, p string) error {
	rel, err := w.prepare(p)
	if err != nil {
		return err
	}
	if err := checkLink(rel, target); err != nil {
		return err
	}
	if err := w.root.Symlink(target, rel); err != nil {
		return fmt.Errorf("writing symlink %q: %w", rel, err)
	}
	return nil
}

// clear makes room for a file at rel: ok is false when something is there and replace is false. An
// existing symlink is removed, never written through.
func (w *Workspace) clear(rel string, replace bool) (bool, error) {
	fi, err := w.root.Lstat(rel)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("path %q: %w", rel, err)
	case !replace:
		return false, nil
	case fi.IsDir():
		return false, fmt.Errorf("path %q: a directory is in the way", rel)
	}
	if err := w.root.Remove(rel); err != nil {
		return false, fmt.Errorf("replacing %q: %w", rel, err)
	}
	return true, nil
}

// WriteTree writes files under dir (a path of the workspace; created if needed). With replace=false an
// existing file is kept and reported (Backstage's `replace`). A symlink is written only if its target
// stays inside the tree as written.
func (w *Workspace) WriteTree(dir string, files []File, replace bool) (written []string, kept []string, err error) {
	base, err := Rel(dir)
	if err != nil {
		return nil, nil, err
	}
	if err := w.MkdirAll(base); err != nil {
		return nil, nil, err
	}
	sorted := append([]File{}, files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	for _, f := range sorted {
		p, err := cleanPath(f.Path)
		if err != nil {
			return written, kept, err
		}
		rel, err := w.prepare(path.Join(base, p))
		if err != nil {
			return written, kept, err
		}
		ok, err := w.clear(rel, replace)
		if err != nil {
			return written, kept, err
		}
		if !ok {
			kept = append(kept, f.Path)
			continue
		}
		if f.Symlink != "" {
			if err := checkLink(p, f.Symlink); err != nil {
				return written, kept, err
			}
			if err := w.root.Symlink(f.Symlink, rel); err != nil {
				return written, kept, fmt.Errorf("writing symlink %q: %w", f.Path, err)
			}
		} else if err := w.create(rel, f.Content, f.Executable); err != nil {
			return written, kept, err
		}
		written = append(written, f.Path)
	}
	return written, kept, nil
}

// checkLink refuses a symlink at rel (slash-separated, relative to the tree root) whose
// target is absolute or, read as text, leaves the tree. (A chain of links can still lead out,
// which is why the workspace never follows links it did not check with the kernel.)
func checkLink(rel, target string) error {
	if path.IsAbs(target) || strings.HasPrefix(target, `\`) || strings.ContainsRune(target, 0) || (len(target) > 1 && target[1] == ':') {
		return fmt.Errorf("symlink %q points outside the tree (to %q)", rel, target)
	}
	resolved := path.Join(path.Dir(rel), target)
	if resolved == ".." || strings.HasPrefix(resolved, "../") {
		return fmt.Errorf("symlink %q points outside the tree (to %q)", rel, target)
	}
	return nil
}

// ReadFile reads a regular file of the workspace, at most limit bytes (truncated tells whether there was
// more). Symlinks on the way are followed only while they stay inside; a file with several hard links,
// a device or a pipe is refused.
func (w *Workspace) ReadFile(p string, limit int64) (data []byte, truncated bool, err error) {
	rel, err := Rel(p)
	if err != nil {
		return nil, false, err
	}
	fi, err := w.root.Stat(rel)
	if err != nil {
		return nil, false, fmt.Errorf("reading %q: %w", rel, err)
	}
	if err := readable(rel, fi); err != nil {
		return nil, false, err
	}
	f, err := w.root.Open(rel)
	if err != nil {
		return nil, false, fmt.Errorf("reading %q: %w", rel, err)
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		return nil, false, err
	}
	if err := readable(rel, fi); err != nil { // what was opened, not what was looked at
		return nil, false, err
	}
	data, err = io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, false, fmt.Errorf("reading %q: %w", rel, err)
	}
	if int64(len(data)) > limit {
		return data[:limit], true, nil
	}
	return data, false, nil
}

// ErrNotRegular is wrapped by reads of anything but a regular file with one link.
var ErrNotRegular = errors.New("not a regular file")

func readable(rel string, fi fs.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%q: %w", rel, ErrNotRegular)
	}
	if n := hardLinks(fi); n > 1 {
		return fmt.Errorf("%q has %d hard links; goldenpath reads only files with one (it never makes hard links): %w", rel, n, ErrNotRegular)
	}
	return nil
}

// Lstat describes a path without following a final symlink.
func (w *Workspace) Lstat(p string) (fs.FileInfo, error) {
	rel, err := Rel(p)
	if err != nil {
		return nil, err
	}
	return w.root.Lstat(rel)
}

// Readlink returns a symlink's target (never following it).
func (w *Workspace) Readlink(p string) (string, error) {
	rel, err := Rel(p)
	if err != nil {
		return "", err
	}
	return w.root.Readlink(rel)
}

// Walk visits every entry under dir (a path of the workspace) in lexical order, without following
// symlinks; fn gets slash-separated paths relative to the workspace.
func (w *Workspace) Walk(dir string, fn func(rel string, d fs.DirEntry) error) error {
	base, err := Rel(dir)
	if err != nil {
		return err
	}
	return fs.WalkDir(w.root.FS(), base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == base && d.IsDir() {
			return nil
		}
		return fn(p, d)
	})
}

// Glob lists the workspace paths matching a slash-separated pattern (path.Match syntax per component).
func (w *Workspace) Glob(pattern string) ([]string, error) {
	rel, err := Rel(pattern)
	if err != nil {
		return nil, err
	}
	return fs.Glob(w.root.FS(), rel)
}

// entry checks p, a path in the workspace other than the workspace itself, and the way to it (see checkWay),
// and returns it relative to the workspace.
func (w *Workspace) entry(p string) (string, error) {
	rel, err := Rel(p)
	if err != nil {
		return "", err
	}
	if rel == "." {
		return "", fmt.Errorf("path %q names the workspace itself", p)
	}
	if err := w.checkWay(rel); err != nil {
		return "", err
	}
	return rel, nil
}

// RemoveAll removes a path and anything under it (a symlink is removed, not what it points to).
func (w *Workspace) RemoveAll(p string) error {
	rel, err := w.entry(p)
	if err != nil {
		return err
	}
	return w.root.RemoveAll(rel)
}

// Rename moves a file, directory or symlink (the link itself, as it is) within the workspace. An existing
// target is an error unless overwrite is set, in which case it is removed first.
func (w *Workspace) Rename(from, to string, overwrite bool) error {
	src, err := w.entry(from)
	if err != nil {
		return err
	}
	if _, err := w.root.Lstat(src); err != nil {
		return fmt.Errorf("%s does not exist in the workspace", from)
	}
	dst, err := w.prepare(to)
	if err != nil {
		return err
	}
	if _, err := w.root.Lstat(dst); err == nil {
		if !overwrite {
			return fmt.Errorf("%s already exists (set overwrite: true to replace it)", to)
		}
		if err := w.root.RemoveAll(dst); err != nil {
			return err
		}
	}
	return w.root.Rename(src, dst)
}

// Tree limits: a workspace read for publishing holds at most this much.
const (
	maxTreeFiles = defaultMaxFiles
	maxTreeBytes = defaultMaxTotalBytes
)

// ReadTree reads the files under dir (a path of the workspace) for publishing: symlinks as symlinks
// (never followed), regular files with their content. It refuses links that point out of the tree as
// written, anything that is neither a file, a directory nor a symlink, files with several hard links, and
// trees beyond 10,000 files or 100 MiB.
func (w *Workspace) ReadTree(dir string) ([]File, error) {
	files, _, err := w.readTree(dir, maxTreeBytes, false)
	return files, err
}

// Preview reads the files under dir like ReadTree, but stops adding content at maxBytes: the files beyond
// are returned as omitted (paths only). Entries that cannot be read are omitted too.
func (w *Workspace) Preview(dir string, maxBytes int64) (files []File, omitted []string, err error) {
	return w.readTree(dir, maxBytes, true)
}

func (w *Workspace) readTree(dir string, maxBytes int64, preview bool) ([]File, []string, error) {
	base, err := Rel(dir)
	if err != nil {
		return nil, nil, err
	}
	var files []File
	var omitted []string
	var total int64
	err = w.Walk(base, func(p string, d fs.DirEntry) error {
		if d.IsDir() {
			return nil
		}
		rel := strings.TrimPrefix(p, base+"/")
		if base == "." {
			rel = p
		}
		if len(files) >= maxTreeFiles {
			if preview {
				omitted = append(omitted, rel)
				return nil
			}
			return fmt.Errorf("tree exceeds %d files", maxTreeFiles)
		}
		f, err := w.readEntry(p, rel, d, maxBytes-total)
		switch {
		case preview && err != nil:
			omitted = append(omitted, rel)
			return nil
		case err != nil:
			return err
		}
		total += int64(len(f.Content))
		files = append(files, f)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("reading the workspace: %w", err)
	}
	return files, omitted, nil
}

var errTooBig = errors.New("the tree is too large")

func (w *Workspace) readEntry(p, rel string, d fs.DirEntry, room int64) (File, error) {
	if d.Type()&fs.ModeSymlink != 0 {
		target, err := w.root.Readlink(p)
		if err != nil {
			return File{}, err
		}
		if err := checkLink(rel, target); err != nil {
			return File{}, err
		}
		return File{Path: rel, Symlink: target}, nil
	}
	if !d.Type().IsRegular() {
		return File{}, fmt.Errorf("%q is not a regular file, directory or symlink", rel)
	}
	info, err := d.Info()
	if err != nil {
		return File{}, err
	}
	if info.Size() > room {
		return File{}, fmt.Errorf("%q: %w: more than %d bytes", rel, errTooBig, room)
	}
	content, truncated, err := w.ReadFile(p, max(room, 0))
	if err != nil {
		return File{}, err
	}
	if truncated {
		return File{}, fmt.Errorf("%q: %w", rel, errTooBig)
	}
	return File{Path: rel, Content: content, Executable: info.Mode()&0o111 != 0}, nil
}
