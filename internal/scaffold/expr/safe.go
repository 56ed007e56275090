package expr

import (
	"math"
	"math/rand/v2"
	"regexp"
	"strings"
)

// safeString is Nunjucks' SafeString: what `safe`, `escape` and a macro call return, and what the filters
// that copy safeness (trim, replace, title, …) return for one. It prints as its text but is an object:
// JSON.stringify (so `| dump`, and a step input that is exactly ${{ x | safe }}) gives
// {"val": text, "length": n}, it is truthy even when empty, and `x | safe == x` but not `===`.
type safeString string

// safeObject is what JSON.stringify makes of a SafeString: its own enumerable properties.
func safeObject(s safeString) *object {
	o := newObject()
	o.set("val", string(s))
	o.set("length", float64(utf16Len(string(s))))
	return o
}

// markSafe is Nunjucks' safe filter: anything but a SafeString becomes one of its text (null and
// undefined as "").
func markSafe(v any) any {
	if s, ok := v.(safeString); ok {
		return s
	}
	return safeString(asString(v))
}

// copiesSafeness names the filters whose result is a SafeString when their input is one (Nunjucks'
// r.copySafeness).
var copiesSafeness = map[string]bool{"capitalize": true, "center": true, "indent": true, "nl2br": true, "replace": true,
	"reverse": true, "string": true, "striptags": true, "title": true, "trim": true, "truncate": true}

// keepSafeness wraps a filter that copies safeness.
func keepSafeness(f filterDef) filterDef {
	inner := f.fn
	f.fn = func(st *state, v any, args []any) (any, error) {
		_, safe := v.(safeString)
		if safe {
			v = string(v.(safeString))
		}
		out, err := inner(st, v, args)
		if err != nil || !safe {
			return out, err
		}
		return safeString(asString(out)), nil
	}
	return f
}

// fRandom is Nunjucks' random: one item of an array, chosen at random.
func fRandom(_ *state, v any, _ []any) (any, error) {
	switch x := v.(type) {
	case []any:
		if len(x) == 0 {
			return undefined{}, nil
		}
		return norm(x[rand.IntN(len(x))]), nil
	case string:
		r := []rune(x)
		if len(r) == 0 {
			return undefined{}, nil
		}
		return string(r[rand.IntN(len(r))]), nil
	}
	return undefined{}, nil
}

var (
	urlizePunct = regexp.MustCompile(`^(?:\(|<|&lt;)?(.*?)(?:\.|,|\)|\n|&gt;)?$`)
	urlizeEmail = regexp.MustCompile(`(?i)^[\w.!#$%&'*+\-/=?^` + "`" + `{|}~]+@[a-z\d\-]+(\.[a-z\d\-]+)+$`)
	urlizeHTTP  = regexp.MustCompile(`^https?://.*$`)
	urlizeTLD   = regexp.MustCompile(`\.(?:org|net|com)(?::|/|$)`)
	urlizeSpace = regexp.MustCompile(`\s+`)
)

// fURLize is Nunjucks' urlize(length, nofollow): URLs, www. addresses, e-mail addresses and bare .com,
// .org and .net names become links.
func fURLize(_ *state, v any, args []any) (any, error) {
	s := asString(v)
	// Nunjucks' own isNaN (x !== x) lets an object of name=value arguments through as the length, and
	// substr(0, NaN) is empty; only a true nofollow (not an object) adds rel.
	length := -1
	if l := arg(args, 0); !isUndefined(l) {
		if f, isNum := num(l); !isNum || !math.IsNaN(f) {
			length = jsIndex(toNumber(l), math.MaxInt32)
		}
	}
	nofollow := ""
	if b, ok := arg(args, 1).(bool); ok && b {
		nofollow = ` rel="nofollow"`
	}
	short := func(u string) string {
		if r := []rune(u); length >= 0 && len(r) > length {
			return string(r[:length])
		}
		return u
	}
	var b strings.Builder
	last := 0
	for _, m := range urlizeSpace.FindAllStringIndex(s, -1) {
		b.WriteString(urlizeWord(s[last:m[0]], short, nofollow))
		b.WriteString(s[m[0]:m[1]])
		last = m[1]
	}
	b.WriteString(urlizeWord(s[last:], short, nofollow))
	return b.String(), nil
}

func urlizeWord(word string, short func(string) string, nofollow string) string {
	if word == "" {
		return ""
	}
	u := word
	if m := urlizePunct.FindStringSubmatch(word); m != nil {
		u = m[1]
	}
	switch {
	case urlizeHTTP.MatchString(u):
		return `<a href="` + u + `"` + nofollow + `>` + short(u) + `</a>`
	case strings.HasPrefix(u, "www."):
		return `<a href="http://` + u + `"` + nofollow + `>` + short(u) + `</a>`
	case urlizeEmail.MatchString(u):
		return `<a href="mailto:` + u + `">` + u + `</a>`
	case urlizeTLD.MatchString(u):
		return `<a href="http://` + u + `"` + nofollow + `>` + short(u) + `</a>`
	}
	return word
}

// cycler is Nunjucks' cycler(a, b, …): an object whose next() returns the items in turn, reset() starts
// over, and current is the last one returned.
func cycler(_ *state, items []any) (any, error) {
	c := newObject()
	i := -1
	c.set("current", nil)
	c.set("next", method{name: "next", call: func(*state, []any) (any, error) {
		if len(items) == 0 {
			c.set("current", undefined{})
			return undefined{}, nil
		}
		i = (i + 1) % len(items)
		c.set("current", items[i])
		return items[i], nil
	}})
	c.set("reset", method{name: "reset", call: func(*state, []any) (any, error) {
		i = -1
		c.set("current", nil)
		return undefined{}, nil
	}})
	return c, nil
}

// joiner is Nunjucks' joiner(sep): a function that returns "" the first time and sep (default ",") after.
func joiner(_ *state, args []any) (any, error) {
	sep := ","
	if s := arg(args, 0); truthy(s) {
		sep = toString(s)
	}
	first := true
	return method{name: "joiner", call: func(*state, []any) (any, error) {
		if first {
			first = false
			return "", nil
		}
		return sep, nil
	}}, nil
}
