package expr

import (
	"fmt"
	"math"
	"strings"
)

// stringify is JavaScript's JSON.stringify(v, null, space), which Nunjucks' dump filter
// calls. Unlike encoding/json it keeps object insertion order, leaves <, > and & alone and
// formats numbers as JavaScript does. ok is false when the result is undefined (dumping
// undefined), which renders as nothing.
func stringify(v, space any, limit int) (string, bool, error) {
	j := jsonWriter{limit: limit}
	if f, ok := num(space); ok {
		j.indent = strings.Repeat(" ", int(math.Max(0, math.Min(10, f))))
	} else if s, ok := space.(string); ok {
		j.indent = s[:min(len(s), 10)]
	}
	if !j.writable(norm(v)) {
		return "", false, nil
	}
	if err := j.value(norm(v), "", 0); err != nil {
		return "", false, err
	}
	return j.b.String(), true, nil
}

type jsonWriter struct {
	b      strings.Builder
	indent string
	limit  int
}

// writable reports whether JSON.stringify keeps v (undefined and functions are dropped).
func (j *jsonWriter) writable(v any) bool {
	switch v.(type) {
	case undefined, method:
		return false
	}
	return true
}

func (j *jsonWriter) value(v any, cur string, depth int) error {
	if depth > 100 {
		return fmt.Errorf("value nests deeper than 100 levels")
	}
	if j.b.Len() > j.limit {
		return fmt.Errorf("%w: dumped value exceeds %d bytes", ErrLimit, j.limit)
	}
	switch x := v.(type) {
	case nil, undefined, method:
		j.b.WriteString("null")
	case bool:
		fmt.Fprint(&j.b, x)
	case string:
		WriteJSONString(&j.b, x)
	case []any:
		return j.array(x, cur, depth)
	case *object, map[string]any, loopVars:
		return j.object(x, cur, depth)
	case *jsRegexp:
		j.b.WriteString("{}")
	case safeString:
		return j.object(safeObject(x), cur, depth)
	default:
		f, _ := num(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			j.b.WriteString("null")
		} else {
			j.b.WriteString(formatNumber(f))
		}
	}
	return nil
}

func (j *jsonWriter) array(a []any, cur string, depth int) error {
	if len(a) == 0 {
		j.b.WriteString("[]")
		return nil
	}
	inner := cur + j.indent
	j.b.WriteByte('[')
	for i, e := range a {
		if i > 0 {
			j.b.WriteByte(',')
		}
		j.newline(inner)
		if err := j.value(norm(e), inner, depth+1); err != nil {
			return err
		}
	}
	j.newline(cur)
	j.b.WriteByte(']')
	return nil
}

func (j *jsonWriter) object(o any, cur string, depth int) error {
	inner := cur + j.indent
	n := 0
	j.b.WriteByte('{')
	for _, k := range objectKeys(o) {
		e, _ := objectGet(o, k)
		if !j.writable(e) {
			continue
		}
		if n > 0 {
			j.b.WriteByte(',')
		}
		n++
		j.newline(inner)
		WriteJSONString(&j.b, k)
		j.b.WriteByte(':')
		if j.indent != "" {
			j.b.WriteByte(' ')
		}
		if err := j.value(e, inner, depth+1); err != nil {
			return err
		}
	}
	if n > 0 {
		j.newline(cur)
	}
	j.b.WriteByte('}')
	return nil
}

func (j *jsonWriter) newline(cur string) {
	if j.indent != "" {
		j.b.WriteByte('\n')
		j.b.WriteString(cur)
	}
}

// WriteJSONString writes s quoted as JSON.stringify does: only quotes, backslashes and control
// characters are escaped.
func WriteJSONString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				fmt.Fprintf(b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}
