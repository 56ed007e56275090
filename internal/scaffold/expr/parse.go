package expr

import (
	"fmt"
	"strconv"
)

// maxDepth bounds how deeply blocks and expressions may nest, so that a hostile template
// cannot exhaust the stack of the parser or the evaluator.
const maxDepth = 200

// Statements of a parsed template.
type (
	stmt interface{ isStmt() }

	textStmt struct{ text string }

	outputStmt struct {
		x    node
		line int
	}

	ifBranch struct {
		cond node
		body []stmt
	}
	ifStmt struct {
		branches []ifBranch
		els      []stmt
		line     int
	}

	forStmt struct {
		names []string
		iter  node
		body  []stmt
		els   []stmt
		line  int
	}

	setStmt struct {
		names []string
		x     node   // nil for a block set
		body  []stmt // the captured body of {% set x %}...{% endset %}
		line  int
	}

	// macroStmt is {% macro name(a, b=default) %}...{% endmacro %}.
	macroStmt struct {
		name     string
		params   []string
		defaults []node // per param; nil when it has none
		body     []stmt
		line     int
	}

	// filterStmt is {% filter name(args) %}...{% endfilter %}: the body's output through a filter.
	filterStmt struct {
		f    filterNode // its x is unused: the body's output is the value
		body []stmt
		line int
	}
)

func (textStmt) isStmt()   {}
func (outputStmt) isStmt() {}
func (ifStmt) isStmt()     {}
func (forStmt) isStmt()    {}
func (setStmt) isStmt()    {}
func (macroStmt) isStmt()  {}
func (filterStmt) isStmt() {}

// Expression nodes.
type (
	node interface{ isNode() }

	litNode  struct{ v any }
	nameNode struct{ name string }
	// memberNode is obj.key or obj[key].
	memberNode struct{ obj, key node }
	sliceNode  struct{ obj, start, stop, step node }
	callNode   struct {
		fn   node
		args []node
		kw   []kwArg
	}
	filterNode struct {
		name string
		fn   filterDef
		x    node
		args []node
		kw   []kwArg
	}
	unaryNode struct {
		op string // "-", "+", "not"
		x  node
	}
	binaryNode struct {
		op   string
		l, r node
	}
	testNode struct {
		x    node
		test string
		fn   func(v any, args []any) bool
		args []node
		neg  bool
	}
	condNode  struct{ cond, then, els node }
	arrayNode struct{ items []node }
	dictNode  struct {
		keys []string
		vals []node
	}
	regexNode struct{ pattern, flags string }
)

type kwArg struct {
	name string
	x    node
}

func (litNode) isNode()    {}
func (nameNode) isNode()   {}
func (memberNode) isNode() {}
func (sliceNode) isNode()  {}
func (callNode) isNode()   {}
func (filterNode) isNode() {}
func (unaryNode) isNode()  {}
func (binaryNode) isNode() {}
func (testNode) isNode()   {}
func (condNode) isNode()   {}
func (arrayNode) isNode()  {}
func (dictNode) isNode()   {}
func (regexNode) isNode()  {}

type parser struct {
	toks         []token
	i            int
	cookiecutter bool
	depth        int
}

func parse(src string, syn syntax, cookiecutter bool) ([]stmt, error) {
	toks, err := lex(src, syn)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks, cookiecutter: cookiecutter}
	body, end, err := p.parseBody()
	if err != nil {
		return nil, err
	}
	if end != "" {
		return nil, lineErrorf(p.prev().line, "unexpected {%% %s %%}", end)
	}
	return body, nil
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) prev() token { return p.toks[max(p.i-1, 0)] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) errorf(t token, format string, args ...any) error {
	return lineErrorf(t.line, format, args...)
}

func (p *parser) isOp(op string) bool {
	t := p.peek()
	return t.kind == tOp && t.val == op
}

func (p *parser) isName(n string) bool {
	t := p.peek()
	return t.kind == tName && t.val == n
}

func (p *parser) skipOp(op string) bool {
	if p.isOp(op) {
		p.i++
		return true
	}
	return false
}

func (p *parser) skipName(n string) bool {
	if p.isName(n) {
		p.i++
		return true
	}
	return false
}

func (p *parser) expect(k tokKind, val string) error {
	t := p.next()
	if t.kind != k || (val != "" && t.val != val) {
		want := k.String()
		if val != "" {
			want = fmt.Sprintf("%q", val)
		}
		return p.errorf(t, "expected %s, got %s", want, t.describe())
	}
	return nil
}

func (p *parser) expectName() (string, error) {
	t := p.next()
	if t.kind != tName {
		return "", p.errorf(t, "expected a name, got %s", t.describe())
	}
	return t.val, nil
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return lineErrorf(p.peek().line, "%w: template nests deeper than %d levels", ErrLimit, maxDepth)
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

// parseBody reads statements until one of the end tags (returned, already consumed with its
// name) or the end of the template.
func (p *parser) parseBody(ends ...string) ([]stmt, string, error) {
	if err := p.enter(); err != nil {
		return nil, "", err
	}
	defer p.leave()
	var body []stmt
	for {
		t := p.next()
		switch t.kind {
		case tEOF:
			if len(ends) > 0 {
				return nil, "", p.errorf(t, "unexpected end of template: missing {%% %s %%}", ends[len(ends)-1])
			}
			return body, "", nil
		case tText:
			body = append(body, textStmt{text: t.val})
		case tVarStart:
			x, err := p.parseExpr()
			if err != nil {
				return nil, "", err
			}
			if err := p.expect(tVarEnd, ""); err != nil {
				return nil, "", err
			}
			body = append(body, outputStmt{x: x, line: t.line})
		case tBlockStart:
			name, err := p.expectName()
			if err != nil {
				return nil, "", err
			}
			for _, e := range ends {
				if name == e {
					return body, name, nil
				}
			}
			s, err := p.parseStatement(name, t.line)
			if err != nil {
				return nil, "", err
			}
			if s != nil {
				body = append(body, s)
			}
		default:
			return nil, "", p.errorf(t, "unexpected %s", t.describe())
		}
	}
}

func (p *parser) parseStatement(name string, line int) (stmt, error) {
	switch name {
	case "if":
		return p.parseIf(line)
	case "for":
		return p.parseFor(line)
	case "set":
		return p.parseSet(line)
	case "raw", "verbatim":
		return p.parseRaw(name)
	case "macro":
		return p.parseMacro(line)
	case "filter":
		return p.parseFilterBlock(line)
	case "endif", "endfor", "endset", "else", "elif", "elseif", "endraw", "endverbatim", "endmacro", "endfilter":
		return nil, lineErrorf(line, "unexpected {%% %s %%}", name)
	}
	return nil, lineErrorf(line, "unknown or unsupported tag %q", name)
}

func (p *parser) parseIf(line int) (stmt, error) {
	s := ifStmt{line: line}
	tag := "if"
	for {
		switch tag {
		case "if", "elif", "elseif":
			cond, err := p.parseExpr()
			if err != nil {
				return nil, err
			}
			if err := p.expect(tBlockEnd, ""); err != nil {
				return nil, err
			}
			body, end, err := p.parseBody("elif", "elseif", "else", "endif")
			if err != nil {
				return nil, err
			}
			s.branches = append(s.branches, ifBranch{cond: cond, body: body})
			tag = end
		case "else":
			if err := p.expect(tBlockEnd, ""); err != nil {
				return nil, err
			}
			body, _, err := p.parseBody("endif")
			if err != nil {
				return nil, err
			}
			s.els = body
			tag = "endif"
		case "endif":
			return s, p.expect(tBlockEnd, "")
		}
	}
}

func (p *parser) parseNames() ([]string, error) {
	var names []string
	for {
		n, err := p.expectName()
		if err != nil {
			return nil, err
		}
		names = append(names, n)
		if !p.skipOp(",") {
			return names, nil
		}
	}
}

func (p *parser) parseFor(line int) (stmt, error) {
	names, err := p.parseNames()
	if err != nil {
		return nil, err
	}
	if err := p.expect(tName, "in"); err != nil {
		return nil, err
	}
	iter, err := p.parseExpr()
	if err != nil {
		return nil, err
	}
	if err := p.expect(tBlockEnd, ""); err != nil {
		return nil, err
	}
	body, end, err := p.parseBody("else", "endfor")
	if err != nil {
		return nil, err
	}
	s := forStmt{names: names, iter: iter, body: body, line: line}
	if end == "else" {
		if err := p.expect(tBlockEnd, ""); err != nil {
			return nil, err
		}
		if s.els, _, err = p.parseBody("endfor"); err != nil {
			return nil, err
		}
	}
	return s, p.expect(tBlockEnd, "")
}

func (p *parser) parseSet(line int) (stmt, error) {
	names, err := p.parseNames()
	if err != nil {
		return nil, err
	}
	s := setStmt{names: names, line: line}
	if p.skipOp("=") {
		if s.x, err = p.parseExpr(); err != nil {
			return nil, err
		}
		return s, p.expect(tBlockEnd, "")
	}
	if err := p.expect(tBlockEnd, ""); err != nil {
		return nil, err
	}
	if s.body, _, err = p.parseBody("endset"); err != nil {
		return nil, err
	}
	return s, p.expect(tBlockEnd, "")
}

func (p *parser) parseMacro(line int) (stmt, error) {
	name, err := p.expectName()
	if err != nil {
		return nil, err
	}
	m := macroStmt{name: name, line: line}
	if err := p.expect(tOp, "("); err != nil {
		return nil, err
	}
	for !p.skipOp(")") {
		if len(m.params) > 0 {
			if err := p.expect(tOp, ","); err != nil {
				return nil, err
			}
			if p.skipOp(")") {
				break
			}
		}
		param, err := p.expectName()
		if err != nil {
			return nil, err
		}
		var def node
		if p.skipOp("=") {
			if def, err = p.parseExpr(); err != nil {
				return nil, err
			}
		}
		m.params, m.defaults = append(m.params, param), append(m.defaults, def)
	}
	if err := p.expect(tBlockEnd, ""); err != nil {
		return nil, err
	}
	if m.body, _, err = p.parseBody("endmacro"); err != nil {
		return nil, err
	}
	return m, p.expect(tBlockEnd, "")
}

func (p *parser) parseFilterBlock(line int) (stmt, error) {
	t := p.peek()
	name, err := p.expectName()
	if err != nil {
		return nil, err
	}
	def, ok := lookupFilter(name, p.cookiecutter)
	if !ok {
		return nil, p.errorf(t, "unknown filter %q", name)
	}
	s := filterStmt{f: filterNode{name: name, fn: def}, line: line}
	if p.skipOp("(") {
		if s.f.args, s.f.kw, err = p.parseArgs(")"); err != nil {
			return nil, err
		}
	}
	if err := p.expect(tBlockEnd, ""); err != nil {
		return nil, err
	}
	if s.body, _, err = p.parseBody("endfilter"); err != nil {
		return nil, err
	}
	return s, p.expect(tBlockEnd, "")
}

func (p *parser) parseRaw(name string) (stmt, error) {
	if err := p.expect(tBlockEnd, ""); err != nil {
		return nil, err
	}
	text := ""
	if p.peek().kind == tText {
		text = p.next().val
	}
	for _, want := range []token{{kind: tBlockStart}, {kind: tName, val: "end" + name}, {kind: tBlockEnd}} {
		if err := p.expect(want.kind, want.val); err != nil {
			return nil, err
		}
	}
	return textStmt{text: text}, nil
}

// parseExpr parses one expression with Nunjucks' precedence: inline if, or, and, not, in,
// is, comparisons, ~, +, -, *, /, //, %, **, unary, filters, primaries.
func (p *parser) parseExpr() (node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	x, err := p.parseOr()
	if err != nil || !p.skipName("if") {
		return x, err
	}
	c := condNode{then: x}
	if c.cond, err = p.parseOr(); err != nil {
		return nil, err
	}
	if p.skipName("else") {
		if c.els, err = p.parseOr(); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (p *parser) parseOr() (node, error)  { return p.parseLogic("or", p.parseAnd) }
func (p *parser) parseAnd() (node, error) { return p.parseLogic("and", p.parseNot) }

func (p *parser) parseLogic(op string, sub func() (node, error)) (node, error) {
	x, err := sub()
	for err == nil && p.skipName(op) {
		var r node
		if r, err = sub(); err == nil {
			x = binaryNode{op: op, l: x, r: r}
		}
	}
	return x, err
}

func (p *parser) parseNot() (node, error) {
	if !p.skipName("not") {
		return p.parseIn()
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	x, err := p.parseNot()
	return unaryNode{op: "not", x: x}, err
}

func (p *parser) parseIn() (node, error) {
	x, err := p.parseIs()
	for err == nil {
		op := "in"
		switch {
		case p.isName("not") && p.toks[p.i+1].kind == tName && p.toks[p.i+1].val == "in":
			p.i += 2
			op = "not in"
		case p.skipName("in"):
		default:
			return x, nil
		}
		var r node
		if r, err = p.parseIs(); err == nil {
			x = binaryNode{op: op, l: x, r: r}
		}
	}
	return nil, err
}

func (p *parser) parseIs() (node, error) {
	x, err := p.parseCompare()
	if err != nil || !p.skipName("is") {
		return x, err
	}
	t := testNode{x: x, neg: p.skipName("not")}
	name := p.peek()
	if t.test, err = p.expectName(); err != nil {
		return nil, err
	}
	var ok bool
	if t.fn, ok = test(t.test); !ok {
		return nil, p.errorf(name, "unknown test %q", t.test)
	}
	if p.skipOp("(") {
		if t.args, _, err = p.parseArgs(")"); err != nil {
			return nil, err
		}
	} else if p.canStartOperand() {
		// Jinja allows one argument without parentheses: x is divisibleby 3.
		var arg node
		if arg, err = p.parseCompare(); err != nil {
			return nil, err
		}
		t.args = []node{arg}
	}
	return t, nil
}

// canStartOperand reports whether the next token can begin a bare test argument.
func (p *parser) canStartOperand() bool {
	t := p.peek()
	switch t.kind {
	case tString, tNumber:
		return true
	case tName:
		switch t.val {
		case "and", "or", "if", "else", "in", "not", "is":
			return false
		}
		return true
	}
	return false
}

func (p *parser) parseCompare() (node, error) { return p.parseLevel(0) }

// Binary operator levels below "is", loosest first. Nunjucks gives each arithmetic operator
// its own level in this order, so "a + b - c" groups as "a + (b - c)": kept for identical
// results (it matters with JavaScript's "+": 'a' + 1 - 1 is "a0").
const numLevels = 9

func levelHas(level int, op string) bool {
	switch level {
	case 0:
		switch op {
		case "==", "===", "!=", "!==", "<", ">", "<=", ">=":
			return true
		}
		return false
	case 1:
		return op == "~"
	}
	return op == [...]string{"+", "-", "*", "/", "//", "%", "**"}[level-2]
}

func (p *parser) parseLevel(level int) (node, error) {
	if level == numLevels {
		return p.parseUnary(false)
	}
	x, err := p.parseLevel(level + 1)
	for err == nil {
		t := p.peek()
		if t.kind != tOp || !levelHas(level, t.val) {
			return x, nil
		}
		p.i++
		var r node
		if r, err = p.parseLevel(level + 1); err == nil {
			x = binaryNode{op: t.val, l: x, r: r}
		}
	}
	return nil, err
}

func (p *parser) parseUnary(noFilters bool) (node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	var x node
	var err error
	switch {
	case p.skipOp("-"):
		x, err = p.parseUnary(true)
		x = unaryNode{op: "-", x: x}
	case p.skipOp("+"):
		x, err = p.parseUnary(true)
		x = unaryNode{op: "+", x: x}
	default:
		x, err = p.parsePrimary()
	}
	if err != nil || noFilters {
		return x, err
	}
	return p.parseFilters(x)
}

func (p *parser) parseFilters(x node) (node, error) {
	for p.skipOp("|") {
		t := p.peek()
		name, err := p.expectName()
		if err != nil {
			return nil, err
		}
		for p.isOp(".") && p.toks[p.i+1].kind == tName {
			name += "." + p.toks[p.i+1].val
			p.i += 2
		}
		def, ok := lookupFilter(name, p.cookiecutter)
		if !ok {
			return nil, p.errorf(t, "unknown filter %q", name)
		}
		f := filterNode{name: name, fn: def, x: x}
		if p.skipOp("(") {
			if f.args, f.kw, err = p.parseArgs(")"); err != nil {
				return nil, err
			}
		}
		x = f
	}
	return x, nil
}

// parseArgs reads call arguments up to the closing token: positional, then name=value.
func (p *parser) parseArgs(closing string) ([]node, []kwArg, error) {
	var args []node
	var kw []kwArg
	for !p.skipOp(closing) {
		if len(args)+len(kw) > 0 {
			if err := p.expect(tOp, ","); err != nil {
				return nil, nil, err
			}
			if p.skipOp(closing) {
				break
			}
		}
		if p.peek().kind == tName && p.toks[p.i+1].kind == tOp && p.toks[p.i+1].val == "=" {
			name := p.next().val
			p.i++
			x, err := p.parseExpr()
			if err != nil {
				return nil, nil, err
			}
			kw = append(kw, kwArg{name: name, x: x})
			continue
		}
		x, err := p.parseExpr()
		if err != nil {
			return nil, nil, err
		}
		args = append(args, x)
	}
	return args, kw, nil
}

func (p *parser) parsePrimary() (node, error) {
	t := p.next()
	var x node
	switch t.kind {
	case tString:
		x = litNode{v: t.val}
	case tNumber:
		f, err := strconv.ParseFloat(t.val, 64)
		if err != nil {
			return nil, p.errorf(t, "invalid number %q", t.val)
		}
		x = litNode{v: f}
	case tRegex:
		x = regexNode{pattern: t.val, flags: t.flags}
	case tName:
		x = nameOrLiteral(t.val)
	case tOp:
		var err error
		if x, err = p.parseAggregate(t); err != nil {
			return nil, err
		}
	default:
		return nil, p.errorf(t, "unexpected %s", t.describe())
	}
	return p.parsePostfix(x)
}

func nameOrLiteral(n string) node {
	switch n {
	case "true", "True":
		return litNode{v: true}
	case "false", "False":
		return litNode{v: false}
	case "none", "None", "null":
		return litNode{v: nil}
	}
	return nameNode{name: n}
}

func (p *parser) parseAggregate(t token) (node, error) {
	switch t.val {
	case "(":
		x, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		if !p.isOp(",") {
			return x, p.expect(tOp, ")")
		}
		// A tuple: Nunjucks makes it an array.
		p.i++
		rest, kw, err := p.parseArgs(")")
		if err == nil && len(kw) > 0 {
			err = p.errorf(t, "unexpected name=value in a tuple")
		}
		return arrayNode{items: append([]node{x}, rest...)}, err
	case "[":
		items, kw, err := p.parseArgs("]")
		if err == nil && len(kw) > 0 {
			err = p.errorf(t, "unexpected name=value in an array")
		}
		return arrayNode{items: items}, err
	case "{":
		return p.parseDict()
	}
	return nil, p.errorf(t, "unexpected %s", t.describe())
}

func (p *parser) parseDict() (node, error) {
	var d dictNode
	for !p.skipOp("}") {
		if len(d.keys) > 0 {
			if err := p.expect(tOp, ","); err != nil {
				return nil, err
			}
			if p.skipOp("}") {
				break
			}
		}
		k := p.next()
		if k.kind != tName && k.kind != tString {
			return nil, p.errorf(k, "object keys must be strings or names, got %s", k.describe())
		}
		if err := p.expect(tOp, ":"); err != nil {
			return nil, err
		}
		v, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		d.keys = append(d.keys, k.val)
		d.vals = append(d.vals, v)
	}
	return d, nil
}

func (p *parser) parsePostfix(x node) (node, error) {
	for {
		switch {
		case p.skipOp("."):
			t := p.next()
			if t.kind != tName && t.kind != tNumber {
				return nil, p.errorf(t, "expected a name after \".\", got %s", t.describe())
			}
			x = memberNode{obj: x, key: litNode{v: t.val}}
		case p.skipOp("["):
			var err error
			if x, err = p.parseSubscript(x); err != nil {
				return nil, err
			}
		case p.skipOp("("):
			args, kw, err := p.parseArgs(")")
			if err != nil {
				return nil, err
			}
			x = callNode{fn: x, args: args, kw: kw}
		default:
			return x, nil
		}
	}
}

// parseSubscript reads obj[key] or a slice obj[start:stop:step] after the "[".
func (p *parser) parseSubscript(obj node) (node, error) {
	var parts [3]node
	n := 0
	for {
		if !p.isOp(":") && !p.isOp("]") {
			x, err := p.parseExpr()
			if err != nil {
				return nil, err
			}
			parts[n] = x
		}
		if p.skipOp("]") {
			break
		}
		if n == 2 {
			return nil, p.errorf(p.peek(), "expected \"]\", got %s", p.peek().describe())
		}
		if err := p.expect(tOp, ":"); err != nil {
			return nil, err
		}
		n++
	}
	if n == 0 {
		if parts[0] == nil {
			return nil, p.errorf(p.prev(), "empty subscript []")
		}
		return memberNode{obj: obj, key: parts[0]}, nil
	}
	return sliceNode{obj: obj, start: parts[0], stop: parts[1], step: parts[2]}, nil
}
