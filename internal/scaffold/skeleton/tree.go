package skeleton

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// SafeJoin joins a rendered relative path under root, refusing "..", absolute paths, NUL
// bytes, and paths that would pass through a symlink inside root. Errors name the path.
func SafeJoin(root, rel string) (string, error) {
	clean, err := cleanPath(rel)
	if err != nil {
		return "", err
	}
	cur := root
	segs := strings.Split(clean, "/")
	for _, seg := range segs[:len(segs)-1] {
		cur = filepath.Join(cur, seg)
		fi, err := os.Lstat(cur)
		if errors.Is(err, fs.ErrNotExist) {
			break // nothing further down exists yet, so nothing can be a symlink
		}
		if err != nil {
			return "", fmt.Errorf("path %q: %w", rel, err)
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return "", fmt.Errorf("path %q passes through the symlink %q", rel, strings.TrimPrefix(cur, root+string(filepath.Separator)))
		}
		if !fi.IsDir() {
			return "", fmt.Errorf("path %q: %q is not a directory", rel, strings.TrimPrefix(cur, root+string(filepath.Separator)))
		}
	}
	return filepath.Join(root, filepath.FromSlash(clean)), nil
}

// WriteTree writes files under dir (creating it), refusing any path SafeJoin refuses and
// never following symlinks already in dir; with replace=false an existing file is kept and
// reported (Backstage's `replace`). A symlink is written only if its target stays inside dir.
func WriteTree(dir string, files []File, replace bool) (written []string, kept []string, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	sorted := append([]File{}, files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	for _, f := range sorted {
		target, err := SafeJoin(dir, f.Path)
		if err != nil {
			return written, kept, err
		}
		ok, err := clearTarget(target, f.Path, replace)
		if err != nil {
			return written, kept, err
		}
		if !ok {
			kept = append(kept, f.Path)
			continue
		}
		if err := writeFile(dir, target, f); err != nil {
			return written, kept, err
		}
		written = append(written, f.Path)
	}
	return written, kept, nil
}

// clearTarget makes room for a file at target: ok is false when an existing file must be
// kept. An existing symlink is removed, never written through.
func clearTarget(target, rel string, replace bool) (bool, error) {
	fi, err := os.Lstat(target)
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
	if err := os.Remove(target); err != nil {
		return false, fmt.Errorf("replacing %q: %w", rel, err)
	}
	return true, nil
}

func writeFile(root, target string, f File) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return fmt.Errorf("creating the directory of %q: %w", f.Path, err)
	}
	if f.Symlink != "" {
		if err := checkLink(f.Path, f.Symlink); err != nil {
			return err
		}
		if err := os.Symlink(f.Symlink, target); err != nil {
			return fmt.Errorf("writing symlink %q: %w", f.Path, err)
		}
		return nil
	}
	mode := os.FileMode(0o644)
	if f.Executable {
		mode = 0o755
	}
	// O_EXCL: the place was just cleared, so anything there now (a symlink) is not followed.
	w, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("writing %q: %w", f.Path, err)
	}
	if _, err := w.Write(f.Content); err != nil {
		w.Close()
		return fmt.Errorf("writing %q: %w", f.Path, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("writing %q: %w", f.Path, err)
	}
	return os.Chmod(target, mode) // the umask may have cleared the executable bits
}

// checkLink refuses a symlink at rel (slash-separated, relative to the tree root) whose
// target is absolute or resolves outside the tree.
func checkLink(rel, target string) error {
	if path.IsAbs(target) || filepath.IsAbs(target) || strings.ContainsRune(target, 0) {
		return fmt.Errorf("symlink %q points outside the tree (to %q)", rel, target)
	}
	resolved := path.Join(path.Dir(rel), filepath.ToSlash(target))
	if resolved == ".." || strings.HasPrefix(resolved, "../") {
		return fmt.Errorf("symlink %q points outside the tree (to %q)", rel, target)
	}
	return nil
}

// ReadTree reads a directory into Files (symlinks as Symlink, never followed), refusing
// anything that resolves outside dir, anything that is neither a file, a directory nor a
// symlink, and trees beyond 10,000 files or 100 MiB.
func ReadTree(dir string) ([]File, error) {
	var files []File
	var total int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir || d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		f, err := readEntry(p, rel, d)
		if err != nil {
			return err
		}
		total += int64(len(f.Content))
		if len(files) >= defaultMaxFiles || total > defaultMaxTotalBytes {
			return fmt.Errorf("tree exceeds %d files or %d bytes", defaultMaxFiles, defaultMaxTotalBytes)
		}
		files = append(files, f)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", dir, err)
	}
	return files, nil
}

func readEntry(p, rel string, d fs.DirEntry) (File, error) {
	switch {
	case d.Type()&fs.ModeSymlink != 0:
		target, err := os.Readlink(p)
		if err != nil {
			return File{}, err
		}
		if err := checkLink(rel, target); err != nil {
			return File{}, err
		}
		return File{Path: rel, Symlink: target}, nil
	case !d.Type().IsRegular():
		return File{}, fmt.Errorf("%q is not a regular file, directory or symlink", rel)
	}
	info, err := d.Info()
	if err != nil {
		return File{}, err
	}
	content, err := os.ReadFile(p)
	if err != nil {
		return File{}, err
	}
	return File{Path: rel, Content: content, Executable: info.Mode()&0o111 != 0}, nil
}
