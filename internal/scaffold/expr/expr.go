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
	// MaxEvaluateBytes bounds everything one Evaluate produces (a step's whole input, a template's whole
	// output), which MaxOutputBytes bounds only per string; default 4 × MaxOutputBytes.
	MaxEvaluateBytes int
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
	if o.MaxEvaluateBytes <= 0 {
		o.MaxEvaluateBytes = 4 * o.MaxOutputBytes
	}
	return &Engine{opts: o, cache: newParseCache()}
}

// RenderOptions selects the dialect of one Render.
type RenderOptions struct {
	Cookiecutter bool // variables delimited by {{ }} instead of ${{ }} (cookiecutterCompat); `jsonify` filter
	// Jinja adds Jinja2's dict methods items(), keys(), values() and get(key[, default]) to objects (a
	// member of that name still wins): real cookiecutter templates (fetch:cookiecutter) use them; Nunjucks
	// and so Backstage's fetch:template do not have them.
	Jinja        bool
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
// template and the line. Parts of the text computed from a Secret of vars come out as "***";
// RenderTracked returns them.
func (e *Engine) Render(name, text string, vars map[string]any, o RenderOptions) (string, error) {
	out, secret, err := e.RenderTracked(name, text, vars, o)
	return Redact(out, secret), err
}

// RenderTracked renders like Render and also returns the parts of the text that were computed from a
// Secret of vars: each output computed from one, or the whole text when an {% if %} or {% for %}
// depended on one. Whoever shows or stores the text redacts them.
func (e *Engine) RenderTracked(name, text string, vars map[string]any, o RenderOptions) (out string, secret []string, err error) {
	defer recoverTo(&err, name)
	body, err := e.cache.parse(text, o)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", name, err)
	}
	st := newState(e.opts, vars)
	st.jinja = o.Jinja
	if err := st.execBody(body); err != nil {
		return "", nil, fmt.Errorf("%s: %w", name, st.sanitize(err))
	}
	out = st.out.String()
	switch {
	case st.taint.all && strings.TrimSpace(out) != "":
		secret = []string{out}
	case !st.taint.all && len(st.taint.parts) > 0:
		secret = nonBlank(st.taint.parts)
	}
	if len(secret) == 0 {
		secret = nil
	}
	return out, secret, nil
}

// recoverTo turns a panic (a bug, never expected) into an error naming the template, so that
// one bad template cannot take down the server rendering it.
func recoverTo(err *error, name string) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%s: internal error while rendering: %v", name, r)
	}
}

// Evaluate walks a YAML value (string, map[string]any, Map, []any, numbers, bools, nil) and
// renders every string in it against vars, as Backstage renders a step's input, `if`, `each` and
// a template's output:
//   - a string that is exactly one ${{ expr }} (nothing around it, not even whitespace) keeps the
//     expression's value and type (number, bool, object, array, string, null) — Backstage dumps it to
//     JSON and parses it back — and is undefined only when the value is;
//   - a string that is exactly one tag ({% if %}…{% endif %}) is rendered and, when the text parses as
//     JSON, is that JSON value;
//   - any other string renders to a string; one that renders to "" is undefined.
//
// An undefined member of an object is left out (as JSON leaves undefined out), an undefined array item is
// nil, and an undefined whole is nil. Objects keep their order (a Map stays a Map). Map keys are not
// templated. Errors name the path and the expression, e.g.
// `input.values.name: ${{ parameters.x | nope }}: unknown filter "nope"`.
//
// A value computed from a Secret of vars comes back wrapped in a Secret (a string only partly
// computed from one records which parts); Reveal, Conceal and Literals deal with them.
func (e *Engine) Evaluate(v any, vars map[string]any) (out any, err error) {
	defer recoverTo(&err, "expression")
	budget := e.opts.MaxEvaluateBytes
	out, _, err = e.walk(v, "", vars, &budget)
	return out, err
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// walk evaluates v; defined is false when the result is undefined.
func (e *Engine) walk(v any, path string, vars map[string]any, budget *int) (out any, defined bool, err error) {
	switch x := v.(type) {
	case string:
		out, defined, err := e.evalString(x, path, vars)
		if err == nil {
			err = e.spend(budget, out)
		}
		return out, defined, err
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, item := range x {
			r, ok, err := e.walk(item, joinPath(path, k), vars, budget)
			if err != nil {
				return nil, false, err
			}
			if ok {
				out[k] = r
			}
		}
		return out, true, nil
	case *object:
		out := newObject()
		for _, k := range x.keys {
			r, ok, err := e.walk(x.vals[k], joinPath(path, k), vars, budget)
			if err != nil {
				return nil, false, err
			}
			if ok {
				out.set(k, r)
			}
		}
		return out, true, nil
	case []any:
		out := make([]any, len(x))
		for i, item := range x {
			r, _, err := e.walk(item, fmt.Sprintf("%s[%d]", path, i), vars, budget)
			if err != nil {
				return nil, false, err
			}
			out[i] = r
		}
		return out, true, nil
	}
	return v, true, nil
}

func (e *Engine) evalString(s, path string, vars map[string]any) (any, bool, error) {
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
		return nil, false, fail(err)
	}
	st := newState(e.opts, vars)
	if len(body) == 1 {
		if o, ok := body[0].(outputStmt); ok {
			// The value keeps its secrets where they are: ${{ parameters }} is an object with one secret member.
			v, err := st.evalNode(o.x)
			if err != nil {
				return nil, false, fail(st.sanitize(err))
			}
			p := st.wrapRead(v)
			if sec, ok := p.(Secret); ok && !jsonDefined(norm(sec.v)) {
				return nil, false, nil
			}
			if !jsonDefined(norm(p)) {
				return nil, false, nil
			}
			return plain(p), true, nil
		}
	}
	if err := st.execBody(body); err != nil {
		return nil, false, fail(st.sanitize(err))
	}
	if st.out.Len() == 0 {
		return nil, false, nil
	}
	var out any = st.out.String()
	if _, text := body[0].(textStmt); len(body) == 1 && !text {
		// One tag and nothing else: Backstage parses what it renders as JSON when it can.
		if v, err := DecodeJSON([]byte(st.out.String())); err == nil {
			out = plain(v)
		}
	}
	switch {
	case st.taint.all:
		return NewSecret(out), true, nil
	case len(st.taint.parts) > 0:
		if str, ok := out.(string); ok {
			return Secret{v: str, parts: nonBlank(st.taint.parts)}, true, nil
		}
		return NewSecret(out), true, nil
	}
	return out, true, nil
}

// jsonDefined tells whether JSON.stringify keeps v (undefined and functions it drops).
func jsonDefined(v any) bool {
	switch v.(type) {
	case undefined, method:
		return false
	}
	return true
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

// SyntaxError is a string of a template that does not parse.
type SyntaxError struct {
	Path   string // where the string is, e.g. "spec.steps[0].input.message"
	Source string // the string (cut at 200 bytes)
	Err    error
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("%s: %s: %v", e.Path, e.Source, e.Err) }
func (e *SyntaxError) Unwrap() error { return e.Err }

// Check parses every string of v (a step's input or `if`, a template's output) as Evaluate would, without
// evaluating anything, and returns a SyntaxError for each string that does not parse (a syntax error, an
// unknown filter), its path under the given one.
func Check(v any, path string) []*SyntaxError {
	var errs []*SyntaxError
	var walk func(v any, path string, depth int)
	walk = func(v any, path string, depth int) {
		if depth > 100 {
			return
		}
		switch x := v.(type) {
		case string:
			if _, err := parse(x, RenderOptions{}.syntax(), false); err != nil {
				src := x
				if len(src) > 200 {
					src = src[:200] + "..."
				}
				errs = append(errs, &SyntaxError{Path: path, Source: src, Err: err})
			}
		case map[string]any:
			for k, item := range x {
				walk(item, joinPath(path, k), depth+1)
			}
		case []any:
			for i, item := range x {
				walk(item, fmt.Sprintf("%s[%d]", path, i), depth+1)
			}
		}
	}
	walk(v, path, 0)
	sort.Slice(errs, func(i, j int) bool { return errs[i].Path < errs[j].Path })
	return errs
}
