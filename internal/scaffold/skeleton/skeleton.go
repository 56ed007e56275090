// Package skeleton renders a Backstage template skeleton the way the fetch:template action
// does: every path and every text file is rendered with the template's values (as `values`,
// or `cookiecutter` with {{ }} in cookiecutter mode), binary files and symlinks are copied
// raw, and files matched by copyWithoutTemplating are copied without rendering their
// content. Values may hold expr.Secrets: a file rendered from one says which of its parts are
// secret. Workspace reads and writes such file trees in a directory they cannot leave.
package skeleton

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/goldenpathidp/goldenpath/internal/scaffold/expr"
)

// File is one file of a skeleton or of the rendered output.
type File struct {
	Path       string // slash-separated, relative
	Content    []byte
	Executable bool
	Symlink    string // target if the file is a symlink (copied raw, never followed)
	// Secret lists the parts of Content and Path that were rendered from a secret value: whoever shows
	// the file (a dry run, a log) redacts them.
	Secret []string
}

// Options are the inputs of fetch:template that shape rendering.
type Options struct {
	Values any // the template's `values`, an object (context `values.*`, or `cookiecutter.*`)
	// CopyWithoutTemplating lists globs (matched against the path relative to the skeleton
	// root) of files whose contents are copied raw; their paths are still rendered.
	CopyWithoutTemplating []string
	// CopyWithoutRender is the deprecated form. As in Backstage, matched files are copied
	// with neither content nor path rendered. Setting both is an error.
	CopyWithoutRender  []string
	CookiecutterCompat bool
	// Jinja gives objects Jinja2's items(), keys(), values() and get() (expr.RenderOptions.Jinja): for real
	// cookiecutter templates (fetch:cookiecutter), not for fetch:template.
	Jinja bool
	// TemplateFileExtension: "" templates every file; ".njk" (true → ".njk" at the action
	// layer) templates only files with the extension, which is removed. It excludes the copy
	// options and CookiecutterCompat.
	TemplateFileExtension    string
	TrimBlocks, LstripBlocks bool
	MaxFiles                 int   // default 10_000
	MaxTotalBytes            int64 // default 100 MiB
}

const (
	defaultMaxFiles      = 10_000
	defaultMaxTotalBytes = 100 << 20
	binarySniffBytes     = 8 << 10
)

func (o *Options) validate() error {
	if len(o.CopyWithoutTemplating) > 0 && len(o.CopyWithoutRender) > 0 {
		return errors.New("copyWithoutRender and copyWithoutTemplating cannot both be set: use copyWithoutTemplating")
	}
	if o.TemplateFileExtension != "" {
		if len(o.CopyWithoutTemplating)+len(o.CopyWithoutRender) > 0 {
			return errors.New("templateFileExtension cannot be combined with copyWithoutTemplating or copyWithoutRender")
		}
		if o.CookiecutterCompat {
			return errors.New("templateFileExtension cannot be combined with cookiecutterCompat")
		}
		if !strings.HasPrefix(o.TemplateFileExtension, ".") {
			o.TemplateFileExtension = "." + o.TemplateFileExtension
		}
	}
	if o.MaxFiles <= 0 {
		o.MaxFiles = defaultMaxFiles
	}
	if o.MaxTotalBytes <= 0 {
		o.MaxTotalBytes = defaultMaxTotalBytes
	}
	return nil
}

// IsBinary reports whether content is copied raw rather than rendered: a NUL byte in the
// first 8 KiB, or not valid UTF-8.
func IsBinary(content []byte) bool {
	return bytes.IndexByte(content[:min(len(content), binarySniffBytes)], 0) >= 0 || !utf8.Valid(content)
}

// Render renders the skeleton files: each path is rendered (a path that renders to "" or
// whose directory part renders to "" is skipped), each text file's content is rendered
// unless excluded, binary files (NUL byte in the first 8 KiB, or not valid UTF-8) and
// symlinks are copied raw. The result is sorted by path.
func Render(e *expr.Engine, files []File, o Options) ([]File, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	if len(files) > o.MaxFiles {
		return nil, fmt.Errorf("skeleton has %d files, more than the limit of %d", len(files), o.MaxFiles)
	}
	r, err := newRenderer(e, o)
	if err != nil {
		return nil, err
	}
	var out []File
	from := map[string]string{}
	var total int64
	for _, f := range files {
		rf, ok, err := r.file(f)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if prev, dup := from[rf.Path]; dup {
			return nil, fmt.Errorf("skeleton files %q and %q both render to %q", prev, f.Path, rf.Path)
		}
		from[rf.Path] = f.Path
		if total += int64(len(rf.Content)); total > o.MaxTotalBytes {
			return nil, fmt.Errorf("rendered skeleton exceeds %d bytes", o.MaxTotalBytes)
		}
		out = append(out, rf)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

type renderer struct {
	e       *expr.Engine
	o       Options
	vars    map[string]any
	ropts   expr.RenderOptions
	raw     *matcher
	rawPath bool // matched files keep their path unrendered (copyWithoutRender)
}

func newRenderer(e *expr.Engine, o Options) (*renderer, error) {
	patterns, rawPath := o.CopyWithoutTemplating, false
	if len(o.CopyWithoutRender) > 0 {
		patterns, rawPath = o.CopyWithoutRender, true
	}
	m, err := newMatcher(patterns)
	if err != nil {
		return nil, err
	}
	values := o.Values
	if values == nil {
		values = map[string]any{}
	}
	vars := map[string]any{"values": values}
	if o.CookiecutterCompat {
		vars = map[string]any{"cookiecutter": values}
	}
	return &renderer{e: e, o: o, vars: vars, raw: m, rawPath: rawPath, ropts: expr.RenderOptions{
		Cookiecutter: o.CookiecutterCompat, TrimBlocks: o.TrimBlocks, LstripBlocks: o.LstripBlocks, Jinja: o.Jinja,
	}}, nil
}

// file renders one skeleton file; ok is false when its rendered path says to skip it.
func (r *renderer) file(f File) (File, bool, error) {
	src, err := cleanPath(f.Path)
	if err != nil {
		return File{}, false, err
	}
	renderContent, renderPath, outPath := true, true, src
	if ext := r.o.TemplateFileExtension; ext != "" {
		renderContent = strings.HasSuffix(src, ext) && len(path.Base(src)) > len(ext)
		if renderContent {
			outPath = strings.TrimSuffix(src, ext)
		}
	} else if r.raw.match(src) {
		renderContent, renderPath = false, !r.rawPath
	}
	var secret []string
	if renderPath {
		if outPath, secret, err = r.e.RenderTracked(src+" (path)", outPath, r.vars, r.ropts); err != nil {
			return File{}, false, err
		}
	}
	if skipped(outPath) {
		return File{}, false, nil
	}
	if outPath, err = cleanPath(outPath); err != nil {
		return File{}, false, fmt.Errorf("skeleton file %q: rendered path: %w", src, err)
	}
	out := File{Path: outPath, Content: f.Content, Executable: f.Executable, Symlink: f.Symlink, Secret: secret}
	if f.Symlink != "" || !renderContent || IsBinary(f.Content) {
		return out, true, nil
	}
	text, parts, err := r.e.RenderTracked(src, string(f.Content), r.vars, r.ropts)
	if err != nil {
		return File{}, false, err
	}
	out.Content, out.Secret = []byte(text), append(out.Secret, parts...)
	return out, true, nil
}

// skipped reports whether a rendered path drops its file, as Backstage's
// containsSkippedContent does: the name, or a directory on the way, rendered to "".
func skipped(p string) bool {
	return p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, "//") || strings.HasSuffix(p, "/")
}

// cleanPath checks a slash-separated relative path and returns it cleaned.
func cleanPath(p string) (string, error) {
	switch {
	case p == "":
		return "", fmt.Errorf("path %q is empty", p)
	case strings.ContainsRune(p, 0):
		return "", fmt.Errorf("path %q contains a NUL byte", p)
	case strings.HasPrefix(p, "/") || strings.Contains(p, `\`) || (len(p) > 1 && p[1] == ':'):
		return "", fmt.Errorf("path %q must be relative, with / as separator", p)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." {
			return "", fmt.Errorf("path %q must not contain \"..\"", p)
		}
	}
	c := path.Clean(p)
	if c == "." {
		return "", fmt.Errorf("path %q names no file", p)
	}
	return c, nil
}
