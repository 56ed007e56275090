package expr

import (
	"fmt"
	"strings"
)

type tokKind int

const (
	tText tokKind = iota
	tVarStart
	tVarEnd
	tBlockStart
	tBlockEnd
	tName
	tString
	tNumber
	tRegex
	tOp
	tEOF
)

func (k tokKind) String() string {
	return [...]string{"text", "start of expression", "end of expression", "start of tag",
		"end of tag", "name", "string", "number", "regex", "operator", "end of template"}[k]
}

type token struct {
	kind  tokKind
	val   string
	flags string // regex flags
	line  int
}

func (t token) describe() string {
	switch t.kind {
	case tText, tEOF:
		return t.kind.String()
	case tString:
		return fmt.Sprintf("string %q", t.val)
	}
	return fmt.Sprintf("%s %q", t.kind, t.val)
}

// syntax holds the delimiters and whitespace options of one template dialect.
type syntax struct {
	varStart, varEnd string
	trimBlocks       bool
	lstripBlocks     bool
}

const (
	blockStart   = "{%"
	blockEnd     = "%}"
	commentStart = "{#"
	commentEnd   = "#}"
)

// lexer turns template source into one flat token stream, the way Nunjucks does: text runs
// alternate with the tokens of the code inside ${{ }} and {% %}. Whitespace control
// ({%- -%}, trimBlocks, lstripBlocks) is applied here, so the parser only sees the final text.
type lexer struct {
	src       string
	pos, line int
	syn       syntax
	toks      []token
	stripNext bool // the previous tag ended with "-": drop leading whitespace of the next text
	// rawEnd is set while lexing the {% endraw %} of a raw block: Nunjucks' trimBlocks does not remove the
	// newline after it (its parser reads a raw block's end tag itself).
	rawEnd bool
	// rawDash: the raw tag ended with "-%}", which strips the text after its {% endraw %}.
	rawDash bool
	// next caches where each opening delimiter occurs next (-1: nowhere), so that finding
	// the next tag stays linear in the size of the source.
	next [3]int
}

func lex(src string, syn syntax) ([]token, error) {
	l := &lexer{src: src, line: 1, syn: syn, next: [3]int{-2, -2, -2}}
	// Most tags hold a handful of tokens: sizing the slice up front avoids regrowing it.
	l.toks = make([]token, 0, 8+6*strings.Count(src, "{"))
	for l.pos < len(l.src) {
		if err := l.lexText(); err != nil {
			return nil, err
		}
	}
	l.emit(tEOF, "")
	return l.toks, nil
}

func (l *lexer) emit(k tokKind, v string) {
	l.toks = append(l.toks, token{kind: k, val: v, line: l.line})
}

// advance moves n bytes forward, counting lines.
func (l *lexer) advance(n int) {
	l.line += strings.Count(l.src[l.pos:l.pos+n], "\n")
	l.pos += n
}

const (
	openVar = iota
	openBlock
	openComment
	openNone
)

// nextOpen finds the earliest opening delimiter at or after the current position.
func (l *lexer) nextOpen() (int, int) {
	best, kind := len(l.src), openNone
	for k, d := range [...]string{l.syn.varStart, blockStart, commentStart} {
		if l.next[k] == -2 || (l.next[k] >= 0 && l.next[k] < l.pos) {
			l.next[k] = -1
			if i := strings.Index(l.src[l.pos:], d); i >= 0 {
				l.next[k] = l.pos + i
			}
		}
		if l.next[k] >= 0 && l.next[k] < best {
			best, kind = l.next[k], k
		}
	}
	return best, kind
}

func (l *lexer) lexText() error {
	idx, kind := l.nextOpen()
	text := l.src[l.pos:idx]
	if l.stripNext {
		text = strings.TrimLeft(text, " \t\r\n")
		l.stripNext = false
	}
	open := [...]string{l.syn.varStart, blockStart, commentStart, ""}[kind]
	dash := kind != openNone && strings.HasPrefix(l.src[idx+len(open):], "-")
	switch {
	case dash:
		text = strings.TrimRight(text, " \t\r\n")
	case l.syn.lstripBlocks && kind == openBlock: // Nunjucks lstrips block tags only, not comments
		text = l.lstrip(text, idx)
	}
	if text != "" {
		l.emit(tText, text)
	}
	l.advance(idx - l.pos)
	if kind == openNone {
		return nil
	}
	n := len(open)
	if dash {
		n++
	}
	switch kind {
	case openComment:
		return l.lexComment(n)
	case openVar:
		l.emit(tVarStart, open)
		l.advance(n)
		return l.lexCode(l.syn.varEnd, tVarEnd)
	default:
		l.emit(tBlockStart, open)
		l.advance(n)
		if err := l.lexCode(blockEnd, tBlockEnd); err != nil {
			return err
		}
		return l.lexRawBody()
	}
}

// lstrip drops the spaces and tabs before a tag at idx when only they stand between the tag
// and the start of its line (Jinja's and Nunjucks' lstripBlocks).
func (l *lexer) lstrip(text string, idx int) string {
	i := idx
	for i > 0 && (l.src[i-1] == ' ' || l.src[i-1] == '\t') {
		i--
	}
	if i > 0 && l.src[i-1] != '\n' {
		return text
	}
	cut := idx - i
	if cut > len(text) {
		cut = len(text)
	}
	return text[:len(text)-cut]
}

func (l *lexer) lexComment(n int) error {
	start := l.line
	end := strings.Index(l.src[l.pos+n:], commentEnd)
	if end < 0 {
		return lineErrorf(start, "unclosed comment: missing %q", commentEnd)
	}
	body := l.src[l.pos+n : l.pos+n+end]
	l.stripNext = strings.HasSuffix(body, "-")
	l.advance(n + end + len(commentEnd)) // Nunjucks' trimBlocks leaves the newline after a comment
	return nil
}

// trimNewline drops the first newline after a block tag or comment when trimBlocks is on.
func (l *lexer) trimNewline() {
	if !l.syn.trimBlocks {
		return
	}
	switch {
	case strings.HasPrefix(l.src[l.pos:], "\r\n"):
		l.advance(2)
	case strings.HasPrefix(l.src[l.pos:], "\n"):
		l.advance(1)
	}
}

// lexRawBody handles {% raw %}/{% verbatim %} as Nunjucks' parser does: everything up to the matching
// {% endraw %} is text. The end tag is found as Nunjucks finds it, {%\s*endraw\s*%} with no "-" (a
// {%- endraw %} is text), nested raw tags counted. A "-%}" on the raw tag does not strip the raw text: it
// strips the text right after the end tag.
func (l *lexer) lexRawBody() error {
	n := len(l.toks)
	if n < 3 || l.toks[n-2].kind != tName || (l.toks[n-2].val != "raw" && l.toks[n-2].val != "verbatim") ||
		l.toks[n-3].kind != tBlockStart {
		return nil
	}
	name := l.toks[n-2].val
	endName := "end" + name
	dash := l.stripNext
	l.stripNext = false
	if dash {
		l.trimNewline() // trimBlocks still applies to the raw tag itself
	}
	level, lastEnd := 1, l.pos
	for from := l.pos; ; {
		i := strings.Index(l.src[from:], blockStart)
		if i < 0 {
			// No matching end: as Nunjucks, the raw text is what the raw and endraw tags found so far
			// enclose (nothing if none), and the rest is read as template.
			if text := l.src[l.pos:lastEnd]; text != "" {
				l.emit(tText, text)
			}
			l.advance(lastEnd - l.pos)
			l.emit(tBlockStart, blockStart)
			l.emit(tName, endName)
			l.emit(tBlockEnd, blockEnd)
			l.stripNext = dash
			return nil
		}
		at := from + i
		from = at + len(blockStart)
		tag := strings.TrimLeft(l.src[from:], " \t\r\n")
		var word string
		switch {
		case strings.HasPrefix(tag, endName):
			word = endName
		case strings.HasPrefix(tag, name):
			word = name
		default:
			continue
		}
		after := strings.TrimLeft(tag[len(word):], " \t\r\n")
		if !strings.HasPrefix(after, blockEnd) {
			continue // {% endraw -%}, {% rawer %}: not a raw tag
		}
		lastEnd = len(l.src) - len(after) + len(blockEnd)
		if word == name {
			level++
			continue
		}
		if level--; level > 0 {
			continue
		}
		if text := l.src[l.pos:at]; text != "" {
			l.emit(tText, text)
		}
		l.advance(at - l.pos)
		l.rawEnd, l.rawDash = true, dash
		return nil
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isNameStart(c byte) bool {
	return c == '_' || c == '$' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}
func isNameChar(c byte) bool { return isNameStart(c) || isDigit(c) }

// lexCode reads the tokens of one tag up to its end delimiter.
func (l *lexer) lexCode(end string, endKind tokKind) error {
	start := l.line
	for {
		for l.pos < len(l.src) && isSpace(l.src[l.pos]) {
			l.advance(1)
		}
		rest := l.src[l.pos:]
		switch {
		case rest == "":
			return lineErrorf(start, "unclosed tag: missing %q", end)
		case strings.HasPrefix(rest, "-"+end):
			l.emit(endKind, end)
			l.advance(len(end) + 1)
			l.stripNext, l.rawEnd = true, false
			return nil
		case strings.HasPrefix(rest, end):
			l.emit(endKind, end)
			l.advance(len(end))
			if endKind == tBlockEnd && !l.rawEnd {
				l.trimNewline()
			}
			if l.rawEnd && l.rawDash {
				l.stripNext = true
			}
			l.rawEnd, l.rawDash = false, false
			return nil
		}
		if err := l.lexToken(); err != nil {
			return err
		}
	}
}

func (l *lexer) lexToken() error {
	c := l.src[l.pos]
	switch {
	case c == '"' || c == '\'':
		return l.lexString(c)
	case isDigit(c):
		l.lexNumber()
		return nil
	case c == 'r' && strings.HasPrefix(l.src[l.pos:], "r/"):
		return l.lexRegex()
	case isNameStart(c):
		i := l.pos
		for i < len(l.src) && isNameChar(l.src[i]) {
			i++
		}
		l.emit(tName, l.src[l.pos:i])
		l.advance(i - l.pos)
		return nil
	}
	// Longest first, so that "===" wins over "==" and "=".
	operators := [...]string{"===", "!==", "==", "!=", "<=", ">=", "//", "**",
		"(", ")", "[", "]", "{", "}", "%", "*", "-", "+", "~", "/", ",", ":", "|", ".", "<", ">", "=", "!", "?"}
	for _, op := range operators {
		if strings.HasPrefix(l.src[l.pos:], op) {
			l.emit(tOp, op)
			l.advance(len(op))
			return nil
		}
	}
	return lineErrorf(l.line, "unexpected character %q", c)
}

func (l *lexer) lexString(q byte) error {
	start := l.line
	var b strings.Builder
	i := l.pos + 1
	for ; i < len(l.src) && l.src[i] != q; i++ {
		if l.src[i] != '\\' || i+1 >= len(l.src) {
			b.WriteByte(l.src[i])
			continue
		}
		i++
		switch l.src[i] {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		default:
			b.WriteByte(l.src[i])
		}
	}
	if i >= len(l.src) {
		return lineErrorf(start, "unclosed string literal")
	}
	l.toks = append(l.toks, token{kind: tString, val: b.String(), line: start})
	l.advance(i + 1 - l.pos)
	return nil
}

func (l *lexer) lexNumber() {
	i := l.pos
	digits := func() {
		for i < len(l.src) && isDigit(l.src[i]) {
			i++
		}
	}
	digits()
	if i+1 < len(l.src) && l.src[i] == '.' && isDigit(l.src[i+1]) {
		i++
		digits()
	}
	if i < len(l.src) && (l.src[i] == 'e' || l.src[i] == 'E') {
		j := i + 1
		if j < len(l.src) && (l.src[j] == '+' || l.src[j] == '-') {
			j++
		}
		if j < len(l.src) && isDigit(l.src[j]) {
			i = j
			digits()
		}
	}
	l.emit(tNumber, l.src[l.pos:i])
	l.advance(i - l.pos)
}

// lexRegex reads a Nunjucks regular expression literal: r/pattern/flags.
func (l *lexer) lexRegex() error {
	start := l.line
	var b strings.Builder
	i := l.pos + 2
	for ; i < len(l.src) && l.src[i] != '/'; i++ {
		if l.src[i] == '\\' && i+1 < len(l.src) {
			if l.src[i+1] != '/' {
				b.WriteByte('\\')
			}
			i++
		}
		b.WriteByte(l.src[i])
	}
	if i >= len(l.src) {
		return lineErrorf(start, "unclosed regular expression")
	}
	i++
	j := i
	for j < len(l.src) && strings.IndexByte("gimsuy", l.src[j]) >= 0 {
		j++
	}
	l.toks = append(l.toks, token{kind: tRegex, val: b.String(), flags: l.src[i:j], line: start})
	l.advance(j - l.pos)
	return nil
}
