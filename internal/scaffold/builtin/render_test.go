package builtin

// A deliberately small stand-in for goldenpath's expression engine: just the Nunjucks the built-in
// templates use (paths, the dump and parseRepoUrl filters, if/else/endif with whitespace control). Anything
// else is an error, so a template that outgrows it fails loudly here instead of rendering wrongly.

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"strings"
)

type tokenKind int

const (
	textToken tokenKind = iota
	varToken
	tagToken
)

type token struct {
	kind         tokenKind
	body         string // text, or the trimmed inside of ${{ }} / {% %}
	trimL, trimR bool   // {%- and -%}
}

// tokenize splits src into text, ${{ }} and {% %} tokens.
func tokenize(src string) ([]token, error) {
	var toks []token
	for src != "" {
		i := strings.IndexAny(src, "${")
		if i < 0 {
			toks = append(toks, token{kind: textToken, body: src})
			break
		}
		rest := src[i:]
		var open, close string
		var kind tokenKind
		switch {
		case strings.HasPrefix(rest, "${{"):
			open, close, kind = "${{", "}}", varToken
		case strings.HasPrefix(rest, "{%"):
			open, close, kind = "{%", "%}", tagToken
		case strings.HasPrefix(rest, "{#"):
			return nil, fmt.Errorf("comments ({# #}) are not supported by the test renderer")
		default:
			toks = append(toks, token{kind: textToken, body: src[:i+1]})
			src = src[i+1:]
			continue
		}
		toks = append(toks, token{kind: textToken, body: src[:i]})
		end := strings.Index(rest, close)
		if end < 0 {
			return nil, fmt.Errorf("unclosed %s", open)
		}
		body := rest[len(open):end]
		t := token{kind: kind}
		if strings.HasPrefix(body, "-") {
			t.trimL, body = true, body[1:]
		}
		if strings.HasSuffix(body, "-") {
			t.trimR, body = true, body[:len(body)-1]
		}
		t.body = strings.TrimSpace(body)
		toks = append(toks, t)
		src = rest[end+len(close):]
	}
	return mergeText(applyTrim(toks)), nil
}

// applyTrim removes the whitespace that {%- and -%} ask to remove.
func applyTrim(toks []token) []token {
	for i, t := range toks {
		if t.trimL && i > 0 && toks[i-1].kind == textToken {
			toks[i-1].body = strings.TrimRight(toks[i-1].body, " \t\r\n")
		}
		if t.trimR && i+1 < len(toks) && toks[i+1].kind == textToken {
			toks[i+1].body = strings.TrimLeft(toks[i+1].body, " \t\r\n")
		}
	}
	return toks
}

func mergeText(toks []token) []token {
	var out []token
	for _, t := range toks {
		if t.kind == textToken && len(out) > 0 && out[len(out)-1].kind == textToken {
			out[len(out)-1].body += t.body
			continue
		}
		out = append(out, t)
	}
	return out
}

// render renders src with ctx (e.g. {"values": ...} or {"parameters": ...}).
func render(src string, ctx map[string]any) (string, error) {
	toks, err := tokenize(src)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	var stack []bool // for each open if: is its current branch taken?
	on := func() bool {
		for _, s := range stack {
			if !s {
				return false
			}
		}
		return true
	}
	for _, t := range toks {
		switch t.kind {
		case textToken:
			if on() {
				b.WriteString(t.body)
			}
		case varToken:
			if !on() {
				continue
			}
			v, err := eval(t.body, ctx)
			if err != nil {
				return "", err
			}
			b.WriteString(stringify(v))
		case tagToken:
			if stack, err = applyTag(t.body, ctx, stack); err != nil {
				return "", err
			}
		}
	}
	if len(stack) > 0 {
		return "", fmt.Errorf("{%% if %%} without {%% endif %%}")
	}
	return b.String(), nil
}

func applyTag(body string, ctx map[string]any, stack []bool) ([]bool, error) {
	word, arg, _ := strings.Cut(body, " ")
	switch word {
	case "if":
		v, err := eval(arg, ctx)
		if err != nil {
			return nil, err
		}
		return append(stack, truthy(v)), nil
	case "else":
		if len(stack) == 0 {
			return nil, fmt.Errorf("{%% else %%} outside {%% if %%}")
		}
		stack[len(stack)-1] = !stack[len(stack)-1]
		return stack, nil
	case "endif":
		if len(stack) == 0 {
			return nil, fmt.Errorf("{%% endif %%} outside {%% if %%}")
		}
		return stack[:len(stack)-1], nil
	}
	return nil, fmt.Errorf("tag %q is not supported by the test renderer", body)
}

// eval evaluates "a.b.c", "a['b-c'].d" and "x | dump" / "x | parseRepoUrl". Undefined is nil.
func eval(expr string, ctx map[string]any) (any, error) {
	parts := strings.Split(expr, "|")
	v, err := lookup(strings.TrimSpace(parts[0]), ctx)
	if err != nil {
		return nil, err
	}
	for _, f := range parts[1:] {
		switch strings.TrimSpace(f) {
		case "dump":
			if v == nil {
				continue
			}
			raw, err := json.Marshal(v)
			if err != nil {
				return nil, err
			}
			v = string(raw)
		case "parseRepoUrl":
			v, err = parseRepoURL(v)
			if err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("filter %q is not supported by the test renderer", f)
		}
	}
	return v, nil
}

func lookup(p string, ctx map[string]any) (any, error) {
	keys, err := pathKeys(p)
	if err != nil {
		return nil, err
	}
	var cur any = ctx
	for _, key := range keys {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, nil
		}
		cur = m[key]
	}
	return cur, nil
}

// pathKeys splits a.b['c-d'].e into its keys. In dot notation a key is an identifier: Nunjucks reads
// steps.rds-request as a subtraction.
func pathKeys(p string) ([]string, error) {
	var keys []string
	for rest := p; rest != ""; {
		if strings.HasPrefix(rest, "['") {
			end := strings.Index(rest, "']")
			if end < 0 {
				return nil, fmt.Errorf("expression %q: unclosed ['", p)
			}
			keys, rest = append(keys, rest[2:end]), rest[end+2:]
			continue
		}
		rest = strings.TrimPrefix(rest, ".")
		n := 0
		for n < len(rest) && (rest[n] == '_' || rest[n] >= 'a' && rest[n] <= 'z' || rest[n] >= 'A' && rest[n] <= 'Z' ||
			n > 0 && rest[n] >= '0' && rest[n] <= '9') {
			n++
		}
		if n == 0 || n < len(rest) && rest[n] != '.' && rest[n] != '[' {
			return nil, fmt.Errorf("expression %q is not supported by the test renderer", p)
		}
		keys, rest = append(keys, rest[:n]), rest[n:]
	}
	return keys, nil
}

func parseRepoURL(v any) (any, error) {
	s, _ := v.(string)
	host, query, ok := strings.Cut(s, "?")
	if !ok {
		return nil, fmt.Errorf("parseRepoUrl: %q has no query", s)
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, fmt.Errorf("parseRepoUrl: %w", err)
	}
	return map[string]any{"host": host, "owner": q.Get("owner"), "repo": q.Get("repo")}, nil
}

func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case int:
		return x != 0
	case float64:
		return x != 0
	}
	return true
}

func stringify(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case map[string]any, []any:
		return "[object Object]"
	}
	return fmt.Sprint(v)
}

// evalInput renders an action input as Backstage does: a string that is exactly one expression keeps the
// value's type (and is dropped when undefined); other strings are rendered as text.
func evalInput(v any, ctx map[string]any) (any, bool, error) {
	switch x := v.(type) {
	case string:
		if inner, ok := singleExpression(x); ok {
			r, err := eval(inner, ctx)
			return r, r != nil, err
		}
		s, err := render(x, ctx)
		return s, s != "", err
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			r, ok, err := evalInput(e, ctx)
			if err != nil {
				return nil, false, fmt.Errorf("%s: %w", k, err)
			}
			if ok {
				out[k] = r
			}
		}
		return out, true, nil
	}
	return v, true, nil
}

func singleExpression(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "${{") || !strings.HasSuffix(s, "}}") {
		return "", false
	}
	inner := s[3 : len(s)-2]
	if strings.Contains(inner, "${{") || strings.Contains(inner, "}}") {
		return "", false
	}
	return strings.TrimSpace(inner), true
}

// renderSkeleton renders a skeleton the way fetch:template does with templateFileExtension: true:
// *.njk files are rendered and lose the extension, every other file is copied as is.
func renderSkeleton(fsys fs.FS, dir string, values map[string]any) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(p, dir+"/")
		if path.Ext(rel) != ".njk" {
			out[rel] = raw
			return nil
		}
		s, err := render(string(raw), map[string]any{"values": values})
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		out[strings.TrimSuffix(rel, ".njk")] = []byte(s)
		return nil
	})
	return out, err
}
