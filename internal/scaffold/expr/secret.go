package expr

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strconv"
	"strings"
)

// Secret marks a value as secret. Put one in a render's variables (a task secret, a secret parameter) and
// the engine follows it: a value computed from a secret is secret too, whatever filters, methods or
// operators made it. Evaluate returns such values wrapped in a Secret, and RenderTracked reports which
// parts of its output are secret; the caller redacts them wherever they are shown or stored.
//
// The engine tracks explicit flows (a value computed from a secret) and flows through a template's
// control flow ({% if %} or {% for %} on a secret makes the whole render secret). Whether a step runs
// (`if`) or how often (`each`) is not hidden.
//
// A Secret prints, logs and marshals as "***": it cannot leak by accident.
type Secret struct {
	v any
	// parts are the substrings of v (a string) computed from a secret; nil means all of v.
	parts []string
}

// NewSecret marks v (a string, number, bool, or a map or slice of them) as secret.
func NewSecret(v any) Secret { return Secret{v: v} }

// Reveal returns the value.
func (s Secret) Reveal() any { return Reveal(s.v) }

// Partial reports whether only parts of the value (a string) are secret.
func (s Secret) Partial() bool { return s.parts != nil }

// Literals lists the strings to redact wherever the value may have been copied: the secret parts of a
// partly secret string, otherwise every string and number in the value. Blank strings and booleans are
// left out (they say nothing, and redacting them would blank every log line).
func (s Secret) Literals() []string {
	if s.parts != nil {
		return nonBlank(s.parts)
	}
	var out []string
	literals(s.v, &out)
	return out
}

// Redacted is the value as it may be shown: the secret parts of a string replaced by "***", anything
// else wholly "***".
func (s Secret) Redacted() any {
	if str, ok := s.v.(string); ok && s.parts != nil {
		return Redact(str, s.parts)
	}
	return "***"
}

func (s Secret) String() string               { return "***" }
func (s Secret) GoString() string             { return "expr.Secret(***)" }
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"***"`), nil }
func (s Secret) LogValue() slog.Value         { return slog.StringValue("***") }

func nonBlank(list []string) []string {
	out := make([]string, 0, len(list))
	for _, s := range list {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}

// literals appends the strings and numbers in v to out, and those of each Secret in it.
func literals(v any, out *[]string) {
	eachLeaf(v, func(leaf any) {
		switch x := leaf.(type) {
		case Secret:
			*out = append(*out, x.Literals()...)
		case string:
			if strings.TrimSpace(x) != "" {
				*out = append(*out, x)
			}
		case float64:
			*out = append(*out, formatNumber(x))
		case int:
			*out = append(*out, strconv.Itoa(x))
		default:
			if f, ok := num(leaf); ok {
				*out = append(*out, formatNumber(f))
			}
		}
	}, 0)
}

// eachLeaf calls fn with each value in v that is not a []any, map[string]any or Map (a Secret is a leaf),
// going at most 100 containers deep.
func eachLeaf(v any, fn func(any), depth int) {
	if depth > 100 {
		return
	}
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			eachLeaf(e, fn, depth+1)
		}
	case map[string]any:
		for _, e := range x {
			eachLeaf(e, fn, depth+1)
		}
	case *object:
		for _, k := range x.keys {
			eachLeaf(x.vals[k], fn, depth+1)
		}
	default:
		fn(v)
	}
}

// Reveal returns v with every Secret in it replaced by its value (v itself when it holds none).
func Reveal(v any) any { return mapSecrets(v, func(s Secret) any { return Reveal(s.v) }, 0) }

// Conceal returns v with every Secret in it replaced by its redacted form (see Secret.Redacted).
func Conceal(v any) any { return mapSecrets(v, func(s Secret) any { return s.Redacted() }, 0) }

// Literals lists the strings to redact for every Secret in v (see Secret.Literals).
func Literals(v any) []string {
	var out []string
	eachLeaf(v, func(leaf any) {
		if s, ok := leaf.(Secret); ok {
			out = append(out, s.Literals()...)
		}
	}, 0)
	return out
}

// HasSecret reports whether v is or holds a Secret.
func HasSecret(v any) bool { return hasSecret(v, 0) }

func hasSecret(v any, depth int) bool {
	if depth > 100 {
		return false
	}
	switch x := v.(type) {
	case Secret:
		return true
	case []any:
		for _, e := range x {
			if hasSecret(e, depth+1) {
				return true
			}
		}
	case map[string]any:
		for _, e := range x {
			if hasSecret(e, depth+1) {
				return true
			}
		}
	case *object:
		for _, e := range x.vals {
			if hasSecret(e, depth+1) {
				return true
			}
		}
	}
	return false
}

// mapSecrets copies the containers of v that hold a Secret, replacing each Secret by fn's result.
func mapSecrets(v any, fn func(Secret) any, depth int) any {
	if depth > 100 || !hasSecret(v, 0) {
		return v
	}
	switch x := v.(type) {
	case Secret:
		return fn(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = mapSecrets(e, fn, depth+1)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = mapSecrets(e, fn, depth+1)
		}
		return out
	case *object:
		out := newObject()
		for _, k := range x.keys {
			out.set(k, mapSecrets(x.vals[k], fn, depth+1))
		}
		return out
	}
	return v
}

// taint is what a render knows about the secrets it read.
type taint struct {
	read    bool     // a secret was read since the statement being executed began
	touched bool     // a secret was read anywhere in the render
	all     bool     // control flow depended on a secret: all of the output is secret
	parts   []string // outputs computed from a secret
	// clean holds the containers found to hold no secret, keeping them alive so that their addresses
	// cannot be reused by another container during the render.
	clean map[containerID]any
}

// containerID identifies a map or slice of the render's variables, so that one is searched for secrets
// once per render, not at every use.
type containerID struct {
	ptr uintptr
	n   int
}

// use is the point where a value read from the variables is used: a Secret is unwrapped (and the read
// recorded), and a map or slice holding secrets is replaced by a copy holding their values.
func (st *state) use(v any) any {
	switch x := v.(type) {
	case Secret:
		st.sawSecret()
		return st.use(norm(x.v))
	case *object:
		if !hasSecret(x, 0) {
			return v
		}
		st.sawSecret()
		return Reveal(x)
	case []any, map[string]any:
		rv := reflect.ValueOf(x)
		id := containerID{ptr: rv.Pointer(), n: rv.Len()}
		if _, ok := st.taint.clean[id]; ok {
			return v
		}
		if !hasSecret(x, 0) {
			if st.taint.clean == nil {
				st.taint.clean = map[containerID]any{}
			}
			st.taint.clean[id] = x
			return v
		}
		st.sawSecret()
		return Reveal(x)
	}
	return v
}

func (st *state) sawSecret() { st.taint.read, st.taint.touched = true, true }

// wrapRead marks v secret when the expression that computed it read a secret.
func (st *state) wrapRead(v any) any {
	if _, ok := v.(Secret); ok || !st.taint.read {
		return v
	}
	return NewSecret(v)
}

// errWithheld replaces the message of an error raised while a secret was in play: messages quote values.
var errWithheld = errors.New("the expression failed; the details are withheld because it used a secret")

func (st *state) sanitize(err error) error {
	if err == nil || !st.taint.touched || errors.Is(err, ErrLimit) {
		return err
	}
	var le *lineError
	if errors.As(err, &le) {
		return &lineError{line: le.line, err: errWithheld}
	}
	return errWithheld
}

// approxSize estimates the memory a value of Evaluate's result holds, to bound the total.
func approxSize(v any, depth int) int {
	if depth > 100 {
		return 0
	}
	switch x := v.(type) {
	case string:
		return len(x) + 16
	case Secret:
		return approxSize(x.v, depth+1) + 16
	case []any:
		n := 24
		for _, e := range x {
			n += approxSize(e, depth+1)
		}
		return n
	case map[string]any:
		n := 48
		for k, e := range x {
			n += len(k) + 16 + approxSize(e, depth+1)
		}
		return n
	case *object:
		n := 48
		for k, e := range x.vals {
			n += 2*len(k) + 32 + approxSize(e, depth+1)
		}
		return n
	}
	return 16
}

func (e *Engine) spend(budget *int, v any) error {
	*budget -= approxSize(v, 0)
	if *budget < 0 {
		return fmt.Errorf("%w: the expressions produce more than %d bytes in all", ErrLimit, e.opts.MaxEvaluateBytes)
	}
	return nil
}
