package actions

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/goldenpathidp/goldenpath/internal/scaffold"
	"github.com/goldenpathidp/goldenpath/internal/scaffold/expr"
	"github.com/goldenpathidp/goldenpath/internal/scaffold/skeleton"
)

// fetch:cookiecutter renders a cookiecutter template with goldenpath's engine in cookiecutter mode ({{ }},
// `cookiecutter.x`, Jinja2's Python methods such as .items() and .lower()), instead of running cookiecutter
// in a container. As in Backstage, the fetched directory is the project: every file and path is rendered,
// with the values given. The template's cookiecutter.json, when the directory has one, gives the defaults,
// as cookiecutter does: in its order, string defaults rendered with the values before them, a list's first
// item as a choice's default, keys starting with "_" kept raw; values given override them.
// _copy_without_render (the input copyWithoutRender, or the key) names files copied without rendering their
// content. Jinja2 extensions and cookiecutter hooks are not run (the log says so).

// Cookiecutter is fetch:cookiecutter.
func Cookiecutter(engine *expr.Engine, remote Remote) scaffold.Action {
	f := fetcher{remote: remote}
	return &action{
		id:          "fetch:cookiecutter",
		description: "Downloads a template from the given URL into the workspace, and renders it as cookiecutter does (goldenpath's engine in cookiecutter mode).",
		input: object(map[string]any{
			"url":               str("Relative path or absolute URL pointing to the directory tree to fetch"),
			"targetPath":        str("Target path within the working directory to download the contents to."),
			"values":            map[string]any{"type": "object", "title": "Values to pass on to cookiecutter for templating"},
			"copyWithoutRender": strs("Avoid rendering directories and files in the template"),
			"extensions":        strs("Jinja2 extensions (not available: goldenpath renders with its own engine; refused when given)"),
			"imageName":         str("Cookiecutter Docker image (unused: no container is run)"),
		}, "url"),
		run: func(ctx context.Context, ac *scaffold.ActionContext) error {
			if exts := ac.Strings("extensions"); len(exts) > 0 {
				return fmt.Errorf("input.extensions: Jinja2 extensions (%s) cannot run in goldenpath's engine", strings.Join(exts, ", "))
			}
			url := ac.String("url", "")
			files, err := f.files(ctx, ac, url)
			if err != nil {
				return err
			}
			values, _ := expr.AsMap(ac.SecretInput("values"))
			cc, err := cookiecutterContext(engine, files, values)
			if err != nil {
				return err
			}
			raw := ac.Strings("copyWithoutRender")
			if list, ok := cc.Get("_copy_without_render"); ok && len(raw) == 0 {
				for _, x := range anyList(list) {
					raw = append(raw, fmt.Sprint(x))
				}
			}
			for _, h := range files {
				if strings.HasPrefix(h.Path, "hooks/") {
					ac.Logf("%s: cookiecutter hooks are not run", h.Path)
				}
			}
			rendered, err := skeleton.Render(engine, files, skeleton.Options{
				Values: flatMap(cc), CookiecutterCompat: true, Jinja: true, CopyWithoutTemplating: copyGlobs(raw),
			})
			if err != nil {
				return err
			}
			for _, r := range rendered {
				ac.AddSecret(r.Secret...)
			}
			ac.Logf("Rendered %d files of %s with cookiecutter values", len(rendered), url)
			return write(ac, ac.String("targetPath", "./"), rendered, true)
		},
	}
}

func anyList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return nil
}

func flatMap(m *expr.Map) map[string]any {
	out := make(map[string]any, m.Len())
	for _, k := range m.Keys() {
		out[k], _ = m.Get(k)
	}
	return out
}

// copyGlobs turns _copy_without_render's patterns (fnmatch, relative to the generated project) into the
// skeleton's globs: each pattern also applies inside a top-level project directory ({{cookiecutter.slug}}/),
// and one without a slash at any depth (fnmatch's * crosses slashes).
func copyGlobs(patterns []string) []string {
	var out []string
	for _, p := range patterns {
		p = strings.TrimPrefix(p, "./")
		out = append(out, p, "*/"+p)
		if !strings.Contains(p, "/") {
			out = append(out, "**/"+p)
		}
	}
	return out
}

// cookiecutterContext is cookiecutter.json's defaults (if the template has one) overridden by values.
func cookiecutterContext(engine *expr.Engine, files []skeleton.File, values map[string]any) (*expr.Map, error) {
	cc := expr.NewMap()
	var defaults *expr.Map
	for _, f := range files {
		if f.Path != "cookiecutter.json" {
			continue
		}
		v, err := expr.DecodeJSON(f.Content)
		if err != nil {
			return nil, fmt.Errorf("cookiecutter.json: %w", err)
		}
		m, ok := v.(*expr.Map)
		if !ok {
			return nil, fmt.Errorf("cookiecutter.json: want an object")
		}
		defaults = m
	}
	if defaults != nil {
		for _, k := range defaults.Keys() {
			if v, given := values[k]; given {
				cc.Set(k, v)
				continue
			}
			def, _ := defaults.Get(k)
			v, err := cookiecutterDefault(engine, k, def, cc)
			if err != nil {
				return nil, err
			}
			cc.Set(k, v)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(values)) {
		if _, set := cc.Get(k); !set {
			cc.Set(k, values[k])
		}
	}
	return cc, nil
}

// cookiecutterDefault is one default as cookiecutter computes it without prompting.
func cookiecutterDefault(engine *expr.Engine, key string, def any, sofar *expr.Map) (any, error) {
	if strings.HasPrefix(key, "_") && !strings.HasPrefix(key, "__") {
		return def, nil // private: raw
	}
	render := func(s string) (any, error) {
		out, secret, err := engine.RenderTracked("cookiecutter.json: "+key, s, map[string]any{"cookiecutter": flatMap(sofar)},
			expr.RenderOptions{Cookiecutter: true, Jinja: true})
		if err != nil {
			return nil, err
		}
		if len(secret) > 0 {
			return expr.NewSecret(out), nil // a default computed from a secret value stays one
		}
		return out, nil
	}
	switch d := def.(type) {
	case string:
		return render(d)
	case []any:
		if len(d) == 0 {
			return nil, fmt.Errorf("cookiecutter.json: %s: an empty list of choices", key)
		}
		if s, ok := d[0].(string); ok {
			return render(s)
		}
		return d[0], nil
	}
	return def, nil
}
