package expr

import (
	"fmt"
	"math"
	"strings"
)

// method is a callable value: a global such as range(), or a JavaScript string, array or
// number method bound to its receiver (templates written for Nunjucks call them, e.g.
// parameters.name.split("-")[0]). Only this fixed list exists: nothing reaches Go code.
type method struct {
	name  string
	call  func(st *state, args []any) (any, error)
	macro bool // a {% macro %}: it takes name=value arguments by name
}

// global returns the global function called name, or undefined.
func global(name string) any {
	switch name {
	case "range":
		return method{name: name, call: rangeFn}
	case "cycler":
		return method{name: name, call: cycler}
	case "joiner":
		return method{name: name, call: joiner}
	}
	return undefined{}
}

// rangeFn is Nunjucks' range(start, stop, step), refused beyond MaxLoop items before
// anything is allocated.
func rangeFn(st *state, args []any) (any, error) {
	start, stop, step := 0.0, toNumber(arg(args, 0)), 1.0
	if len(args) >= 2 {
		start, stop = toNumber(arg(args, 0)), toNumber(arg(args, 1))
	}
	if len(args) >= 3 {
		step = toNumber(arg(args, 2))
	}
	if math.IsNaN(start) || math.IsNaN(stop) || math.IsNaN(step) || step == 0 {
		return []any{}, nil
	}
	count := math.Ceil((stop - start) / step)
	if count <= 0 {
		return []any{}, nil
	}
	if count > float64(st.opts.MaxLoop) {
		return nil, fmt.Errorf("%w: range of %s items exceeds the limit of %d", ErrLimit, formatNumber(count), st.opts.MaxLoop)
	}
	out := make([]any, 0, int(count))
	for i := 0; i < int(count); i++ {
		out = append(out, start+float64(i)*step)
	}
	return out, nil
}

func methodOf(recv any, name string) any {
	var fn func(st *state, args []any) (any, error)
	switch r := recv.(type) {
	case string:
		fn = stringMethod(r, name)
	case []any:
		fn = arrayMethod(r, name)
	case float64:
		if name == "toString" {
			fn = func(*state, []any) (any, error) { return formatNumber(r), nil }
		}
	case *jsRegexp:
		if name == "test" { // r/^my/.test(x): whether x (as a string) matches
			fn = func(_ *state, a []any) (any, error) { return r.re.MatchString(toString(arg(a, 0))), nil }
		}
	}
	if name == "toString" && fn == nil {
		fn = func(*state, []any) (any, error) { return toString(recv), nil }
	}
	if fn == nil {
		return undefined{}
	}
	return method{name: name, call: fn}
}

// relIndex resolves a JavaScript slice() bound against length n.
func relIndex(v any, n, def int) int {
	if isUndefined(v) {
		return def
	}
	f := toNumber(v)
	if math.IsNaN(f) {
		return 0
	}
	i := int(math.Max(math.Min(f, float64(n)), float64(-n)))
	if i < 0 {
		i += n
	}
	return i
}

func stringMethod(s string, name string) func(st *state, args []any) (any, error) {
	str := func(f func(args []any) any) func(*state, []any) (any, error) {
		return func(_ *state, args []any) (any, error) { return f(args), nil }
	}
	switch name {
	case "toUpperCase", "toLowerCase", "trim", "trimStart", "trimEnd":
		f := map[string]func(string) string{"toUpperCase": strings.ToUpper, "toLowerCase": strings.ToLower,
			"trim": strings.TrimSpace, "trimStart": func(s string) string { return strings.TrimLeft(s, " \t\r\n") },
			"trimEnd": func(s string) string { return strings.TrimRight(s, " \t\r\n") }}[name]
		return str(func([]any) any { return f(s) })
	case "startsWith":
		return str(func(a []any) any { return strings.HasPrefix(s, toString(arg(a, 0))) })
	case "endsWith":
		return str(func(a []any) any { return strings.HasSuffix(s, toString(arg(a, 0))) })
	case "includes":
		return str(func(a []any) any { return strings.Contains(s, toString(arg(a, 0))) })
	case "indexOf":
		return str(func(a []any) any { return float64(runeIndex(s, strings.Index(s, toString(arg(a, 0))))) })
	case "split":
		return func(st *state, a []any) (any, error) { return splitString(st, s, arg(a, 0)) }
	case "replace", "replaceAll":
		return func(st *state, a []any) (any, error) {
			if re, ok := arg(a, 0).(*jsRegexp); ok {
				return jsReplace(st, s, re, toString(arg(a, 1)))
			}
			n := 1
			if name == "replaceAll" {
				n = -1
			}
			old, repl := toString(arg(a, 0)), toString(arg(a, 1))
			if err := st.checkSize(len(s) + (strings.Count(s, old)+1)*len(repl)); err != nil {
				return nil, err
			}
			return strings.Replace(s, old, repl, n), nil
		}
	case "slice", "substring":
		return str(func(a []any) any {
			r := []rune(s)
			i, j := relIndex(arg(a, 0), len(r), 0), relIndex(arg(a, 1), len(r), len(r))
			if name == "substring" {
				i, j = clampIndex(arg(a, 0), len(r), 0), clampIndex(arg(a, 1), len(r), len(r))
				i, j = min(i, j), max(i, j)
			}
			if i >= j {
				return ""
			}
			return string(r[i:j])
		})
	case "charAt":
		return str(func(a []any) any {
			r := []rune(s)
			i := int(toNumber(arg(a, 0)))
			if i < 0 || i >= len(r) {
				return ""
			}
			return string(r[i])
		})
	case "concat":
		return str(func(a []any) any { return s + toStringJoin(a) })
	case "padStart", "padEnd", "repeat":
		return func(st *state, a []any) (any, error) { return padOrRepeat(st, s, name, a) }
	}
	return nil
}

func runeIndex(s string, byteIdx int) int {
	if byteIdx < 0 {
		return -1
	}
	return len([]rune(s[:byteIdx]))
}

// clampIndex resolves a JavaScript substring() bound: negative and NaN are 0.
func clampIndex(v any, n, def int) int {
	if isUndefined(v) {
		return def
	}
	f := toNumber(v)
	if math.IsNaN(f) || f < 0 {
		return 0
	}
	return int(math.Min(f, float64(n)))
}

func splitString(st *state, s string, sep any) (any, error) {
	var parts []string
	switch sp := sep.(type) {
	case undefined:
		return []any{s}, nil
	case *jsRegexp:
		parts = sp.re.Split(s, -1)
	default:
		parts = strings.Split(s, toString(sp))
	}
	return splitParts(st, parts)
}

// splitParts is the list a split gives, refused when it has more parts than a loop may run over.
func splitParts(st *state, parts []string) (any, error) {
	if err := st.checkLoop(len(parts), "a split"); err != nil {
		return nil, err
	}
	out := make([]any, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return out, nil
}

func padOrRepeat(st *state, s, name string, a []any) (any, error) {
	n := int(math.Max(0, toNumber(arg(a, 0))))
	if name == "repeat" {
		if err := st.checkSize(n * len(s)); err != nil {
			return nil, err
		}
		return strings.Repeat(s, n), nil
	}
	if err := st.checkSize(n); err != nil {
		return nil, err
	}
	pad := " "
	if p := arg(a, 1); !isUndefined(p) {
		pad = toString(p)
	}
	missing := n - utf16Len(s)
	if missing <= 0 || pad == "" {
		return s, nil
	}
	fill := []rune(strings.Repeat(pad, missing/len(pad)+1))[:missing]
	if name == "padStart" {
		return string(fill) + s, nil
	}
	return s + string(fill), nil
}

func arrayMethod(a []any, name string) func(st *state, args []any) (any, error) {
	switch name {
	case "join":
		return func(st *state, args []any) (any, error) {
			sep := ","
			if s := arg(args, 0); !isUndefined(s) {
				sep = toString(s)
			}
			parts := make([]string, len(a))
			for i, e := range a {
				parts[i] = asString(norm(e))
			}
			out := strings.Join(parts, sep)
			return out, st.checkSize(len(out))
		}
	case "includes":
		return func(_ *state, args []any) (any, error) { in, _ := inOperator(arg(args, 0), a); return in, nil }
	case "indexOf":
		return func(_ *state, args []any) (any, error) {
			for i, e := range a {
				if strictEqual(norm(e), arg(args, 0)) {
					return float64(i), nil
				}
			}
			return -1.0, nil
		}
	case "slice":
		return func(_ *state, args []any) (any, error) {
			i, j := relIndex(arg(args, 0), len(a), 0), relIndex(arg(args, 1), len(a), len(a))
			if i >= j {
				return []any{}, nil
			}
			return append([]any{}, a[i:j]...), nil
		}
	case "concat":
		return func(st *state, args []any) (any, error) {
			out := append([]any{}, a...)
			for _, x := range args {
				if xs, ok := norm(x).([]any); ok {
					out = append(out, xs...)
				} else {
					out = append(out, x)
				}
			}
			return out, st.checkLoop(len(out), "an array")
		}
	}
	return nil
}
