package expr

import (
	"strings"
	"unicode"
)

// Cookiecutter templates are Jinja2, and call Python's string methods: {{ cookiecutter.name.lower().replace(' ', '_') }}.
// With RenderOptions.Jinja (fetch:cookiecutter) these methods exist with Python's meaning, besides the dict
// methods (jinjaDictMethod). Where JavaScript has a method of the same name with another meaning (replace
// replaces every occurrence, split without a separator splits at whitespace), Python's wins there; everywhere
// else (Nunjucks, fetch:template with cookiecutterCompat) nothing changes.

// jinjaNames are the methods offered, with whether Python's meaning replaces JavaScript's.
var jinjaNames = map[string]bool{
	"lower": false, "upper": false, "strip": false, "lstrip": false, "rstrip": false, "title": false,
	"capitalize": false, "startswith": false, "endswith": false, "isdigit": false, "isalpha": false,
	"isalnum": false, "islower": false, "isupper": false, "count": false, "find": false, "join": false,
	"replace": true, "split": true,
}

func isJinjaName(key any) bool {
	name, ok := key.(string)
	_, known := jinjaNames[name]
	return ok && known
}

// jinjaMember returns Python's method name of recv, if it has one; v is what the member lookup found.
func (st *state) jinjaMember(obj, key, v any) any {
	name, ok := key.(string)
	if !ok || !st.jinja {
		return v
	}
	overrides, known := jinjaNames[name]
	if !known || (!isUndefined(v) && !overrides) {
		return v
	}
	if _, isMethod := v.(method); !isUndefined(v) && !isMethod {
		return v // an object's own member of that name
	}
	if fn := jinjaMethod(norm(obj), name); fn != nil {
		return method{name: name, call: fn}
	}
	return v
}

func jinjaMethod(recv any, name string) func(st *state, args []any) (any, error) {
	if s, ok := recv.(string); ok {
		return jinjaString(s, name)
	}
	return nil
}

func jinjaString(s, name string) func(st *state, args []any) (any, error) {
	pure := func(f func(a []any) any) func(*state, []any) (any, error) {
		return func(_ *state, a []any) (any, error) { return f(a), nil }
	}
	cutset := func(a []any) (string, bool) {
		if c := arg(a, 0); !isNullish(c) {
			return toString(c), true
		}
		return "", false
	}
	switch name {
	case "lower":
		return pure(func([]any) any { return strings.ToLower(s) })
	case "upper":
		return pure(func([]any) any { return strings.ToUpper(s) })
	case "strip", "lstrip", "rstrip":
		return pure(func(a []any) any {
			trim := map[string]func(string, string) string{"strip": strings.Trim, "lstrip": strings.TrimLeft, "rstrip": strings.TrimRight}[name]
			if c, ok := cutset(a); ok {
				return trim(s, c)
			}
			f := map[string]func(string) string{"strip": strings.TrimSpace,
				"lstrip": func(x string) string { return strings.TrimLeftFunc(x, unicode.IsSpace) },
				"rstrip": func(x string) string { return strings.TrimRightFunc(x, unicode.IsSpace) }}[name]
			return f(s)
		})
	case "title":
		return pure(func([]any) any { return pyTitle(s) })
	case "capitalize":
		return pure(func([]any) any {
			r := []rune(strings.ToLower(s))
			if len(r) > 0 {
				r[0] = unicode.ToUpper(r[0])
			}
			return string(r)
		})
	case "startswith":
		return pure(func(a []any) any { return strings.HasPrefix(s, toString(arg(a, 0))) })
	case "endswith":
		return pure(func(a []any) any { return strings.HasSuffix(s, toString(arg(a, 0))) })
	case "isdigit", "isalpha", "isalnum", "islower", "isupper":
		return pure(func([]any) any { return pyIs(s, name) })
	case "count":
		return pure(func(a []any) any { return float64(strings.Count(s, toString(arg(a, 0)))) })
	case "find":
		return pure(func(a []any) any { return float64(runeIndex(s, strings.Index(s, toString(arg(a, 0))))) })
	case "join":
		return func(st *state, a []any) (any, error) {
			parts := items(arg(a, 0))
			strs := make([]string, len(parts))
			for i, p := range parts {
				strs[i] = toString(p)
			}
			out := strings.Join(strs, s)
			return out, st.checkSize(len(out))
		}
	case "replace":
		return func(st *state, a []any) (any, error) {
			old, repl, n := toString(arg(a, 0)), toString(arg(a, 1)), -1
			if c := arg(a, 2); !isNullish(c) {
				n = int(toNumber(c))
			}
			if err := st.checkSize(len(s) + (strings.Count(s, old)+1)*len(repl)); err != nil {
				return nil, err
			}
			return strings.Replace(s, old, repl, n), nil
		}
	case "split":
		return func(st *state, a []any) (any, error) {
			var parts []string
			if sep := arg(a, 0); isNullish(sep) {
				parts = strings.Fields(s)
			} else {
				n := -1
				if m := arg(a, 1); !isNullish(m) {
					n = int(toNumber(m)) + 1
				}
				parts = strings.SplitN(s, toString(sep), n)
			}
			return splitParts(st, parts)
		}
	}
	return nil
}

// pyTitle is Python's str.title: each run of letters starts upper case, the rest lower case.
func pyTitle(s string) string {
	var b strings.Builder
	prevLetter := false
	for _, r := range s {
		if unicode.IsLetter(r) {
			if prevLetter {
				b.WriteRune(unicode.ToLower(r))
			} else {
				b.WriteRune(unicode.ToUpper(r))
			}
			prevLetter = true
			continue
		}
		prevLetter = false
		b.WriteRune(r)
	}
	return b.String()
}

func pyIs(s, name string) bool {
	if s == "" {
		return false
	}
	cased := false
	for _, r := range s {
		switch name {
		case "isdigit":
			if !unicode.IsDigit(r) {
				return false
			}
		case "isalpha":
			if !unicode.IsLetter(r) {
				return false
			}
		case "isalnum":
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				return false
			}
		case "islower":
			if unicode.IsUpper(r) {
				return false
			}
			cased = cased || unicode.IsLower(r)
		case "isupper":
			if unicode.IsLower(r) {
				return false
			}
			cased = cased || unicode.IsUpper(r)
		}
	}
	if name == "islower" || name == "isupper" {
		return cased
	}
	return true
}
