package expr

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// StringifyYAML writes v (a JSON-like value: Maps, maps, slices, strings, numbers, booleans, nil) as
// YAML the way Backstage's actions do it, with yaml.stringify of the `yaml` package and its defaults:
// 2-space indents, sequences indented under their key, keys in the object's order, strings plain where
// YAML 1.2 reads them back as the same string and double-quoted otherwise (single-quoted when they hold a
// " and no '), multi-line strings as block scalars (| or >, with chomping indicators), and lines folded
// at 80 columns. Left out: comments, anchors and tags, which JSON values do not have.
func StringifyYAML(v any) (string, error) {
	raw, err := json.Marshal(jsonable(v))
	if err != nil {
		return "", err
	}
	clean, err := DecodeJSON(raw) // one shape for every input: *object, []any, string, float64, bool, nil
	if err != nil {
		return "", err
	}
	w := yamlWriter{}
	return w.node(clean, yamlCtx{}) + "\n", nil
}

const (
	yamlLineWidth       = 80
	yamlMinContentWidth = 20
	yamlIndentStep      = "  "
)

type yamlWriter struct{}

// yamlCtx is where a value is written: the indentation of its continuation lines, whether it is a
// mapping key, and (for a mapping's scalar value) how far into its line it starts.
type yamlCtx struct {
	indent        string
	implicitKey   bool
	indentAtStart int // -1 when unknown
	hasStart      bool
}

func (w yamlWriter) node(v any, c yamlCtx) string {
	switch x := v.(type) {
	case *object:
		return w.mapping(x, c)
	case []any:
		return w.sequence(x, c)
	case string:
		return w.str(x, c)
	case float64:
		return yamlNumber(x)
	case bool:
		if x {
			return "true"
		}
		return "false"
	case nil:
		return "null"
	}
	return w.str(fmt.Sprint(v), c)
}

func yamlNumber(f float64) string {
	switch s := formatNumber(f); s {
	case "NaN":
		return ".nan"
	case "Infinity":
		return ".inf"
	case "-Infinity":
		return "-.inf"
	default:
		return s
	}
}

func (w yamlWriter) mapping(m *object, c yamlCtx) string {
	keys := m.Keys()
	if len(keys) == 0 {
		return "{}"
	}
	lines := make([]string, 0, len(keys))
	for _, k := range keys {
		pc := yamlCtx{indent: c.indent + yamlIndentStep, implicitKey: true}
		line := w.str(k, pc) + ":"
		val := m.vals[k]
		pc.implicitKey = false
		switch x := val.(type) {
		case *object, []any:
			s := w.node(x, pc)
			if s == "{}" || s == "[]" {
				line += " " + s
			} else {
				line += "\n" + pc.indent + s
			}
		default:
			pc.indentAtStart, pc.hasStart = utf8.RuneCountInString(line)+1, true
			s := w.node(x, pc)
			if s == "" || s[0] == '\n' {
				line += s
			} else {
				line += " " + s
			}
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n"+c.indent)
}

func (w yamlWriter) sequence(items []any, c yamlCtx) string {
	if len(items) == 0 {
		return "[]"
	}
	ic := yamlCtx{indent: c.indent + yamlIndentStep}
	lines := make([]string, len(items))
	for i, it := range items {
		lines[i] = "- " + w.node(it, ic)
	}
	return strings.Join(lines, "\n"+c.indent)
}

var (
	yamlControl       = regexp.MustCompile("[\x00-\x08\x0b-\x1f\x7f\u0080-\u009f]")
	yamlNotPlain      = regexp.MustCompile("^[\n\t ,\\[\\]{}#&*!|>'\"%@`]|^[?-]$|^[?-][ \t]|[\n:][ \t]|[ \t]\n|[\n\t ]#|[\n\t :]$")
	yamlDocMarker     = regexp.MustCompile(`(?m)^(%|---|\.\.\.)`)
	yamlSpaceAroundNL = regexp.MustCompile("[ \t]\n|\n[ \t]")
	yamlNewlines      = regexp.MustCompile("\n+")
	yamlTrailingBlank = regexp.MustCompile("\n[\t ]+$")
	// What YAML 1.2's core schema reads as something other than a string.
	yamlCoreTypes = []*regexp.Regexp{
		regexp.MustCompile(`^(?:~|[Nn]ull|NULL)?$`),
		regexp.MustCompile(`^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$`),
		regexp.MustCompile(`^0o[0-7]+$`),
		regexp.MustCompile(`^[-+]?[0-9]+$`),
		regexp.MustCompile(`^0x[0-9a-fA-F]+$`),
		regexp.MustCompile(`^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$`),
		regexp.MustCompile(`^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$`),
		regexp.MustCompile(`^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$`),
	}
)

func (w yamlWriter) str(s string, c yamlCtx) string {
	if yamlControl.MatchString(s) {
		return w.doubleQuoted(s, c)
	}
	return w.plain(s, c)
}

func (w yamlWriter) plain(s string, c yamlCtx) string {
	multiline := strings.Contains(s, "\n")
	if c.implicitKey && multiline {
		return w.quoted(s, c)
	}
	if s == "" || yamlNotPlain.MatchString(s) {
		if c.implicitKey || !multiline {
			return w.quoted(s, c)
		}
		return w.block(s, c)
	}
	if !c.implicitKey && multiline {
		return w.block(s, c)
	}
	if yamlDocMarker.MatchString(s) {
		if c.indent == "" {
			return w.block(s, c)
		} else if c.implicitKey && c.indent == yamlIndentStep {
			return w.quoted(s, c)
		}
	}
	for _, re := range yamlCoreTypes {
		if re.MatchString(s) {
			return w.quoted(s, c)
		}
	}
	if c.implicitKey {
		return s
	}
	return foldLines(s, c.indent, foldFlow, c)
}

func (w yamlWriter) quoted(s string, c yamlCtx) string {
	if strings.Contains(s, `"`) && !strings.Contains(s, "'") {
		return w.singleQuoted(s, c)
	}
	return w.doubleQuoted(s, c)
}

func (w yamlWriter) singleQuoted(s string, c yamlCtx) string {
	if (c.implicitKey && strings.Contains(s, "\n")) || yamlSpaceAroundNL.MatchString(s) {
		return w.doubleQuoted(s, c)
	}
	indent := c.indent
	if indent == "" && yamlDocMarker.MatchString(s) {
		indent = "  "
	}
	res := "'" + yamlNewlines.ReplaceAllStringFunc(strings.ReplaceAll(s, "'", "''"), func(nl string) string { return nl + "\n" + indent }) + "'"
	if c.implicitKey {
		return res
	}
	return foldLines(res, indent, foldFlow, c)
}

// jsonString is JSON.stringify of a string: like Go's encoder, but without escaping <, >, & and
// U+2028/U+2029.
func jsonString(s string) []rune {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return []rune(b.String())
}

func (w yamlWriter) doubleQuoted(s string, c yamlCtx) string {
	js := jsonString(s)
	indent := c.indent
	if indent == "" && yamlDocMarker.MatchString(s) {
		indent = "  "
	}
	at := func(i int) rune {
		if i < len(js) {
			return js[i]
		}
		return 0
	}
	var b strings.Builder
	start := 0
	for i := 0; i < len(js); i++ {
		ch := js[i]
		if ch == ' ' && at(i+1) == '\\' && at(i+2) == 'n' {
			b.WriteString(string(js[start:i]) + `\ `) // a space before a newline is escaped, or folding eats it
			i++
			start = i
			ch = '\\'
		}
		if ch != '\\' {
			continue
		}
		switch at(i + 1) {
		case 'u':
			b.WriteString(string(js[start:i]))
			code := string(js[i+2 : i+6])
			switch code {
			case "0000":
				b.WriteString(`\0`)
			case "0007":
				b.WriteString(`\a`)
			case "000b":
				b.WriteString(`\v`)
			case "001b":
				b.WriteString(`\e`)
			default:
				b.WriteString(`\x` + code[2:])
			}
			i += 5
			start = i + 1
		case 'n':
			if c.implicitKey || at(i+2) == '"' || len(js) < 40 {
				i++
				continue
			}
			b.WriteString(string(js[start:i]) + "\n\n") // folding turns the first newline into nothing
			for at(i+2) == '\\' && at(i+3) == 'n' && at(i+4) != '"' {
				b.WriteString("\n")
				i += 2
			}
			b.WriteString(indent)
			if at(i+2) == ' ' {
				b.WriteString(`\`) // a space after a newline is escaped, or folding eats it
			}
			i++
			start = i + 1
		default:
			i++
		}
	}
	out := string(js)
	if start > 0 {
		out = b.String() + string(js[start:])
	}
	if c.implicitKey {
		return out
	}
	return foldLines(out, indent, foldQuoted, c)
}

// lineLengthOverLimit tells whether a line of s is longer than the width left after indent.
func lineLengthOverLimit(s []rune, indent int) bool {
	limit := yamlLineWidth - indent
	if len(s) <= limit {
		return false
	}
	start := 0
	for i, r := range s {
		if r == '\n' {
			if i-start > limit {
				return true
			}
			start = i + 1
			if len(s)-start <= limit {
				return false
			}
		}
	}
	return true
}

func (w yamlWriter) block(s string, c yamlCtx) string {
	if yamlTrailingBlank.MatchString(s) {
		return w.quoted(s, c) // a block cannot end in whitespace after its last line break
	}
	indent := c.indent
	if indent == "" {
		indent = "  " // a top-level string (never an entity's field)
	}
	rs := []rune(s)
	literal := !lineLengthOverLimit(rs, len(indent))
	// The chomping indicator, from the whitespace at the end.
	endStart := len(rs)
	for endStart > 0 && (rs[endStart-1] == '\n' || rs[endStart-1] == '\t' || rs[endStart-1] == ' ') {
		endStart--
	}
	end := string(rs[endStart:])
	chomp := ""
	switch nl := strings.Index(end, "\n"); {
	case nl == -1:
		chomp = "-"
	case s == end || nl != len(end)-1:
		chomp = "+"
	}
	value := string(rs[:endStart])
	if end != "" {
		end = strings.TrimSuffix(end, "\n")
		end = indentInnerNewlines(end, indent)
	}
	// The indentation indicator, when the text starts with spaces.
	startWithSpace, startEnd, startNL := false, 0, -1
	vr := []rune(value)
	for ; startEnd < len(vr); startEnd++ {
		if vr[startEnd] == ' ' {
			startWithSpace = true
		} else if vr[startEnd] == '\n' {
			startNL = startEnd
		} else {
			break
		}
	}
	cut := startEnd
	if startNL < startEnd {
		cut = startNL + 1
	}
	head := string(vr[:cut])
	if head != "" {
		value = string(vr[cut:])
		head = yamlNewlines.ReplaceAllStringFunc(head, func(nl string) string { return nl + indent })
	}
	header := chomp
	if startWithSpace {
		header = "2" + chomp
	}
	if !literal {
		folded := yamlNewlines.ReplaceAllStringFunc(value, func(nl string) string { return "\n" + nl })
		folded = unfoldMoreIndented(folded)
		folded = yamlNewlines.ReplaceAllStringFunc(folded, func(nl string) string { return nl + indent })
		body, overflow := foldBlock(head+folded+end, indent)
		if !overflow {
			return ">" + header + "\n" + indent + body
		}
	}
	value = yamlNewlines.ReplaceAllStringFunc(value, func(nl string) string { return nl + indent })
	return "|" + header + "\n" + indent + head + value + end
}

// unfoldMoreIndented takes back, around each more-indented line (one starting with a space or a tab), the
// line break that doubling the breaks added: a folded block does not fold those lines.
func unfoldMoreIndented(s string) string {
	rs := []rune(s)
	isWS := func(r rune) bool { return r == '\n' || r == '\t' || r == ' ' }
	var b strings.Builder
	for i := 0; i < len(rs); {
		atStart := i == 0 && (rs[0] == ' ' || rs[0] == '\t')
		afterNL := rs[i] == '\n' && i+1 < len(rs) && (rs[i+1] == ' ' || rs[i+1] == '\t')
		if !atStart && !afterNL {
			b.WriteRune(rs[i])
			i++
			continue
		}
		j := i
		if afterNL {
			j++ // the break before the line goes
		}
		k := j
		for k < len(rs) && rs[k] != '\n' {
			k++
		}
		b.WriteString(string(rs[j:k]))
		r := k
		for r < len(rs) && isWS(rs[r]) {
			r++
		}
		if r > k && rs[r-1] == '\n' {
			b.WriteString(string(rs[k : r-1])) // and so does the last break of the blank run after it
			i = r
		} else {
			i = k
		}
	}
	return b.String()
}

// indentInnerNewlines indents after each run of newlines that is not at the end of s (the trailing
// newlines of a block kept with "+").
func indentInnerNewlines(s, indent string) string {
	var b strings.Builder
	rs := []rune(s)
	for i := 0; i < len(rs); {
		if rs[i] != '\n' {
			b.WriteRune(rs[i])
			i++
			continue
		}
		j := i
		for j < len(rs) && rs[j] == '\n' {
			j++
		}
		b.WriteString(string(rs[i:j]))
		if j < len(rs) {
			b.WriteString(indent)
		}
		i = j
	}
	return b.String()
}

type foldMode int

const (
	foldFlow foldMode = iota
	foldBlockMode
	foldQuoted
)

func foldBlock(text, indent string) (string, bool) {
	return foldText(text, indent, foldBlockMode, len(indent), true)
}

func foldLines(text, indent string, mode foldMode, c yamlCtx) string {
	out, _ := foldText(text, indent, mode, c.indentAtStart, c.hasStart)
	return out
}

// foldText breaks text at single spaces between words so that its lines stay within the line width:
// continuation lines start with indent, the first line has indentAtStart columns before it (when
// known). In quoted mode a line that cannot break at a space breaks after an escaped newline (\).
// It reports whether a line stays too long.
func foldText(s, indent string, mode foldMode, indentAtStart int, hasStart bool) (string, bool) {
	text := []rune(s)
	at := func(i int) rune {
		if i >= 0 && i < len(text) {
			return text[i]
		}
		return 0
	}
	minContent := yamlMinContentWidth
	endStep := max(1+minContent, 1+yamlLineWidth-len(indent))
	if len(text) <= endStep {
		return s, false
	}
	var folds []int
	escapedFolds := map[int]bool{}
	end := yamlLineWidth - len(indent)
	if hasStart {
		if indentAtStart > yamlLineWidth-max(2, minContent) {
			folds = append(folds, 0)
		} else {
			end = yamlLineWidth - indentAtStart
		}
	}
	split := -1
	var prev rune
	overflow := false
	i := -1
	escStart, escEnd := -1, -1
	if mode == foldBlockMode {
		i = moreIndentedEnd(text, i, len(indent))
		if i != -1 {
			end = i + endStep
		}
	}
	for {
		i++
		ch := at(i)
		if ch == 0 {
			break
		}
		if mode == foldQuoted && ch == '\\' {
			escStart = i
			switch at(i + 1) {
			case 'x':
				i += 3
			case 'u':
				i += 5
			case 'U':
				i += 9
			default:
				i++
			}
			escEnd = i
		}
		if ch == '\n' {
			if mode == foldBlockMode {
				i = moreIndentedEnd(text, i, len(indent))
			}
			end = i + len(indent) + endStep
			split = -1
		} else {
			if ch == ' ' && prev != 0 && prev != ' ' && prev != '\n' && prev != '\t' {
				if next := at(i + 1); next != 0 && next != ' ' && next != '\n' && next != '\t' {
					split = i
				}
			}
			if i >= end {
				switch {
				case split > 0:
					folds = append(folds, split)
					end = split + endStep
					split = -1
				case mode == foldQuoted:
					for prev == ' ' || prev == '\t' {
						prev = ch
						i++
						ch = at(i)
						overflow = true
					}
					j := escStart - 1
					if i > escEnd+1 {
						j = i - 2
					}
					if escapedFolds[j] {
						return s, overflow
					}
					folds = append(folds, j)
					escapedFolds[j] = true
					end = j + endStep
					split = -1
				default:
					overflow = true
				}
			}
		}
		prev = ch
	}
	if len(folds) == 0 {
		return s, overflow
	}
	var b strings.Builder
	b.WriteString(string(text[:folds[0]]))
	for k, fold := range folds {
		stop := len(text)
		if k+1 < len(folds) {
			stop = folds[k+1]
		}
		if fold == 0 {
			b.Reset()
			b.WriteString("\n" + indent + string(text[:stop]))
			continue
		}
		if mode == foldQuoted && escapedFolds[fold] {
			b.WriteString(string(text[fold]) + `\`)
		}
		b.WriteString("\n" + indent + string(text[fold+1:stop]))
	}
	return b.String(), overflow
}

// moreIndentedEnd returns the index of the last newline of the more-indented lines that start after i
// (i itself when there are none): such lines are never folded.
func moreIndentedEnd(text []rune, i, indent int) int {
	at := func(k int) rune {
		if k >= 0 && k < len(text) {
			return text[k]
		}
		return 0
	}
	end, start := i, i+1
	ch := at(start)
	for ch == ' ' || ch == '\t' {
		if i < start+indent {
			i++
			ch = at(i)
		} else {
			for {
				i++
				ch = at(i)
				if ch == 0 || ch == '\n' {
					break
				}
			}
			end, start = i, i+1
			ch = at(start)
		}
	}
	return end
}
