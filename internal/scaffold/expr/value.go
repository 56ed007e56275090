package expr

import (
	"encoding/json"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

// Values inside the engine are JavaScript-like: undefined, nil (null), bool, float64 (or any
// Go number from the context), string, []any (array), map[string]any or *object (object).
// Anything else from the context is normalised by norm on the way in.

// undefined is JavaScript's undefined: what a missing variable or member evaluates to.
type undefined struct{}

// object is an object built by the template itself (a {...} literal, groupby, parseRepoUrl):
// unlike a Go map it keeps insertion order, as a JavaScript object does.
type object struct {
	keys []string
	vals map[string]any
}

// loopVars is the `loop` variable of a for loop: an object computed on access, so that a
// long loop does not build a map per iteration.
type loopVars struct{ i, n int }

func (l loopVars) keys() []string {
	return []string{"index", "index0", "revindex", "revindex0", "first", "last", "length"}
}

func (l loopVars) get(k string) (any, bool) {
	switch k {
	case "index":
		return float64(l.i + 1), true
	case "index0":
		return float64(l.i), true
	case "revindex":
		return float64(l.n - l.i), true
	case "revindex0":
		return float64(l.n - l.i - 1), true
	case "first":
		return l.i == 0, true
	case "last":
		return l.i == l.n-1, true
	case "length":
		return float64(l.n), true
	}
	return nil, false
}

func newObject() *object { return &object{vals: map[string]any{}} }

func (o *object) set(k string, v any) {
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.vals[k] = v
}

// objectKeys returns the keys of an object value in iteration order: JavaScript's order for *object
// (Map.Keys), sorted for Go maps (which have none).
func objectKeys(v any) []string {
	switch m := v.(type) {
	case *object:
		return m.Keys()
	case loopVars:
		return m.keys()
	case map[string]any:
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return keys
	}
	return nil
}

// objectGet returns the member k of an object value.
func objectGet(v any, k string) (any, bool) {
	switch m := v.(type) {
	case *object:
		x, ok := m.vals[k]
		return x, ok
	case loopVars:
		return m.get(k)
	case map[string]any:
		x, ok := m[k]
		return norm(x), ok
	}
	return nil, false
}

func isObject(v any) bool {
	switch v.(type) {
	case *object, map[string]any, loopVars:
		return true
	}
	return false
}

func isUndefined(v any) bool { _, ok := v.(undefined); return ok }
func isNullish(v any) bool   { return v == nil || isUndefined(v) }

// norm converts a value from the caller's context into an engine value. Only map keys and
// slice elements are reachable: structs, pointers, functions and channels become undefined,
// so a template can never reach Go fields or methods.
func norm(v any) any {
	switch x := v.(type) {
	case nil, undefined, bool, string, float64, int, []any, map[string]any, *object, *jsRegexp, method, loopVars, Secret, safeString:
		return v
	case int64:
		return float64(x)
	case int32:
		return float64(x)
	case uint64:
		return float64(x)
	case uint:
		return float64(x)
	case float32:
		return float64(x)
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return x.String()
		}
		return f
	case time.Time:
		return x.UTC().Format("2006-01-02T15:04:05.000Z")
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out
	}
	return normReflect(reflect.ValueOf(v))
}

func normReflect(rv reflect.Value) any {
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(rv.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(rv.Uint())
	case reflect.Float32, reflect.Float64:
		return rv.Float()
	case reflect.String:
		return rv.String()
	case reflect.Bool:
		return rv.Bool()
	case reflect.Slice, reflect.Array:
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = rv.Index(i).Interface()
		}
		return out
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return undefined{}
		}
		out := make(map[string]any, rv.Len())
		for it := rv.MapRange(); it.Next(); {
			out[it.Key().String()] = it.Value().Interface()
		}
		return out
	}
	return undefined{}
}

// num returns the numeric value of a Go number.
func num(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	}
	if x, ok := norm(v).(float64); ok {
		return x, true
	}
	return 0, false
}

// toNumber is JavaScript's Number(v).
func toNumber(v any) float64 {
	if f, ok := num(v); ok {
		return f
	}
	switch x := v.(type) {
	case undefined:
		return math.NaN()
	case nil:
		return 0
	case bool:
		if x {
			return 1
		}
		return 0
	case string:
		return stringToNumber(x)
	case safeString:
		return stringToNumber(string(x))
	case []any:
		switch len(x) {
		case 0:
			return 0
		case 1:
			return stringToNumber(toString(x[0]))
		}
	}
	return math.NaN()
}

func stringToNumber(s string) float64 {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0
	}
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		if n, err := strconv.ParseUint(s[2:], 16, 64); err == nil {
			return float64(n)
		}
		return math.NaN()
	}
	switch s {
	case "Infinity", "+Infinity":
		return math.Inf(1)
	case "-Infinity":
		return math.Inf(-1)
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789+-.eE", c) {
			return math.NaN()
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return math.NaN()
	}
	return f
}

// formatNumber is JavaScript's Number.prototype.toString().
func formatNumber(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		return "0"
	}
	abs := math.Abs(f)
	if abs >= 1e21 || abs < 1e-6 {
		s := strconv.FormatFloat(f, 'e', -1, 64)
		mant, exp, _ := strings.Cut(s, "e")
		if exp[0] == '+' {
			return mant + "e+" + strings.TrimLeft(exp[1:], "0")
		}
		return mant + "e-" + strings.TrimLeft(exp[1:], "0")
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// toString is JavaScript's String(v).
func toString(v any) string {
	return toStringDepth(v, 0)
}

func toStringDepth(v any, depth int) string {
	switch x := v.(type) {
	case string:
		return x
	case safeString:
		return string(x)
	case undefined:
		return "undefined"
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case float64:
		return formatNumber(x)
	case []any:
		if depth > 20 {
			return ""
		}
		parts := make([]string, len(x))
		for i, e := range x {
			if e = norm(e); !isNullish(e) {
				parts[i] = toStringDepth(e, depth+1)
			}
		}
		return strings.Join(parts, ",")
	case *object, map[string]any, loopVars:
		return "[object Object]"
	case method:
		return "function " + x.name + "() { [native code] }"
	case *jsRegexp:
		return "/" + x.source + "/" + x.flags
	case Secret:
		return "***" // never reached: secrets are unwrapped where they are used; this is the safe default
	}
	n := norm(v)
	if isUndefined(n) {
		return ""
	}
	return toStringDepth(n, depth)
}

// outputString is what ${{ v }} writes: undefined and null write nothing.
func outputString(v any) string {
	if isNullish(v) {
		return ""
	}
	return toString(v)
}

// truthy is JavaScript truthiness, as Nunjucks' {% if %} uses it: [] and {} are true.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil, undefined:
		return false
	case safeString:
		return true // an object, even when empty
	case bool:
		return x
	case string:
		return x != ""
	case int:
		return x != 0
	case float64:
		return x != 0 && !math.IsNaN(x)
	}
	if f, ok := num(v); ok {
		return f != 0 && !math.IsNaN(f)
	}
	return !isUndefined(norm(v))
}

// Truthy is JavaScript truthiness as Backstage's step `if` uses it: false, nil/undefined, "",
// 0, NaN and the empty array are false (Backstage treats [] as false); everything else,
// including {}, is true.
func Truthy(v any) bool {
	if a, ok := norm(v).([]any); ok {
		return len(a) > 0
	}
	return truthy(v)
}

// toPrimitive is JavaScript's ToPrimitive with the default hint, for + and comparisons.
func toPrimitive(v any) any {
	switch v.(type) {
	case []any, *object, map[string]any, method, *jsRegexp, loopVars, safeString:
		return toString(v)
	}
	if f, ok := num(v); ok {
		return f
	}
	return v
}

// add is JavaScript's a + b: string concatenation if either side is a string after
// ToPrimitive, numeric addition otherwise.
func add(a, b any) any {
	pa, pb := toPrimitive(a), toPrimitive(b)
	_, sa := pa.(string)
	_, sb := pb.(string)
	if sa || sb {
		return toString(pa) + toString(pb)
	}
	return toNumber(pa) + toNumber(pb)
}

// compare is JavaScript's relational comparison; ok is false when either side is NaN.
func compare(a, b any) (int, bool) {
	pa, pb := toPrimitive(a), toPrimitive(b)
	sa, aIsStr := pa.(string)
	sb, bIsStr := pb.(string)
	if aIsStr && bIsStr {
		return compareUTF16(sa, sb), true
	}
	fa, fb := toNumber(pa), toNumber(pb)
	switch {
	case math.IsNaN(fa) || math.IsNaN(fb):
		return 0, false
	case fa < fb:
		return -1, true
	case fa > fb:
		return 1, true
	}
	return 0, true
}

// compareUTF16 orders strings by UTF-16 code units, as JavaScript does.
func compareUTF16(a, b string) int {
	ua, ub := utf16.Encode([]rune(a)), utf16.Encode([]rune(b))
	for i := 0; i < len(ua) && i < len(ub); i++ {
		if ua[i] != ub[i] {
			if ua[i] < ub[i] {
				return -1
			}
			return 1
		}
	}
	return len(ua) - len(ub)
}

// strictEqual is JavaScript's ===.
func strictEqual(a, b any) bool {
	fa, na := num(a)
	fb, nb := num(b)
	if na || nb {
		return na && nb && fa == fb
	}
	switch x := a.(type) {
	case undefined:
		return isUndefined(b)
	case nil:
		return b == nil
	case bool, string:
		return a == b
	case []any, map[string]any, *object:
		return sameReference(x, b)
	}
	return false
}

func sameReference(a, b any) bool {
	ra, rb := reflect.ValueOf(a), reflect.ValueOf(b)
	if ra.Kind() != rb.Kind() || ra.Type() != rb.Type() {
		return false
	}
	if ra.Kind() == reflect.Slice && (ra.Len() == 0 || rb.Len() == 0) {
		return ra.Len() == rb.Len() && ra.Pointer() == rb.Pointer() && ra.Cap() == rb.Cap()
	}
	return ra.Pointer() == rb.Pointer()
}

// looseEqual is JavaScript's ==.
func looseEqual(a, b any) bool {
	if isNullish(a) || isNullish(b) {
		return isNullish(a) && isNullish(b)
	}
	aPrim, bPrim := isPrimitive(a), isPrimitive(b)
	if !aPrim && !bPrim {
		return strictEqual(a, b)
	}
	a, b = toPrimitive(a), toPrimitive(b)
	sa, aStr := a.(string)
	sb, bStr := b.(string)
	if aStr && bStr {
		return sa == sb
	}
	return toNumber(a) == toNumber(b)
}

func isPrimitive(v any) bool {
	switch v.(type) {
	case []any, map[string]any, *object, method, *jsRegexp, loopVars, safeString:
		return false
	}
	return true
}

// utf16Len is JavaScript's string length.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// plain converts an engine value to the plain Go value Evaluate returns, as Backstage's
// JSON round trip would: undefined members vanish, undefined array items and non-finite
// numbers become nil, integral numbers become int, objects become Maps (in their order).
func plain(v any) any {
	return plainDepth(norm(v), 0)
}

func plainDepth(v any, depth int) any {
	if depth > 100 {
		return nil
	}
	switch x := v.(type) {
	case undefined:
		return nil
	case Secret:
		inner := plainDepth(norm(x.v), depth+1)
		if inner == nil {
			return nil
		}
		return Secret{v: inner, parts: x.parts}
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
		if x == math.Trunc(x) && math.Abs(x) <= 1<<53 {
			return int(x)
		}
		return x
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plainDepth(norm(e), depth+1)
		}
		return out
	case *object, map[string]any, loopVars:
		out := newObject()
		for _, k := range objectKeys(x) {
			e, _ := objectGet(x, k)
			if !isUndefined(e) {
				if _, fn := e.(method); !fn {
					out.set(k, plainDepth(e, depth+1))
				}
			}
		}
		return out
	case safeString:
		return plainDepth(safeObject(x), depth+1)
	case method, *jsRegexp:
		return nil
	}
	return v
}
