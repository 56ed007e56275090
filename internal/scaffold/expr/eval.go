package expr

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// maxEvalDepth bounds evaluation recursion, e.g. a chain of thousands of "+" in one
// expression, well before Go's stack limit (which ends the process, not the render).
const maxEvalDepth = 2000

// state is one render in progress. It is never shared between goroutines.
type state struct {
	opts     Options
	vars     map[string]any
	scopes   []map[string]any
	out      *strings.Builder
	deadline time.Time
	ticks    int
	depth    int
	calls    int // macro calls in progress
	regexps  map[string]*jsRegexp
	taint    taint
	jinja    bool // RenderOptions.Jinja
}

func newState(o Options, vars map[string]any) *state {
	return &state{
		opts:     o,
		vars:     vars,
		scopes:   []map[string]any{{}},
		out:      &strings.Builder{},
		deadline: time.Now().Add(o.Timeout),
	}
}

// tick is called for every evaluation step and loop iteration and ends the render once it
// has run past its deadline.
func (st *state) tick() error {
	st.ticks++
	if st.ticks&127 == 0 && time.Now().After(st.deadline) {
		return fmt.Errorf("%w: rendering took longer than %s", ErrLimit, st.opts.Timeout)
	}
	return nil
}

func (st *state) write(s string) error {
	if st.out.Len()+len(s) > st.opts.MaxOutputBytes {
		return fmt.Errorf("%w: output exceeds %d bytes", ErrLimit, st.opts.MaxOutputBytes)
	}
	st.out.WriteString(s)
	return nil
}

// checkSize refuses a computed string longer than the output limit, so that a loop that
// doubles a string cannot exhaust memory before anything is written.
func (st *state) checkSize(n int) error {
	if n > st.opts.MaxOutputBytes {
		return fmt.Errorf("%w: a value of %d bytes exceeds the output limit of %d bytes", ErrLimit, n, st.opts.MaxOutputBytes)
	}
	return nil
}

func (st *state) checkLoop(n int, what string) error {
	if n > st.opts.MaxLoop {
		return fmt.Errorf("%w: %s of %d items exceeds the limit of %d", ErrLimit, what, n, st.opts.MaxLoop)
	}
	return nil
}

func (st *state) lookup(name string) any {
	for i := len(st.scopes) - 1; i >= 0; i-- {
		if v, ok := st.scopes[i][name]; ok {
			return v
		}
	}
	if v, ok := st.vars[name]; ok {
		return norm(v)
	}
	return undefined{}
}

// assign sets a variable the way Nunjucks' {% set %} does: an existing variable in an
// enclosing scope is updated, otherwise it is created in the innermost scope.
func (st *state) assign(name string, v any) {
	for i := len(st.scopes) - 1; i >= 0; i-- {
		if _, ok := st.scopes[i][name]; ok {
			st.scopes[i][name] = v
			return
		}
	}
	st.scopes[len(st.scopes)-1][name] = v
}

func (st *state) execBody(body []stmt) error {
	for _, s := range body {
		if err := st.exec(s); err != nil {
			return err
		}
	}
	return nil
}

// lineError places an error at a line of the template.
type lineError struct {
	line int
	err  error
}

func (e *lineError) Error() string { return fmt.Sprintf("line %d: %v", e.line, e.err) }
func (e *lineError) Unwrap() error { return e.err }

func lineErrorf(line int, format string, args ...any) error {
	return &lineError{line: line, err: fmt.Errorf(format, args...)}
}

func atLine(line int, err error) error {
	if err == nil {
		return nil
	}
	var le *lineError
	if errors.As(err, &le) {
		return err // already placed, e.g. by a nested block
	}
	return &lineError{line: line, err: err}
}

func (st *state) exec(s stmt) error {
	if err := st.tick(); err != nil {
		return err
	}
	switch s := s.(type) {
	case textStmt:
		return st.write(s.text)
	case outputStmt:
		st.taint.read = false
		v, err := st.eval(s.x)
		if err != nil {
			return atLine(s.line, err)
		}
		out := outputString(v)
		if st.taint.read && out != "" {
			st.taint.parts = append(st.taint.parts, out)
		}
		return atLine(s.line, st.write(out))
	case ifStmt:
		return st.execIf(s)
	case forStmt:
		return st.execFor(s)
	case setStmt:
		return st.execSet(s)
	case macroStmt:
		st.assign(s.name, st.macro(s))
		return nil
	case filterStmt:
		return st.execFilterBlock(s)
	}
	return fmt.Errorf("unknown statement %T", s)
}

// capture runs body into a string of its own, and tells whether what it wrote depends on a secret (then
// the string is returned as a Secret: wholly when control flow depended on one, else its secret parts).
func (st *state) capture(body []stmt) (any, error) {
	saved, parts, all := st.out, len(st.taint.parts), st.taint.all
	st.out = &strings.Builder{}
	err := st.execBody(body)
	out := st.out.String()
	st.out = saved
	if err != nil {
		return nil, err
	}
	if st.taint.all && !all {
		st.taint.all = all
		return NewSecret(out), nil
	}
	if len(st.taint.parts) > parts {
		secret := Secret{v: out, parts: append([]string(nil), st.taint.parts[parts:]...)}
		st.taint.parts = st.taint.parts[:parts]
		return secret, nil
	}
	return out, nil
}

// kwArgs carries a call's name=value arguments to a macro.
type kwArgs struct{ o *object }

// macro makes the callable a {% macro %} defines. A call runs the body in a scope of its own (the
// template's top-level variables, then the arguments) and returns its output as a SafeString, as
// Nunjucks does.
func (st *state) macro(m macroStmt) method {
	return method{name: m.name, macro: true, call: func(st *state, args []any) (any, error) {
		var kw *object
		if n := len(args); n > 0 {
			if k, ok := args[n-1].(kwArgs); ok {
				kw, args = k.o, args[:n-1]
			}
		}
		scope := map[string]any{}
		for i, p := range m.params {
			switch {
			case i < len(args):
				scope[p] = args[i]
			case kw != nil && hasKey(kw, p): // given, even as null or undefined
				scope[p] = kw.vals[p]
			case m.defaults[i] != nil:
				v, err := st.eval(m.defaults[i])
				if err != nil {
					return nil, err
				}
				scope[p] = v
			default:
				scope[p] = undefined{}
			}
		}
		if kw != nil {
			for _, k := range kw.keys {
				if _, isParam := scope[k]; !isParam {
					scope[k] = kw.vals[k]
				}
			}
		}
		if st.calls++; st.calls > maxMacroDepth {
			st.calls--
			return nil, fmt.Errorf("%w: macro calls nest deeper than %d levels", ErrLimit, maxMacroDepth)
		}
		saved := st.scopes
		st.scopes = []map[string]any{st.scopes[0], scope}
		defer func() { st.scopes = saved; st.calls-- }()
		out, err := st.capture(m.body)
		if err != nil {
			return nil, err
		}
		if sec, ok := out.(Secret); ok {
			for _, p := range sec.Literals() {
				st.taint.parts = append(st.taint.parts, p)
			}
			st.sawSecret()
			return safeString(sec.v.(string)), nil
		}
		return safeString(out.(string)), nil
	}}
}

// maxMacroDepth bounds how deeply macro calls nest (a macro calling itself).
const maxMacroDepth = 50

// execFilterBlock writes a {% filter %} block's output through its filter.
func (st *state) execFilterBlock(s filterStmt) error {
	body, err := st.capture(s.body)
	if err != nil {
		return err
	}
	secret := false
	if sec, ok := body.(Secret); ok {
		body, secret = sec.v, true
	}
	f := s.f
	f.x = litNode{v: body}
	v, err := st.evalFilter(f)
	if err != nil {
		return atLine(s.line, err)
	}
	out := outputString(v)
	if secret && out != "" {
		st.taint.parts = append(st.taint.parts, out)
		st.taint.touched = true
	}
	return atLine(s.line, st.write(out))
}

func (st *state) execIf(s ifStmt) error {
	for _, b := range s.branches {
		st.taint.read = false
		c, err := st.eval(b.cond)
		if err != nil {
			return atLine(s.line, err)
		}
		if st.taint.read {
			st.taint.all = true // what is written now depends on a secret
		}
		if truthy(c) {
			return st.execBody(b.body)
		}
	}
	return st.execBody(s.els)
}

func (st *state) execSet(s setStmt) error {
	var v any
	if s.x != nil {
		st.taint.read = false
		var err error
		if v, err = st.evalNode(s.x); err != nil {
			return atLine(s.line, err)
		}
		v = st.wrapRead(v) // the variable carries the secret to where it is used
	} else {
		saved, parts, all := st.out, len(st.taint.parts), st.taint.all
		st.out = &strings.Builder{}
		err := st.execBody(s.body)
		v, st.out = st.out.String(), saved
		if err != nil {
			return err
		}
		if st.taint.all && !all {
			v = NewSecret(v)
		} else if len(st.taint.parts) > parts {
			v = Secret{v: v, parts: append([]string(nil), st.taint.parts[parts:]...)}
		}
	}
	for _, n := range s.names {
		st.assign(n, v)
	}
	return nil
}

// loopItems lists what a for loop visits: array items, or key/value pairs of an object when
// the loop names two variables. As in Nunjucks, anything else (a string, an object with one
// loop variable, undefined) runs no iteration.
func loopItems(v any, names int) ([][]any, bool) {
	switch x := norm(v).(type) {
	case []any:
		items := make([][]any, len(x))
		for i, e := range x {
			items[i] = destructure(norm(e), names)
		}
		return items, true
	case *object, map[string]any, loopVars:
		if names != 2 {
			return nil, false
		}
		keys := objectKeys(x)
		items := make([][]any, len(keys))
		for i, k := range keys {
			val, _ := objectGet(x, k)
			items[i] = []any{k, val}
		}
		return items, true
	case string:
		// Nunjucks loops over a string's length: one name gets its characters, two its indexes and characters.
		var items [][]any
		i := 0
		for _, r := range x {
			if names == 1 {
				items = append(items, []any{string(r)})
			} else {
				items = append(items, append([]any{strconv.Itoa(i), string(r)}, undefinedN(names-2)...))
			}
			i++
		}
		return items, true
	case safeString:
		if names != 1 {
			return nil, false
		}
		items := make([][]any, utf16Len(string(x))) // a SafeString has a length but no indexes
		for i := range items {
			items[i] = []any{undefined{}}
		}
		return items, true
	}
	return nil, false
}

func hasKey(o *object, k string) bool { _, ok := o.vals[k]; return ok }

func undefinedN(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = undefined{}
	}
	return out
}

func destructure(e any, names int) []any {
	if names == 1 {
		return []any{e}
	}
	vals := make([]any, names)
	sec, secret := e.(Secret)
	if secret {
		e = norm(sec.v)
	}
	for i := range vals {
		vals[i] = member(e, float64(i)) // item[0], item[1]: parts of an array, characters of a string
		if secret && !isUndefined(vals[i]) {
			vals[i] = NewSecret(vals[i]) // each part of a secret pair is secret
		}
	}
	return vals
}

func (st *state) execFor(s forStmt) error {
	st.taint.read = false
	v, err := st.evalNode(s.iter) // items stay as they are: a secret item is secret where it is used
	if err != nil {
		return atLine(s.line, err)
	}
	if sec, ok := v.(Secret); ok {
		st.sawSecret()
		v = sec.v
	}
	if st.taint.read {
		st.taint.all = true // how often the body runs depends on a secret
	}
	items, _ := loopItems(v, len(s.names))
	if len(items) == 0 {
		return st.execBody(s.els)
	}
	if err := st.checkLoop(len(items), "a loop"); err != nil {
		return atLine(s.line, err)
	}
	st.scopes = append(st.scopes, map[string]any{})
	defer func() { st.scopes = st.scopes[:len(st.scopes)-1] }()
	scope := st.scopes[len(st.scopes)-1]
	for i, item := range items {
		if err := st.tick(); err != nil {
			return err
		}
		for j, name := range s.names {
			scope[name] = item[j]
		}
		scope["loop"] = loopVars{i: i, n: len(items)}
		if err := st.execBody(s.body); err != nil {
			return err
		}
	}
	return nil
}

// eval evaluates an expression for use: a secret read on the way is recorded and unwrapped.
func (st *state) eval(n node) (any, error) {
	v, err := st.evalNode(n)
	if err != nil {
		return nil, err
	}
	return st.use(v), nil
}

// evalNode evaluates an expression; a variable or a member comes back as it is in the variables (a
// Secret, or a map holding some), so that reading one member of a map does not read its secret members.
func (st *state) evalNode(n node) (any, error) {
	st.depth++
	defer func() { st.depth-- }()
	if st.depth > maxEvalDepth {
		return nil, fmt.Errorf("%w: expression nests deeper than %d levels", ErrLimit, maxEvalDepth)
	}
	if err := st.tick(); err != nil {
		return nil, err
	}
	switch x := n.(type) {
	case litNode:
		return x.v, nil
	case nameNode:
		return st.lookup(x.name), nil
	case memberNode:
		return st.evalMember(x)
	case sliceNode:
		return st.evalSlice(x)
	case callNode:
		return st.evalCall(x)
	case filterNode:
		return st.evalFilter(x)
	case unaryNode:
		return st.evalUnary(x)
	case binaryNode:
		return st.evalBinary(x)
	case testNode:
		return st.evalTest(x)
	case condNode:
		return st.evalCond(x)
	case arrayNode:
		return st.evalList(x.items)
	case dictNode:
		return st.evalDict(x)
	case regexNode:
		return st.regexp(x.pattern, x.flags)
	}
	return nil, fmt.Errorf("unknown expression %T", n)
}

func (st *state) evalList(nodes []node) ([]any, error) {
	out := make([]any, len(nodes))
	for i, n := range nodes {
		v, err := st.eval(n)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func (st *state) evalDict(d dictNode) (any, error) {
	o := newObject()
	for i, k := range d.keys {
		v, err := st.eval(d.vals[i])
		if err != nil {
			return nil, err
		}
		o.set(k, v)
	}
	return o, nil
}

func (st *state) evalMember(m memberNode) (any, error) {
	obj, err := st.evalNode(m.obj)
	if err != nil {
		return nil, err
	}
	if sec, ok := obj.(Secret); ok {
		st.sawSecret()
		obj = norm(sec.v)
	}
	key, err := st.eval(m.key)
	if err != nil {
		return nil, err
	}
	v := member(obj, key)
	if _, ok := v.(method); ok {
		v = member(st.use(obj), key) // a method reads its receiver whole
	}
	if _, ok := v.(undefined); ok && st.jinja {
		if m, ok := jinjaDictMethod(st.use(obj), toString(key)); ok {
			return m, nil
		}
	}
	if st.jinja && isJinjaName(key) {
		v = st.jinjaMember(st.use(obj), key, v) // Python's string methods (jinja.go)
	}
	return v, nil
}

// jinjaDictMethod is Jinja2's dict.items(), keys(), values() or get(key[, default]) of an object, in the
// object's key order.
func jinjaDictMethod(obj any, name string) (method, bool) {
	o := norm(obj)
	switch o.(type) {
	case *object, map[string]any:
	default:
		return method{}, false
	}
	keys := objectKeys(o)
	switch name {
	case "items", "keys", "values":
		return method{name: name, call: func(*state, []any) (any, error) {
			out := make([]any, len(keys))
			for i, k := range keys {
				v, _ := objectGet(o, k)
				switch name {
				case "items":
					out[i] = []any{k, v}
				case "keys":
					out[i] = k
				default:
					out[i] = v
				}
			}
			return out, nil
		}}, true
	case "get":
		return method{name: name, call: func(_ *state, a []any) (any, error) {
			if v, ok := objectGet(o, toString(arg(a, 0))); ok {
				return v, nil
			}
			if len(a) > 1 {
				return arg(a, 1), nil
			}
			return nil, nil
		}}, true
	}
	return method{}, false
}

// member is Nunjucks' memberLookup: a member of undefined or null is undefined, never an
// error; only map keys, array indexes and a fixed set of string/array methods are reachable.
func member(obj, key any) any {
	switch o := norm(obj).(type) {
	case []any:
		if i, ok := arrayIndex(key); ok {
			if i < len(o) {
				return norm(o[i])
			}
			return undefined{}
		}
		if k := toString(key); k == "length" {
			return float64(len(o))
		}
		return methodOf(o, toString(key))
	case string:
		if i, ok := arrayIndex(key); ok {
			u := []rune(o)
			if i < len(u) {
				return string(u[i])
			}
			return undefined{}
		}
		if k := toString(key); k == "length" {
			return float64(utf16Len(o))
		}
		return methodOf(o, toString(key))
	case *object, map[string]any, loopVars:
		if v, ok := objectGet(o, toString(key)); ok {
			return v
		}
	case safeString:
		switch k := toString(key); k {
		case "val":
			return string(o)
		case "length":
			return float64(utf16Len(string(o)))
		}
		return member(string(o), key)
	case float64, bool, *jsRegexp:
		return methodOf(o, toString(key))
	}
	return undefined{}
}

// arrayIndex returns key as a non-negative integer index, if it is one.
func arrayIndex(key any) (int, bool) {
	if f, ok := num(key); ok {
		if f >= 0 && f == math.Trunc(f) && f < math.MaxInt32 {
			return int(f), true
		}
		return 0, false
	}
	s, ok := key.(string)
	if !ok || s == "" || len(s) > 9 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func (st *state) evalSlice(s sliceNode) (any, error) {
	obj, err := st.eval(s.obj)
	if err != nil {
		return nil, err
	}
	var bounds [3]any
	for i, n := range []node{s.start, s.stop, s.step} {
		bounds[i] = undefined{}
		if n != nil {
			if bounds[i], err = st.eval(n); err != nil {
				return nil, err
			}
		}
	}
	switch o := norm(obj).(type) {
	case []any:
		return sliceItems(o, bounds)
	case string:
		r := []rune(o)
		items := make([]any, len(r))
		for i, c := range r {
			items[i] = string(c)
		}
		out, err := sliceItems(items, bounds)
		if err != nil {
			return nil, err
		}
		return toStringJoin(out.([]any)), nil
	}
	return undefined{}, nil
}

func toStringJoin(items []any) string {
	var b strings.Builder
	for _, it := range items {
		b.WriteString(toString(it))
	}
	return b.String()
}

// sliceItems applies Python-style [start:stop:step] to items, as Nunjucks' sliceLookup does.
func sliceItems(items []any, bounds [3]any) (any, error) {
	n := len(items)
	step := 1
	if !isNullish(bounds[2]) {
		step = int(toNumber(bounds[2]))
	}
	if step == 0 {
		return nil, fmt.Errorf("slice step cannot be zero")
	}
	clamp := func(v any, def int) int {
		if isNullish(v) {
			return def
		}
		i := int(toNumber(v))
		if i < 0 {
			i += n
		}
		return min(max(i, -1), n)
	}
	var out []any
	if step > 0 {
		for i := max(clamp(bounds[0], 0), 0); i < clamp(bounds[1], n); i += step {
			out = append(out, items[i])
		}
	} else {
		for i := min(clamp(bounds[0], n-1), n-1); i > clamp(bounds[1], -1); i += step {
			out = append(out, items[i])
		}
	}
	if out == nil {
		out = []any{}
	}
	return out, nil
}

func (st *state) evalUnary(u unaryNode) (any, error) {
	v, err := st.eval(u.x)
	if err != nil {
		return nil, err
	}
	switch u.op {
	case "not":
		return !truthy(v), nil
	case "-":
		return -toNumber(v), nil
	}
	return toNumber(v), nil
}

func (st *state) evalCond(c condNode) (any, error) {
	cond, err := st.eval(c.cond)
	if err != nil {
		return nil, err
	}
	switch {
	case truthy(cond):
		return st.eval(c.then)
	case c.els != nil:
		return st.eval(c.els)
	}
	// Nunjucks compiles a missing else to "".
	return "", nil
}

func (st *state) evalBinary(b binaryNode) (any, error) {
	l, err := st.eval(b.l)
	if err != nil {
		return nil, err
	}
	switch {
	case b.op == "and" && !truthy(l), b.op == "or" && truthy(l):
		return l, nil
	case b.op == "and" || b.op == "or":
		return st.eval(b.r)
	}
	r, err := st.eval(b.r)
	if err != nil {
		return nil, err
	}
	v, err := binary(b.op, l, r)
	if s, ok := v.(string); ok && err == nil {
		err = st.checkSize(len(s))
	}
	return v, err
}

func binary(op string, l, r any) (any, error) {
	switch op {
	case "+":
		return add(l, r), nil
	case "~":
		return add(add(l, ""), r), nil
	case "-":
		return toNumber(l) - toNumber(r), nil
	case "*":
		return toNumber(l) * toNumber(r), nil
	case "/":
		return toNumber(l) / toNumber(r), nil
	case "//":
		return math.Floor(toNumber(l) / toNumber(r)), nil
	case "%":
		return math.Mod(toNumber(l), toNumber(r)), nil
	case "**":
		return math.Pow(toNumber(l), toNumber(r)), nil
	case "==":
		return looseEqual(l, r), nil
	case "!=":
		return !looseEqual(l, r), nil
	case "===":
		return strictEqual(l, r), nil
	case "!==":
		return !strictEqual(l, r), nil
	case "in", "not in":
		in, err := inOperator(l, r)
		return in == (op == "in"), err
	}
	c, ok := compare(l, r)
	switch op {
	case "<":
		return ok && c < 0, nil
	case ">":
		return ok && c > 0, nil
	case "<=":
		return ok && c <= 0, nil
	case ">=":
		return ok && c >= 0, nil
	}
	return nil, fmt.Errorf("unknown operator %q", op)
}

// inOperator is Nunjucks' runtime.inOperator.
func inOperator(key, container any) (bool, error) {
	switch c := norm(container).(type) {
	case []any:
		for _, e := range c {
			if strictEqual(norm(e), key) {
				return true, nil
			}
		}
		return false, nil
	case *object, map[string]any, loopVars:
		_, ok := objectGet(c, toString(key))
		return ok, nil
	case string:
		return strings.Contains(c, toString(key)), nil
	}
	return false, fmt.Errorf("cannot use \"in\" to search for %q in %s", toString(key), typeName(container))
}

// typeName names a value's type for error messages, in JavaScript's words.
func typeName(v any) string {
	switch norm(v).(type) {
	case undefined:
		return "undefined"
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case []any:
		return "an array"
	case *object, map[string]any, loopVars:
		return "an object"
	case method:
		return "a function"
	case safeString:
		return "an object"
	case *jsRegexp:
		return "a regular expression"
	}
	return "a number"
}

func (st *state) evalCall(c callNode) (any, error) {
	var fn any
	if n, ok := c.fn.(nameNode); ok && isUndefined(st.lookup(n.name)) {
		fn = global(n.name)
	} else {
		var err error
		if fn, err = st.eval(c.fn); err != nil {
			return nil, err
		}
	}
	m, ok := fn.(method)
	if !ok {
		return nil, fmt.Errorf("unable to call %s, which is %s", describe(c.fn), typeName(fn))
	}
	args, err := st.evalList(c.args)
	if err != nil {
		return nil, err
	}
	if len(c.kw) > 0 {
		kw := newObject()
		for _, k := range c.kw {
			v, err := st.eval(k.x)
			if err != nil {
				return nil, err
			}
			kw.set(k.name, v)
		}
		if m.macro {
			args = append(args, kwArgs{kw})
		} else {
			args = append(args, kw) // name=value arguments reach a function as one last object, as in Nunjucks
		}
	}
	v, err := m.call(st, args)
	if err != nil {
		return nil, fmt.Errorf("%s(): %w", describe(c.fn), err)
	}
	return v, nil
}

// describe renders a callee expression back to source-like text for error messages.
func describe(n node) string {
	switch x := n.(type) {
	case nameNode:
		return x.name
	case memberNode:
		if k, ok := x.key.(litNode); ok {
			if s, ok := k.v.(string); ok {
				return describe(x.obj) + "." + s
			}
		}
		return describe(x.obj) + "[...]"
	case callNode:
		return describe(x.fn) + "(...)"
	}
	return "the expression"
}

func (st *state) evalFilter(f filterNode) (any, error) {
	v, err := st.eval(f.x)
	if err != nil {
		return nil, err
	}
	args, err := st.evalList(f.args)
	if err != nil {
		return nil, err
	}
	if len(f.kw) > 0 {
		kw := newObject()
		for _, k := range f.kw {
			v, err := st.eval(k.x)
			if err != nil {
				return nil, err
			}
			kw.set(k.name, v)
		}
		if byName[f.name] {
			// sort and int are Nunjucks macros: a name=value argument fills the parameter of that name
			// (after the positional ones); other names are ignored.
			for i := len(args); i < len(f.fn.params); i++ {
				v, ok := kw.vals[f.fn.params[i]]
				if !ok {
					v = undefined{}
				}
				args = append(args, v)
			}
		} else {
			// As in Nunjucks, name=value arguments reach any other filter as one last positional object
			// (with its __keywords marker): `truncate(length=5)` passes an object as the length.
			kw.set("__keywords", true)
			args = append(args, kw)
		}
	}
	if err := nunjucksTypeError(f.name, norm(v), args); err != nil {
		return nil, fmt.Errorf("filter %q: %w", f.name, err)
	}
	out, err := f.fn.fn(st, norm(v), args)
	if err != nil {
		return nil, fmt.Errorf("filter %q: %w", f.name, err)
	}
	if s, ok := out.(string); ok {
		if err := st.checkSize(len(s)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// byName are the filters Nunjucks defines as macros, which take name=value arguments by name.
var byName = map[string]bool{"sort": true, "int": true}

func indexOf(list []string, s string) int {
	for i, e := range list {
		if e == s {
			return i
		}
	}
	return -1
}

// arg returns the i-th argument, or undefined when it was not given.
func arg(args []any, i int) any {
	if i < len(args) {
		return norm(args[i])
	}
	return undefined{}
}

func (st *state) evalTest(t testNode) (any, error) {
	v, err := st.eval(t.x)
	if err != nil {
		return nil, err
	}
	args, err := st.evalList(t.args)
	if err != nil {
		return nil, err
	}
	if err := nunjucksTestTypeError(t.test, norm(v)); err != nil {
		return nil, fmt.Errorf("test %q: %w", t.test, err)
	}
	return t.fn(norm(v), args) != t.neg, nil
}

// jsRegexp is a regular expression literal r/.../flags.
type jsRegexp struct {
	re     *regexp.Regexp
	source string
	flags  string
}

func (st *state) regexp(pattern, flags string) (*jsRegexp, error) {
	key := flags + "/" + pattern
	if r, ok := st.regexps[key]; ok {
		return r, nil
	}
	prefix := ""
	for _, f := range flags {
		switch f {
		case 'i', 'm', 's':
			prefix += string(f)
		}
	}
	src := pattern
	if prefix != "" {
		src = "(?" + prefix + ")" + pattern
	}
	re, err := regexp.Compile(src)
	if err != nil {
		return nil, fmt.Errorf("invalid regular expression /%s/: %w", pattern, err)
	}
	if st.regexps == nil {
		st.regexps = map[string]*jsRegexp{}
	}
	r := &jsRegexp{re: re, source: pattern, flags: flags}
	st.regexps[key] = r
	return r, nil
}

func (r *jsRegexp) global() bool { return strings.Contains(r.flags, "g") }
