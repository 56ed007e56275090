// Package expr evaluates Backstage's template language: Nunjucks with ${{ }} as variable
// delimiters, autoescape off, Backstage's extra filters (parseRepoUrl, parseEntityRef, pick,
// projectSlug) and JavaScript semantics for values (undefined, +, ==, truthiness, number
// formatting), so that scaffolder.backstage.io/v1beta3 templates run unmodified.
//
// The engine is written for this purpose rather than built on a Jinja library because
// Nunjucks differs from Jinja where templates notice it: true renders as "true", [1,2] as
// "1,2", 4/2 as "2"; a member of an undefined value is undefined, not an error; "+"
// concatenates like JavaScript; {a: 1} has the key "a"; regular expression literals r/x/g
// exist. It is also sandboxed: templates reach only map keys, slice items and a fixed set
// of filters and string/array methods, and every render is bounded in time, output size,
// loop length and nesting.
package expr

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// ErrLimit is wrapped by every error that stops a render because it exceeded a limit of
// Options (time, output size, loop length) or nested too deeply.
var ErrLimit = errors.New("template limit exceeded")

// Options bounds every render. Zero fields take the defaults.
type Options struct {
	MaxOutputBytes int           // per render; default 4 MiB
	Timeout        time.Duration // per render; default 2s
	MaxLoop        int           // max iterations of any one loop / range(); default 10_000
}

// Engine renders templates. It holds no per-render state and is safe for concurrent use.
type Engine struct {
	opts  Options
	cache *parseCache
}

// New returns an Engine with o's limits (defaults for zero fields).
func New(o Options) *Engine {
	if o.MaxOutputBytes <= 0 {
		o.MaxOutputBytes = 4 << 20
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Second
	}
	if o.MaxLoop <= 0 {
		o.MaxLoop = 10_000
	}
	return &Engine{opts: o, cache: newParseCache()}
}

// RenderOptions selects the dialect of one Render.
type RenderOptions struct {
	Cookiecutter bool // variables delimited by {{ }} instead of ${{ }} (cookiecutterCompat); `jsonify` filter
	TrimBlocks   bool // Jinja/Nunjucks trimBlocks
	LstripBlocks bool // Jinja/Nunjucks lstripBlocks
}

func (o RenderOptions) syntax() syntax {
	s := syntax{varStart: "${{", varEnd: "}}", trimBlocks: o.TrimBlocks, lstripBlocks: o.LstripBlocks}
	if o.Cookiecutter {
		s.varStart = "{{"
	}
	return s
}

// Render renders a whole text (a skeleton file or path) to a string. Errors name the
// template and the line.
func (e *Engine) Render(name, text string, vars map[string]any, o RenderOptions) (out string, err error) {
	defer recoverTo(&err, name)
	body, err := e.cache.parse(text, o)
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	st := newState(e.opts, vars)
	if err := st.execBody(body); err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return st.out.String(), nil
}

// recoverTo turns a panic (a bug, never expected) into an error naming the template, so that
// one bad template cannot take down the server rendering it.
func recoverTo(err *error, name string) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%s: internal error while rendering: %v", name, r)
	}
}

// Evaluate walks a YAML value (string, map[string]any, []any, numbers, bools, nil) and
// renders every string in it against vars. A string that is exactly one ${{ expr }}
// (surrounding whitespace allowed) keeps the expression's value and type (number, bool,
// object, array, string); if that value is "" or undefined the result is nil. Any other
// string renders to a string, or to nil when it renders to "" (Backstage turns an empty
// result into undefined). Map keys are not templated. Errors name the path and the
// expression, e.g. `input.values.name: ${{ parameters.x | nope }}: unknown filter "nope"`.
func (e *Engine) Evaluate(v any, vars map[string]any) (out any, err error) {
	defer recoverTo(&err, "expression")
	return e.walk(v, "", vars)
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (e *Engine) walk(v any, path string, vars map[string]any) (any, error) {
	switch x := v.(type) {
	case string:
		return e.evalString(x, path, vars)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, item := range x {
			r, err := e.walk(item, joinPath(path, k), vars)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, item := range x {
			r, err := e.walk(item, fmt.Sprintf("%s[%d]", path, i), vars)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	return v, nil
}

func (e *Engine) evalString(s, path string, vars map[string]any) (any, error) {
	fail := func(err error) error {
		var le *lineError
		if errors.As(err, &le) && le == err && !strings.Contains(s, "\n") {
			err = le.err // a one-line value needs no line number
		}
		src := s
		if len(src) > 200 {
			src = src[:200] + "..."
		}
		if path == "" {
			return fmt.Errorf("%s: %w", src, err)
		}
		return fmt.Errorf("%s: %s: %w", path, src, err)
	}
	body, err := e.cache.parse(s, RenderOptions{})
	if err != nil {
		return nil, fail(err)
	}
	st := newState(e.opts, vars)
	if x, ok := singleExpression(body); ok {
		v, err := st.eval(x)
		if err != nil {
			return nil, fail(err)
		}
		if p := plain(v); p != "" {
			return p, nil
		}
		return nil, nil
	}
	if err := st.execBody(body); err != nil {
		return nil, fail(err)
	}
	if st.out.Len() == 0 {
		return nil, nil
	}
	return st.out.String(), nil
}

// singleExpression returns the expression of a template that is exactly one ${{ expr }},
// give or take surrounding whitespace.
func singleExpression(body []stmt) (node, bool) {
	var x node
	for _, s := range body {
		switch s := s.(type) {
		case textStmt:
			if strings.TrimSpace(s.text) != "" {
				return nil, false
			}
		case outputStmt:
			if x != nil {
				return nil, false
			}
			x = s.x
		default:
			return nil, false
		}
	}
	return x, x != nil
}

// Redact replaces every occurrence of every secret string in s with "***", longest secrets
// first so that a secret containing another is hidden whole. Empty secrets are ignored.
func Redact(s string, secrets []string) string {
	sorted := make([]string, 0, len(secrets))
	for _, sec := range secrets {
		if sec != "" {
			sorted = append(sorted, sec)
		}
	}
	// Longest first: strings.NewReplacer tries its old strings in argument order.
	sort.SliceStable(sorted, func(i, j int) bool { return len(sorted[i]) > len(sorted[j]) })
	pairs := make([]string, 0, 2*len(sorted))
	for _, sec := range sorted {
		pairs = append(pairs, sec, "***")
	}
	if len(pairs) == 0 {
		return s
	}
	return strings.NewReplacer(pairs...).Replace(s)
}
