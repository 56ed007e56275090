package score

import (
	"fmt"
	"strings"
)

// A template is a string with Score placeholders: "${metadata.name}", "${resources.db.host}". "$$" is a
// literal "$" (so "$${x}" is the text "${x}"), a "$" before anything else is kept, and "\." inside a
// placeholder is a dot within one segment (an annotation key such as example.com/team).
type template []segment

// segment is literal text or, when ref is set, a placeholder's path.
type segment struct {
	text string
	ref  []string
}

// parseTemplate splits s into literal text and placeholders.
func parseTemplate(s string) (template, error) {
	var out template
	var lit strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			lit.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			lit.WriteByte('$')
			i++
		case '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return nil, fmt.Errorf("placeholder at offset %d is not closed with '}'", i)
			}
			ref, err := splitRef(s[i+2 : i+2+end])
			if err != nil {
				return nil, err
			}
			if lit.Len() > 0 {
				out = append(out, segment{text: lit.String()})
				lit.Reset()
			}
			out = append(out, segment{ref: ref})
			i += 2 + end
		default:
			lit.WriteByte('$')
		}
	}
	if lit.Len() > 0 {
		out = append(out, segment{text: lit.String()})
	}
	return out, nil
}

// splitRef splits a placeholder's body at dots, honouring "\." as a dot inside a segment.
func splitRef(body string) ([]string, error) {
	var parts []string
	var cur strings.Builder
	for i := 0; i < len(body); i++ {
		switch {
		case body[i] == '\\' && i+1 < len(body) && body[i+1] == '.':
			cur.WriteByte('.')
			i++
		case body[i] == '.':
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(body[i])
		}
	}
	parts = append(parts, cur.String())
	for _, p := range parts {
		if p == "" {
			return nil, fmt.Errorf("placeholder ${%s} has an empty segment", body)
		}
	}
	return parts, nil
}

// refs returns the template's placeholders.
func (t template) refs() [][]string {
	var out [][]string
	for _, s := range t {
		if s.ref != nil {
			out = append(out, s.ref)
		}
	}
	return out
}

// refString renders a placeholder path back as the user wrote it, for messages.
func refString(ref []string) string {
	parts := make([]string, len(ref))
	for i, p := range ref {
		parts[i] = strings.ReplaceAll(p, ".", `\.`)
	}
	return "${" + strings.Join(parts, ".") + "}"
}

// value is what a placeholder resolves to: plain text, or a key of a Kubernetes Secret that must never be
// rendered as text.
type value struct {
	text   string
	secret *secretRef
}

// secretRef is one key of a Kubernetes Secret.
type secretRef struct {
	name, key string
}

// resolver turns a placeholder path into its value.
type resolver func(ref []string) (value, error)

// resolveAll resolves every placeholder of t.
func (t template) resolveAll(resolve resolver) ([]value, error) {
	out := make([]value, 0, len(t))
	for _, s := range t {
		if s.ref == nil {
			out = append(out, value{text: s.text})
			continue
		}
		v, err := resolve(s.ref)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// text resolves t to plain text, refusing secret values: for places that end up in git as they are (file
// contents, route hosts).
func (t template) text(resolve resolver) (string, error) {
	vals, err := t.resolveAll(resolve)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for i, v := range vals {
		if v.secret != nil {
			return "", fmt.Errorf("%s is a secret output and cannot be written here in plain text", refString(t[i].ref))
		}
		b.WriteString(v.text)
	}
	return b.String(), nil
}
