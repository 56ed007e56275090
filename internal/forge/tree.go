package forge

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// File is one file of a tree, with its content.
type File struct {
	Path    string
	Mode    string
	Blob    string // object id
	Content []byte
}

// treeEntry is one line of `git ls-tree`.
type treeEntry struct {
	mode, typ, oid, path string
}

// ReadTree returns every file under prefix ("" = all) at rev, with contents, sorted by path. It runs
// one ls-tree and one `cat-file --batch` process however many files there are.
func (r *Repo) ReadTree(ctx context.Context, rev, prefix string) ([]File, error) {
	prefix = strings.TrimSuffix(prefix, "/")
	if prefix != "" {
		if err := validatePath(prefix); err != nil {
			return nil, fmt.Errorf("prefix: %w", err)
		}
	}
	commit, err := r.ResolveRef(ctx, rev)
	if err != nil {
		return nil, err
	}
	entries, err := r.lsTree(ctx, commit, prefix)
	if err != nil {
		return nil, err
	}
	files := make([]File, 0, len(entries))
	oids := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.typ != "blob" {
			continue // submodule commits have no content here
		}
		files = append(files, File{Path: e.path, Mode: e.mode, Blob: e.oid})
		oids = append(oids, e.oid)
	}
	err = r.catFile(ctx, oids, func(i int, obj object) error {
		if obj.typ != "blob" {
			return fmt.Errorf("object %s of %s: got %s, want blob", oids[i], files[i].Path, obj.typ)
		}
		files[i].Content = obj.data
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading tree %s at %s in %s: %w", prefix, rev, r.name, err)
	}
	return files, nil
}

// lsTree lists the files under prefix ("" = all) in commit, recursively, in git's (path) order.
func (r *Repo) lsTree(ctx context.Context, commit, prefix string) ([]treeEntry, error) {
	args := []string{"ls-tree", "-r", "-z", "--full-tree", commit}
	if prefix != "" {
		args = append(args, "--", prefix)
	}
	out, err := r.git(ctx, runOpts{}, args...)
	if err != nil {
		return nil, fmt.Errorf("listing tree of %s in %s: %w", commit, r.name, err)
	}
	var entries []treeEntry
	for _, rec := range bytes.Split(out, []byte{0}) {
		if len(rec) == 0 {
			continue
		}
		meta, path, ok := strings.Cut(string(rec), "\t")
		fields := strings.Fields(meta)
		if !ok || len(fields) != 3 {
			return nil, fmt.Errorf("listing tree of %s in %s: unexpected entry %q", commit, r.name, rec)
		}
		// The pathspec matches "prefix" as a directory or a file, never "prefix2/...", but say so.
		if prefix != "" && path != prefix && !strings.HasPrefix(path, prefix+"/") {
			continue
		}
		entries = append(entries, treeEntry{mode: fields[0], typ: fields[1], oid: fields[2], path: path})
	}
	return entries, nil
}

// object is one answer of `git cat-file --batch` (typ "missing" when the spec names nothing).
type object struct {
	oid, typ string
	data     []byte
}

// catFile reads the objects named by specs ("<oid>" or "<rev>:<path>") through one
// `cat-file --batch` process and calls fn for each, in order.
func (r *Repo) catFile(ctx context.Context, specs []string, fn func(i int, obj object) error) error {
	return r.batch(ctx, true, specs, fn)
}

// catFileCheck is catFile without contents: types (and "missing") only.
func (r *Repo) catFileCheck(ctx context.Context, specs []string, fn func(i int, obj object) error) error {
	return r.batch(ctx, false, specs, fn)
}

func (r *Repo) batch(ctx context.Context, withData bool, specs []string, fn func(i int, obj object) error) error {
	if len(specs) == 0 {
		return nil
	}
	if err := checkSpecs(specs); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	mode := "--batch-check"
	if withData {
		mode = "--batch"
	}
	cmd := r.f.command(ctx, runOpts{gitDir: r.path}, "cat-file", mode, "--buffer")
	stderr := &cappedBuffer{max: maxStderr}
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("starting git cat-file: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("starting git cat-file: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting git cat-file: %w", err)
	}
	// Write all names while reading answers: cat-file's output pipe would fill up (and deadlock us)
	// if we wrote everything first.
	go writeSpecs(stdin, specs)
	readErr := readObjects(bufio.NewReaderSize(stdout, 64<<10), withData, len(specs), fn)
	if readErr != nil {
		cancel() // stop git; the writer then fails on a closed pipe and exits
	}
	waitErr := cmd.Wait()
	if readErr != nil {
		return readErr
	}
	if waitErr != nil {
		return &gitError{subcommand: "cat-file", stderr: strings.TrimSpace(stderr.String()), err: waitErr}
	}
	return nil
}

// checkSpecs guards the line-based protocol: a newline in a name would shift every later answer.
func checkSpecs(specs []string) error {
	for _, s := range specs {
		if strings.ContainsAny(s, "\n\x00") {
			return fmt.Errorf("object name %q must not contain newlines", s)
		}
	}
	return nil
}

func writeSpecs(w io.WriteCloser, specs []string) {
	bw := bufio.NewWriterSize(w, 64<<10)
	for _, s := range specs {
		if _, err := bw.WriteString(s + "\n"); err != nil {
			break
		}
	}
	_ = bw.Flush() // a failure means git died; the reader reports why
	_ = w.Close()
}

func readObjects(br *bufio.Reader, withData bool, n int, fn func(i int, obj object) error) error {
	for i := range n {
		obj, err := readObject(br, withData)
		if err != nil {
			return fmt.Errorf("reading git cat-file output: %w", err)
		}
		if err := fn(i, obj); err != nil {
			return err
		}
	}
	return nil
}

// readObject parses "<oid> <type> <size>\n<data>\n" or "<spec> missing\n".
func readObject(br *bufio.Reader, withData bool) (object, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		if errors.Is(err, io.EOF) {
			return object{}, io.ErrUnexpectedEOF
		}
		return object{}, err
	}
	line = strings.TrimSuffix(line, "\n")
	fields := strings.Fields(line)
	if len(fields) != 3 || !isHexString(fields[0]) {
		if strings.HasSuffix(line, " missing") || strings.HasSuffix(line, " ambiguous") {
			return object{typ: "missing"}, nil
		}
		return object{}, fmt.Errorf("unexpected header %q", line)
	}
	size, err := strconv.ParseInt(fields[2], 10, 64)
	if err != nil || size < 0 {
		return object{}, fmt.Errorf("unexpected size in header %q", line)
	}
	obj := object{oid: fields[0], typ: fields[1]}
	if !withData {
		return obj, nil
	}
	obj.data = make([]byte, size+1) // content plus git's trailing newline
	if _, err := io.ReadFull(br, obj.data); err != nil {
		return object{}, fmt.Errorf("reading object %s: %w", obj.oid, err)
	}
	obj.data = obj.data[:size]
	return obj, nil
}

func isHexString(s string) bool {
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return s != ""
}
