package actions

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/goldenpathidp/goldenpath/internal/scaffold"
	"github.com/goldenpathidp/goldenpath/internal/scaffold/expr"
	"github.com/goldenpathidp/goldenpath/internal/scaffold/skeleton"
)

// Remote reads files from absolute URLs the platform allows: the embedded forge, and hosts mapped onto
// it. Anything else is refused, so a template cannot make goldenpath fetch arbitrary addresses.
type Remote interface {
	Files(ctx context.Context, rawURL string) ([]skeleton.File, error)
}

// fetcher reads a fetch action's url: relative to the template, or through Remote.
type fetcher struct {
	remote Remote
}

func (f fetcher) files(ctx context.Context, ac *scaffold.ActionContext, url string) ([]skeleton.File, error) {
	if strings.Contains(url, "://") {
		if f.remote == nil {
			return nil, fmt.Errorf("url %q: fetching from URLs is not configured; use a path relative to the template", url)
		}
		return f.remote.Files(ctx, url)
	}
	if ac.Source == nil {
		return nil, fmt.Errorf("url %q: the template has no location to read it from", url)
	}
	return ac.Source.Files(ctx, url)
}

// FetchTemplate is fetch:template.
func FetchTemplate(engine *expr.Engine, remote Remote) scaffold.Action {
	f := fetcher{remote: remote}
	return &action{
		id:          "fetch:template",
		description: "Downloads a skeleton, templates its paths and contents with the given values, and puts it in the workspace.",
		input: object(map[string]any{
			"url":                   str("Relative path (to the template) or URL of the skeleton directory"),
			"targetPath":            str("Target path within the workspace (default ./)"),
			"values":                map[string]any{"type": "object", "title": "Values available as ${{ values.x }}"},
			"copyWithoutTemplating": strs("Globs of files copied without templating their contents (paths are still templated)"),
			"copyWithoutRender":     strs("Deprecated: use copyWithoutTemplating"),
			"cookiecutterCompat":    boolean("Use {{ cookiecutter.x }} syntax and the jsonify filter"),
			"templateFileExtension": anyOf("Only template files with this extension (true = .njk), and drop it", "string", "boolean"),
			"replace":               boolean("Replace files already in the workspace"),
			"trimBlocks":            boolean("Remove the first newline after a block"),
			"lstripBlocks":          boolean("Strip whitespace before a block on its line"),
			"token":                 str("Token for the source (unused: goldenpath reads its own forge)"),
		}, "url"),
		run: func(ctx context.Context, ac *scaffold.ActionContext) error {
			opts, err := templateOptions(ac)
			if err != nil {
				return err
			}
			files, err := f.files(ctx, ac, ac.String("url", ""))
			if err != nil {
				return err
			}
			ac.Logf("Fetched %d files from %s", len(files), ac.String("url", ""))
			rendered, err := skeleton.Render(engine, files, opts)
			if err != nil {
				return err
			}
			for _, f := range rendered {
				ac.AddSecret(f.Secret...) // what a file shows of a secret is hidden wherever the file is shown
			}
			return write(ac, ac.String("targetPath", "./"), rendered, ac.Bool("replace", false))
		},
	}
}

func templateOptions(ac *scaffold.ActionContext) (skeleton.Options, error) {
	values := ac.SecretInput("values") // secret values stay marked, so the files say what they show of them
	o := skeleton.Options{
		Values:                values,
		CopyWithoutTemplating: ac.Strings("copyWithoutTemplating"),
		CopyWithoutRender:     ac.Strings("copyWithoutRender"),
		CookiecutterCompat:    ac.Bool("cookiecutterCompat", false),
		TrimBlocks:            ac.Bool("trimBlocks", false),
		LstripBlocks:          ac.Bool("lstripBlocks", false),
	}
	switch ext := ac.Input["templateFileExtension"].(type) {
	case bool:
		if ext {
			o.TemplateFileExtension = ".njk"
		}
	case string:
		if ext != "" && !strings.HasPrefix(ext, ".") {
			ext = "." + ext
		}
		o.TemplateFileExtension = ext
	}
	if len(o.CopyWithoutTemplating) > 0 && len(o.CopyWithoutRender) > 0 {
		return o, fmt.Errorf("input: copyWithoutTemplating and copyWithoutRender cannot be used together (copyWithoutRender is the deprecated name)")
	}
	if o.TemplateFileExtension != "" && (len(o.CopyWithoutTemplating) > 0 || len(o.CopyWithoutRender) > 0 || o.CookiecutterCompat) {
		return o, fmt.Errorf("input: templateFileExtension cannot be combined with copyWithoutTemplating, copyWithoutRender or cookiecutterCompat")
	}
	return o, nil
}

// write puts files under the workspace's targetPath.
func write(ac *scaffold.ActionContext, targetPath string, files []skeleton.File, replace bool) error {
	dir, err := skeleton.Rel(targetPath)
	if err != nil {
		return fmt.Errorf("input.targetPath: %w", err)
	}
	written, kept, err := ac.Workspace.WriteTree(dir, files, replace)
	if err != nil {
		return err
	}
	for _, k := range kept {
		ac.Logf("Kept existing %s (replace is false)", k)
	}
	ac.Logf("Wrote %d files to %s", len(written), displayPath(targetPath))
	return nil
}

func displayPath(p string) string {
	if p == "" || p == "." || p == "./" {
		return "the workspace"
	}
	return path.Clean(p)
}

// FetchPlain is fetch:plain.
func FetchPlain(remote Remote) scaffold.Action {
	f := fetcher{remote: remote}
	return &action{
		id:          "fetch:plain",
		description: "Downloads a directory and puts it in the workspace without templating.",
		input: object(map[string]any{
			"url":        str("Relative path (to the template) or URL of the directory"),
			"targetPath": str("Target path within the workspace (default ./)"),
			"token":      str("Token for the source (unused)"),
		}, "url"),
		run: func(ctx context.Context, ac *scaffold.ActionContext) error {
			files, err := f.files(ctx, ac, ac.String("url", ""))
			if err != nil {
				return err
			}
			return write(ac, ac.String("targetPath", "./"), files, true)
		},
	}
}

// FetchPlainFile is fetch:plain:file.
func FetchPlainFile(remote Remote) scaffold.Action {
	f := fetcher{remote: remote}
	return &action{
		id:          "fetch:plain:file",
		description: "Downloads a single file and puts it in the workspace without templating.",
		input: object(map[string]any{
			"url":        str("Relative path (to the template) or URL of the file"),
			"targetPath": str("Path of the file within the workspace"),
			"token":      str("Token for the source (unused)"),
		}, "url", "targetPath"),
		run: func(ctx context.Context, ac *scaffold.ActionContext) error {
			files, err := f.files(ctx, ac, ac.String("url", ""))
			if err != nil {
				return err
			}
			if len(files) != 1 {
				return fmt.Errorf("url %q: names %d files, want exactly one file", ac.String("url", ""), len(files))
			}
			// A symlink at targetPath is replaced, not written through.
			if err := ac.Workspace.WriteFile(ac.String("targetPath", ""), files[0].Content, files[0].Executable); err != nil {
				return fmt.Errorf("input.targetPath: %w", err)
			}
			ac.Logf("Wrote %s", ac.String("targetPath", ""))
			return nil
		},
	}
}
