package expr

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// filterDef is one filter: params names the arguments after the piped value, so that they
// can also be given as name=value.
type filterDef struct {
	params []string
	fn     func(st *state, v any, args []any) (any, error)
}

// lookupFilter returns the filter called name: Nunjucks' built-ins with Nunjucks (JavaScript)
// semantics, Backstage's additions, and jsonify in cookiecutter mode as Backstage adds it.
func lookupFilter(name string, cookiecutter bool) (filterDef, bool) {
	if f, ok := backstageFilter(name); ok {
		return f, true
	}
	if name == "jsonify" && cookiecutter {
		return filterDef{[]string{"indent"}, fDump}, true
	}
	f, ok := stringFilter(name)
	if !ok {
		f, ok = collectionFilter(name)
	}
	if ok && copiesSafeness[name] {
		f = keepSafeness(f)
	}
	return f, ok
}

func stringFilter(name string) (filterDef, bool) {
	switch name {
	case "capitalize":
		return filterDef{nil, fCapitalize}, true
	case "center":
		return filterDef{[]string{"width"}, fCenter}, true
	case "escape", "e":
		return filterDef{nil, func(st *state, v any, args []any) (any, error) {
			if s, ok := v.(safeString); ok {
				return s, nil // already safe: not escaped again
			}
			out, err := fEscape(st, v, args)
			return markSafe(out), err
		}}, true
	case "forceescape":
		return filterDef{nil, func(st *state, v any, args []any) (any, error) {
			out, err := fEscape(st, v, args)
			return markSafe(out), err
		}}, true
	case "float":
		return filterDef{[]string{"default"}, fFloat}, true
	case "indent":
		return filterDef{[]string{"width", "first"}, fIndent}, true
	case "int":
		return filterDef{[]string{"default", "base"}, fInt}, true
	case "lower":
		return filterDef{nil, strFn(strings.ToLower)}, true
	case "upper":
		return filterDef{nil, strFn(strings.ToUpper)}, true
	case "nl2br":
		return filterDef{nil, strFn(func(s string) string {
			return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "<br />\n")
		})}, true
	case "replace":
		return filterDef{[]string{"old", "new", "count"}, fReplace}, true
	case "safe":
		return filterDef{nil, func(_ *state, v any, _ []any) (any, error) { return markSafe(v), nil }}, true
	case "string":
		return filterDef{nil, strFn(func(s string) string { return s })}, true
	case "urlize":
		return filterDef{[]string{"length", "nofollow"}, fURLize}, true
	case "striptags":
		return filterDef{[]string{"preserve_linebreaks"}, fStriptags}, true
	case "title":
		return filterDef{nil, strFn(title)}, true
	case "trim":
		return filterDef{nil, strFn(strings.TrimSpace)}, true
	case "truncate":
		return filterDef{[]string{"length", "killwords", "end"}, fTruncate}, true
	case "urlencode":
		return filterDef{nil, fURLEncode}, true
	case "wordcount":
		return filterDef{nil, fWordcount}, true
	case "dump":
		return filterDef{[]string{"indent"}, fDump}, true
	}
	return filterDef{}, false
}

func collectionFilter(name string) (filterDef, bool) {
	switch name {
	case "abs":
		return filterDef{nil, func(_ *state, v any, _ []any) (any, error) { return math.Abs(toNumber(v)), nil }}, true
	case "batch":
		return filterDef{[]string{"linecount", "fill_with"}, fBatch}, true
	case "default", "d":
		return filterDef{[]string{"default_value", "boolean"}, fDefault}, true
	case "dictsort":
		return filterDef{[]string{"case_sensitive", "by"}, fDictsort}, true
	case "random":
		return filterDef{nil, fRandom}, true
	case "first":
		return filterDef{nil, func(_ *state, v any, _ []any) (any, error) { return member(v, 0.0), nil }}, true
	case "last":
		return filterDef{nil, fLast}, true
	case "groupby":
		return filterDef{[]string{"attribute"}, fGroupby}, true
	case "join":
		return filterDef{[]string{"d", "attribute"}, fJoin}, true
	case "length", "count":
		return filterDef{nil, fLength}, true
	case "list":
		return filterDef{nil, fList}, true
	case "reject", "select":
		return filterDef{[]string{"test", "arg"}, selectTest(name == "select")}, true
	case "rejectattr", "selectattr":
		return filterDef{[]string{"attribute"}, selectAttr(name == "selectattr")}, true
	case "reverse":
		return filterDef{nil, fReverse}, true
	case "round":
		return filterDef{[]string{"precision", "method"}, fRound}, true
	case "slice":
		return filterDef{[]string{"slices", "fill_with"}, fSlice}, true
	case "sort":
		return filterDef{[]string{"reverse", "case_sensitive", "attribute"}, fSort}, true
	case "sum":
		return filterDef{[]string{"attribute", "start"}, fSum}, true
	}
	return filterDef{}, false
}

// asString is Nunjucks' normalize(value, ""): undefined and null become "".
func asString(v any) string {
	if isNullish(v) {
		return ""
	}
	return toString(v)
}

func strFn(f func(string) string) func(*state, any, []any) (any, error) {
	return func(_ *state, v any, _ []any) (any, error) { return f(asString(v)), nil }
}

func capitalize(s string) string {
	s = strings.ToLower(s)
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

func fCapitalize(_ *state, v any, _ []any) (any, error) { return capitalize(asString(v)), nil }

func title(s string) string {
	words := strings.Split(s, " ")
	for i, w := range words {
		words[i] = capitalize(w)
	}
	return strings.Join(words, " ")
}

// fCenter is Nunjucks' center: it measures the value's JavaScript length (an array's item count; a number
// has none, so it is returned as it is).
func fCenter(st *state, v any, args []any) (any, error) {
	if isNullish(v) || v == false {
		v = ""
	}
	n := math.NaN()
	switch x := v.(type) {
	case string:
		n = float64(utf16Len(x))
	case safeString:
		n = float64(utf16Len(string(x)))
	case []any:
		n = float64(len(x))
	case *object, map[string]any:
		if l, ok := objectGet(x, "length"); ok {
			n = toNumber(l)
		}
	}
	width := 80.0
	if w := arg(args, 0); truthy(w) {
		width = toNumber(w)
	}
	if n >= width {
		return v, nil
	}
	spaces := width - n
	pre, post := jsRepeat(spaces/2-math.Mod(spaces, 2)), jsRepeat(spaces/2)
	if err := st.checkSize(pre + post); err != nil {
		return nil, err
	}
	return strings.Repeat(" ", pre) + toString(v) + strings.Repeat(" ", post), nil
}

func fEscape(_ *state, v any, _ []any) (any, error) {
	r := strings.NewReplacer("&", "&amp;", `"`, "&quot;", "'", "&#39;", "<", "&lt;", ">", "&gt;", `\`, "&#92;")
	return r.Replace(asString(v)), nil
}

// parseFloatPrefix is JavaScript's parseFloat: the longest numeric prefix, NaN if none.
func parseFloatPrefix(s string) float64 {
	s = strings.TrimLeftFunc(s, unicode.IsSpace)
	for _, inf := range []string{"Infinity", "+Infinity", "-Infinity"} {
		if strings.HasPrefix(s, inf) {
			return stringToNumber(inf)
		}
	}
	m := regexp.MustCompile(`^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?`).FindString(s)
	if m == "" {
		return math.NaN()
	}
	return stringToNumber(m)
}

// parseIntPrefix is JavaScript's parseInt(s, 10).
func parseIntPrefix(s string) float64 {
	m := regexp.MustCompile(`^[+-]?\d+`).FindString(strings.TrimLeftFunc(s, unicode.IsSpace))
	if m == "" {
		return math.NaN()
	}
	return stringToNumber(m)
}

func fFloat(_ *state, v any, args []any) (any, error) {
	if f := parseFloatPrefix(toString(v)); !math.IsNaN(f) {
		return f, nil
	}
	return arg(args, 0), nil
}

func fInt(_ *state, v any, args []any) (any, error) {
	if f := parseIntPrefix(toString(v)); !math.IsNaN(f) {
		return f, nil
	}
	return arg(args, 0), nil
}

func fIndent(st *state, v any, args []any) (any, error) {
	s := asString(v)
	if s == "" {
		return "", nil
	}
	width := 4
	if w := arg(args, 0); truthy(w) {
		width = jsRepeat(toNumber(w)) // an object of name=value arguments repeats 0 times, as in JavaScript
	}
	if width > 1024 {
		return nil, fmt.Errorf("width %d is out of range 0..1024", width)
	}
	lines := strings.Split(s, "\n")
	if err := st.checkSize(len(s) + len(lines)*width); err != nil {
		return nil, err
	}
	sp := strings.Repeat(" ", width)
	for i, l := range lines {
		if i > 0 || truthy(arg(args, 1)) {
			lines[i] = sp + l
		}
	}
	return strings.Join(lines, "\n"), nil
}

// fReplace is Nunjucks' replace: a regex literal uses JavaScript's String.replace (first
// match, or all with the g flag); a string replaces every occurrence, or the first count.
func fReplace(st *state, v any, args []any) (any, error) {
	old, repl := arg(args, 0), asString(arg(args, 1))
	if isUndefined(arg(args, 1)) {
		repl = "undefined"
	}
	if re, ok := old.(*jsRegexp); ok {
		return jsReplace(st, asString(v), re, repl)
	}
	if f, ok := num(old); ok {
		old = formatNumber(f)
	}
	oldS, ok := old.(string)
	if !ok {
		return v, nil
	}
	if f, ok := num(v); ok {
		v = formatNumber(f)
	}
	s, ok := v.(string)
	if !ok {
		return v, nil
	}
	count := -1 // every occurrence; otherwise JavaScript's count < maxCount decides (NaN and null: none)
	if c := arg(args, 2); !isUndefined(c) {
		if f := toNumber(c); f != -1 {
			count = jsRepeat(f)
		}
	}
	if oldS == "" {
		if err := st.checkSize(len(s) + (utf8.RuneCountInString(s)+1)*len(repl)); err != nil {
			return nil, err
		}
		chars := strings.Split(s, "")
		return repl + strings.Join(chars, repl) + repl, nil
	}
	n := strings.Count(s, oldS)
	if count >= 0 && count < n {
		n = count
	}
	if err := st.checkSize(len(s) + n*(len(repl)-len(oldS))); err != nil {
		return nil, err
	}
	return strings.Replace(s, oldS, repl, n), nil
}

// jsReplace is JavaScript's String.prototype.replace with a regular expression, including
// the $&, $1..$99, $<name> and $$ replacement patterns.
func jsReplace(st *state, s string, re *jsRegexp, repl string) (string, error) {
	n := 1
	if re.global() {
		n = -1
	}
	var b strings.Builder
	last := 0
	for _, m := range re.re.FindAllStringSubmatchIndex(s, n) {
		b.WriteString(s[last:m[0]])
		expandReplacement(&b, s, m, re.re, repl)
		last = m[1]
		if err := st.checkSize(b.Len()); err != nil {
			return "", err
		}
	}
	b.WriteString(s[last:])
	return b.String(), nil
}

func expandReplacement(b *strings.Builder, s string, m []int, re *regexp.Regexp, repl string) {
	group := func(i int) string {
		if 2*i+1 < len(m) && m[2*i] >= 0 {
			return s[m[2*i]:m[2*i+1]]
		}
		return ""
	}
	for i := 0; i < len(repl); i++ {
		c := repl[i]
		if c != '$' || i+1 >= len(repl) {
			b.WriteByte(c)
			continue
		}
		next := repl[i+1]
		switch {
		case next == '$':
			b.WriteByte('$')
			i++
		case next == '&':
			b.WriteString(s[m[0]:m[1]])
			i++
		case next == '`':
			b.WriteString(s[:m[0]])
			i++
		case next == '\'':
			b.WriteString(s[m[1]:])
			i++
		case isDigit(next):
			g, width := int(next-'0'), 1
			if i+2 < len(repl) && isDigit(repl[i+2]) && g*10+int(repl[i+2]-'0') <= re.NumSubexp() {
				g, width = g*10+int(repl[i+2]-'0'), 2
			}
			if g == 0 || g > re.NumSubexp() {
				b.WriteByte(c)
				continue
			}
			b.WriteString(group(g))
			i += width
		case next == '<' && strings.Contains(repl[i:], ">"):
			end := i + strings.IndexByte(repl[i:], '>')
			if idx := re.SubexpIndex(repl[i+2 : end]); idx >= 0 {
				b.WriteString(group(idx))
			}
			i = end
		default:
			b.WriteByte(c)
		}
	}
}

func fStriptags(_ *state, v any, args []any) (any, error) {
	tags := regexp.MustCompile(`(?i)</?([a-z][a-z0-9]*)\b[^>]*>|<!--[\s\S]*?-->`)
	s := strings.TrimSpace(tags.ReplaceAllString(asString(v), ""))
	if !truthy(arg(args, 0)) {
		return regexp.MustCompile(`\s+`).ReplaceAllString(s, " "), nil
	}
	s = regexp.MustCompile(`(?m)^ +| +$`).ReplaceAllString(s, "")
	s = regexp.MustCompile(` +`).ReplaceAllString(s, " ")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return regexp.MustCompile(`\n\n\n+`).ReplaceAllString(s, "\n\n"), nil
}

// fTruncate is Nunjucks' truncate, with JavaScript's arithmetic: a length that is not a number (an
// object of name=value arguments) compares as NaN and cuts at 0.
func fTruncate(_ *state, v any, args []any) (any, error) {
	if _, ok := v.([]any); ok {
		return v, nil // no longer than the length (nunjucksTypeError refuses the others)
	}
	s := []rune(asString(v))
	length := truncateLength(args)
	if float64(len(s)) <= length {
		return string(s), nil
	}
	var cut int
	if truthy(arg(args, 1)) {
		cut = jsIndex(length, len(s))
	} else {
		from := len(s) - 1 // lastIndexOf(' ', NaN) searches from the end
		if !math.IsNaN(length) {
			from = min(jsIndex(length, len(s)), len(s)-1)
		}
		cut = -1
		for i := from; i >= 0; i-- {
			if s[i] == ' ' {
				cut = i
				break
			}
		}
		if cut < 0 {
			cut = jsIndex(length, len(s))
		}
	}
	end := "..."
	if e := arg(args, 2); !isNullish(e) {
		end = toString(e)
	}
	return string(s[:cut]) + end, nil
}

// truncateLength is truncate's length: `length || 255`.
func truncateLength(args []any) float64 {
	if l := arg(args, 0); truthy(l) {
		return toNumber(l)
	}
	return 255
}

// jsIndex is a position as String.prototype.substring takes it: NaN is 0, fractions are truncated, and
// the result is clamped to 0..n.
func jsIndex(f float64, n int) int {
	switch {
	case math.IsNaN(f) || f <= 0:
		return 0
	case f >= float64(n):
		return n
	}
	return int(f)
}

// jsRepeat is how many times Nunjucks' lib.repeat repeats (i < n): NaN and negatives are 0.
func jsRepeat(f float64) int {
	if math.IsNaN(f) || f <= 0 {
		return 0
	}
	return int(math.Ceil(f))
}

// encodeURIComponent escapes everything but A-Z a-z 0-9 - _ . ! ~ * ' ( ).
func encodeURIComponent(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isNameChar(c) && c != '$' || strings.IndexByte("-_.!~*'()", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

func fURLEncode(_ *state, v any, _ []any) (any, error) {
	if s, ok := v.(string); ok {
		return encodeURIComponent(s), nil
	}
	var pairs []string
	switch x := v.(type) {
	case []any:
		for _, p := range x {
			pairs = append(pairs, encodeURIComponent(toString(member(p, 0.0)))+"="+encodeURIComponent(toString(member(p, 1.0))))
		}
	case *object, map[string]any, loopVars:
		for _, k := range objectKeys(x) {
			e, _ := objectGet(x, k)
			pairs = append(pairs, encodeURIComponent(k)+"="+encodeURIComponent(toString(e)))
		}
	}
	return strings.Join(pairs, "&"), nil
}

func fWordcount(_ *state, v any, _ []any) (any, error) {
	if f, ok := num(v); (ok && f == 0) || v == false {
		return nil, nil // Nunjucks: normalize(false) is "", and a falsy value counts nothing
	}
	n := len(regexp.MustCompile(`\w+`).FindAllStringIndex(asString(v), -1))
	if n == 0 {
		return nil, nil
	}
	return float64(n), nil
}

func fDump(st *state, v any, args []any) (any, error) {
	s, ok, err := stringify(v, arg(args, 0), st.opts.MaxOutputBytes)
	if err != nil || !ok {
		return undefined{}, err
	}
	return s, nil
}
