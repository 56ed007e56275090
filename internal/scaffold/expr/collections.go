package expr

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"unicode/utf8"
)

// fDefault is Nunjucks' default: only undefined is replaced, unless the second argument is
// true, in which case every falsy value is.
func fDefault(_ *state, v any, args []any) (any, error) {
	if truthy(arg(args, 1)) {
		if truthy(v) {
			return v, nil
		}
		return arg(args, 0), nil
	}
	if isUndefined(v) {
		return arg(args, 0), nil
	}
	return v, nil
}

// items returns the array items of v (Nunjucks' lib.map: anything else is empty).
func items(v any) []any {
	if a, ok := norm(v).([]any); ok {
		out := make([]any, len(a))
		for i, e := range a {
			out[i] = norm(e)
		}
		return out
	}
	return []any{}
}

// jsItems is what Nunjucks' loops over arr.length and arr[i] see: an array's items, a string's characters,
// and for a SafeString (which has a length but no indexes) as many undefineds.
func jsItems(v any) []any {
	switch x := v.(type) {
	case string:
		out := []any{}
		for _, r := range x {
			out = append(out, string(r))
		}
		return out
	case safeString:
		out := make([]any, utf16Len(string(x)))
		for i := range out {
			out[i] = undefined{}
		}
		return out
	}
	return items(v)
}

func fBatch(st *state, v any, args []any) (any, error) {
	n := int(toNumber(arg(args, 0)))
	if n <= 0 {
		return nil, errors.New("linecount must be a positive number")
	}
	arr := jsItems(v)
	res := []any{}
	for len(arr) > 0 {
		k := min(n, len(arr))
		row := append([]any{}, arr[:k]...)
		arr = arr[k:]
		if fill := arg(args, 1); len(arr) == 0 && truthy(fill) {
			if err := st.checkLoop(n, "a batch"); err != nil {
				return nil, err
			}
			for len(row) < n {
				row = append(row, fill)
			}
		}
		res = append(res, row)
	}
	return res, nil
}

func fDictsort(_ *state, v any, args []any) (any, error) {
	if !isObject(v) {
		return nil, errors.New("value must be an object")
	}
	by := 0
	switch b := arg(args, 1); {
	case isUndefined(b) || b == "key":
	case b == "value":
		by = 1
	default:
		return nil, errors.New("you can only sort by either key or value")
	}
	var pairs [][]any
	for _, k := range objectKeys(v) {
		e, _ := objectGet(v, k)
		pairs = append(pairs, []any{k, e})
	}
	caseSensitive := truthy(arg(args, 0))
	sort.SliceStable(pairs, func(i, j int) bool {
		a, b := pairs[i][by], pairs[j][by]
		if !caseSensitive {
			a, b = upperIfString(a), upperIfString(b)
		}
		c, ok := compare(a, b)
		return ok && c < 0
	})
	out := make([]any, len(pairs))
	for i, p := range pairs {
		out[i] = p
	}
	return out, nil
}

func upperIfString(v any) any {
	if s, ok := v.(string); ok {
		return strings.ToUpper(s)
	}
	return v
}

func fLast(_ *state, v any, _ []any) (any, error) {
	switch x := v.(type) {
	case []any:
		if len(x) > 0 {
			return norm(x[len(x)-1]), nil
		}
	case string:
		r := []rune(x)
		if len(r) > 0 {
			return string(r[len(r)-1]), nil
		}
	}
	return undefined{}, nil
}

// attrGetter follows a dotted attribute path, as Nunjucks' lib.getAttrGetter does.
func attrGetter(path any) func(any) any {
	parts := strings.Split(toString(path), ".")
	return func(v any) any {
		for _, p := range parts {
			v = member(v, p)
		}
		return v
	}
}

func fGroupby(_ *state, v any, args []any) (any, error) {
	get := attrGetter(arg(args, 0))
	out := newObject()
	for _, it := range jsItems(v) {
		k := toString(get(it))
		prev, _ := out.vals[k].([]any)
		out.set(k, append(prev, it))
	}
	return out, nil
}

func fJoin(st *state, v any, args []any) (any, error) {
	del := ""
	if d := arg(args, 0); truthy(d) {
		del = toString(d)
	}
	if s, ok := v.(string); ok {
		return s, nil
	}
	arr := items(v)
	if a := arg(args, 1); truthy(a) {
		get := attrGetter(a)
		for i, e := range arr {
			arr[i] = get(e)
		}
	}
	parts := make([]string, len(arr))
	total := 0
	for i, e := range arr {
		parts[i] = asString(e)
		total += len(parts[i]) + len(del)
		if err := st.checkSize(total); err != nil {
			return nil, err
		}
	}
	return strings.Join(parts, del), nil
}

func fLength(_ *state, v any, _ []any) (any, error) {
	switch x := v.(type) {
	case undefined, nil:
		return 0.0, nil
	case string:
		return float64(utf16Len(x)), nil
	case safeString:
		return float64(utf16Len(string(x))), nil
	case []any:
		return float64(len(x)), nil
	case *object, map[string]any, loopVars:
		return float64(len(objectKeys(x))), nil
	case bool:
		if !x {
			return 0.0, nil // Nunjucks normalizes false to ""
		}
	}
	return undefined{}, nil
}

func fList(st *state, v any, _ []any) (any, error) {
	switch x := v.(type) {
	case string:
		if err := st.checkLoop(utf8.RuneCountInString(x), "a list"); err != nil {
			return nil, err
		}
		out := []any{}
		for _, r := range x {
			out = append(out, string(r))
		}
		return out, nil
	case []any:
		return x, nil
	case *object, map[string]any, loopVars:
		out := []any{}
		for _, k := range objectKeys(x) {
			e, _ := objectGet(x, k)
			pair := newObject()
			pair.set("key", k)
			pair.set("value", e)
			out = append(out, pair)
		}
		return out, nil
	}
	return nil, errors.New("type not iterable")
}

func selectTest(want bool) func(*state, any, []any) (any, error) {
	return func(_ *state, v any, args []any) (any, error) {
		name := "truthy"
		if t := arg(args, 0); !isNullish(t) {
			name = toString(t)
		}
		fn, ok := test(name)
		if !ok {
			return nil, fmt.Errorf("unknown test %q", name)
		}
		out := []any{}
		for _, it := range items(v) {
			if fn(it, args[min(1, len(args)):]) == want {
				out = append(out, it)
			}
		}
		return out, nil
	}
}

// selectAttr is Nunjucks' selectattr/rejectattr: items whose attribute is truthy (or falsy).
func selectAttr(want bool) func(*state, any, []any) (any, error) {
	return func(_ *state, v any, args []any) (any, error) {
		out := []any{}
		for _, it := range items(v) {
			if truthy(member(it, arg(args, 0))) == want {
				out = append(out, it)
			}
		}
		return out, nil
	}
}

func fReverse(_ *state, v any, _ []any) (any, error) {
	if s, ok := v.(string); ok {
		r := []rune(s)
		for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
			r[i], r[j] = r[j], r[i]
		}
		return string(r), nil
	}
	arr := items(v)
	for i, j := 0, len(arr)-1; i < j; i, j = i+1, j-1 {
		arr[i], arr[j] = arr[j], arr[i]
	}
	return arr, nil
}

func fRound(_ *state, v any, args []any) (any, error) {
	factor := math.Pow(10, toNumber(arg(args, 0)))
	if isNullish(arg(args, 0)) {
		factor = 1
	}
	x := toNumber(v) * factor
	switch arg(args, 1) {
	case "ceil":
		x = math.Ceil(x)
	case "floor":
		x = math.Floor(x)
	default:
		x = math.Floor(x + 0.5)
	}
	return x / factor, nil
}

func fSlice(st *state, v any, args []any) (any, error) {
	if s, ok := v.(string); ok {
		return sliceString(st, s, args)
	}
	arr := items(v)
	bounds, extra, err := sliceBounds(st, len(arr), args)
	if err != nil {
		return nil, err
	}
	res := []any{}
	for i, b := range bounds {
		row := append([]any{}, arr[b[0]:b[1]]...)
		if fill := arg(args, 1); truthy(fill) && i >= extra {
			row = append(row, fill)
		}
		res = append(res, row)
	}
	return res, nil
}

// sliceString is slice over a string: JavaScript's String.slice gives substrings, and a fill value
// fails (a string has no push).
func sliceString(st *state, s string, args []any) (any, error) {
	rs := []rune(s)
	bounds, extra, err := sliceBounds(st, len(rs), args)
	if err != nil {
		return nil, err
	}
	res := []any{}
	for i, b := range bounds {
		if truthy(arg(args, 1)) && i >= extra {
			return nil, errors.New("a slice of a string cannot be filled (currSlice.push is not a function)")
		}
		res = append(res, string(rs[b[0]:b[1]]))
	}
	return res, nil
}

// sliceBounds is the slice filter's arithmetic: n items cut into args[0] slices, the first extra of
// them one item longer than the rest. It returns each slice's start and end.
func sliceBounds(st *state, n int, args []any) (bounds [][2]int, extra int, err error) {
	slices := int(toNumber(arg(args, 0)))
	if slices <= 0 {
		return nil, 0, errors.New("slices must be a positive number")
	}
	if err := st.checkLoop(slices, "a slice"); err != nil {
		return nil, 0, err
	}
	size := n / slices
	extra = n % slices
	offset := 0
	for i := range slices {
		start := offset + i*size
		if i < extra {
			offset++
		}
		bounds = append(bounds, [2]int{start, offset + (i+1)*size})
	}
	return bounds, extra, nil
}

func fSort(_ *state, v any, args []any) (any, error) {
	arr := jsItems(v)
	reverse, caseSens := truthy(arg(args, 0)), truthy(arg(args, 1))
	get := func(x any) any { return x }
	if a := arg(args, 2); truthy(a) {
		get = attrGetter(a)
	}
	key := func(x any) any {
		x = get(x)
		if s, ok := x.(string); ok && !caseSens {
			return strings.ToLower(s)
		}
		return x
	}
	sort.SliceStable(arr, func(i, j int) bool {
		c, ok := compare(key(arr[i]), key(arr[j]))
		if reverse {
			return ok && c > 0
		}
		return ok && c < 0
	})
	return arr, nil
}

func fSum(st *state, v any, args []any) (any, error) {
	arr := items(v)
	if a := arg(args, 0); truthy(a) {
		for i, e := range arr {
			arr[i] = member(e, a)
		}
	}
	var total any = 0.0
	for _, e := range arr {
		total = add(total, e)
		if s, ok := total.(string); ok {
			if err := st.checkSize(len(s)); err != nil {
				return nil, err
			}
		}
	}
	start := arg(args, 1)
	if isUndefined(start) {
		start = 0.0
	}
	return add(start, total), nil
}

// test returns the Nunjucks test called name, for "x is name" and select/reject.
func test(name string) (func(v any, args []any) bool, bool) {
	cmp := func(ok func(int) bool) func(any, []any) bool {
		return func(v any, args []any) bool { c, valid := compare(v, arg(args, 0)); return valid && ok(c) }
	}
	tests := map[string]func(any, []any) bool{
		"defined":   func(v any, _ []any) bool { return !isUndefined(v) },
		"undefined": func(v any, _ []any) bool { return isUndefined(v) },
		"none":      func(v any, _ []any) bool { return v == nil },
		"null":      func(v any, _ []any) bool { return v == nil },
		"number":    func(v any, _ []any) bool { _, ok := num(v); return ok },
		"string":    func(v any, _ []any) bool { _, ok := v.(string); return ok },
		"boolean":   func(v any, _ []any) bool { _, ok := v.(bool); return ok },
		"odd":       func(v any, _ []any) bool { return math.Mod(toNumber(v), 2) == 1 }, // JavaScript's v % 2 === 1: -1 is not odd
		"even":      func(v any, _ []any) bool { return math.Mod(toNumber(v), 2) == 0 },
		"divisibleby": func(v any, args []any) bool {
			return math.Mod(toNumber(v), toNumber(arg(args, 0))) == 0
		},
		"eq":     func(v any, args []any) bool { return strictEqual(v, arg(args, 0)) },
		"ne":     func(v any, args []any) bool { return !strictEqual(v, arg(args, 0)) },
		"lt":     cmp(func(c int) bool { return c < 0 }),
		"le":     cmp(func(c int) bool { return c <= 0 }),
		"gt":     cmp(func(c int) bool { return c > 0 }),
		"ge":     cmp(func(c int) bool { return c >= 0 }),
		"lower":  func(v any, _ []any) bool { s, ok := v.(string); return ok && strings.ToLower(s) == s },
		"upper":  func(v any, _ []any) bool { s, ok := v.(string); return ok && strings.ToUpper(s) == s },
		"truthy": func(v any, _ []any) bool { return truthy(v) },
		"falsy":  func(v any, _ []any) bool { return !truthy(v) },
		"iterable": func(v any, _ []any) bool {
			_, a := v.([]any)
			_, s := v.(string)
			_, ss := v.(safeString)
			return a || s || ss
		},
		"mapping":     func(v any, _ []any) bool { return isObject(v) },
		"callable":    func(v any, _ []any) bool { _, ok := v.(method); return ok },
		"escaped":     func(any, []any) bool { return false },
		"sameas":      func(v any, args []any) bool { return strictEqual(v, arg(args, 0)) },
		"equalto":     func(v any, args []any) bool { return strictEqual(v, arg(args, 0)) },
		"lessthan":    cmp(func(c int) bool { return c < 0 }),
		"greaterthan": cmp(func(c int) bool { return c > 0 }),
	}
	fn, ok := tests[name]
	return fn, ok
}
