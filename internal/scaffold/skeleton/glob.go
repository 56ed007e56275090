package skeleton

import (
	"fmt"
	"regexp"
	"strings"
)

// matcher matches skeleton paths against the copyWithoutTemplating/copyWithoutRender globs,
// the way Backstage's globby call does (dot files included): *, ?, [...], {a,b} and **
// follow minimatch, and a pattern without glob characters names a file or a whole
// directory (globby expands directories).
type matcher struct {
	globs []*regexp.Regexp
	dirs  []string
}

func newMatcher(patterns []string) (*matcher, error) {
	m := &matcher{}
	for _, p := range patterns {
		p = strings.TrimPrefix(p, "./")
		switch {
		case p == "" || strings.HasPrefix(p, "!"):
			// globby returns nothing for a lone negated pattern; Backstage globs each pattern alone.
			continue
		case !strings.ContainsAny(p, "*?[{"):
			m.dirs = append(m.dirs, strings.TrimSuffix(p, "/"))
			continue
		}
		re, err := globRegexp(p)
		if err != nil {
			return nil, fmt.Errorf("glob %q: %w", p, err)
		}
		m.globs = append(m.globs, re)
	}
	return m, nil
}

func (m *matcher) match(path string) bool {
	for _, d := range m.dirs {
		if path == d || strings.HasPrefix(path, d+"/") {
			return true
		}
	}
	for _, re := range m.globs {
		if re.MatchString(path) {
			return true
		}
	}
	return false
}

// globRegexp translates one glob into an anchored regular expression.
func globRegexp(glob string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	braces := 0
	for i := 0; i < len(glob); i++ {
		c := glob[i]
		switch {
		case c == '*' && strings.HasPrefix(glob[i:], "**"):
			i = globStars(&b, glob, i)
		case c == '*':
			b.WriteString(`[^/]*`)
		case c == '?':
			b.WriteString(`[^/]`)
		case c == '[':
			end := strings.IndexByte(glob[i+1:], ']')
			if end < 0 {
				b.WriteString(`\[`)
				continue
			}
			class := glob[i+1 : i+1+end]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			b.WriteString("[" + class + "]")
			i += end + 1
		case c == '{':
			braces++
			b.WriteString("(?:")
		case c == '}' && braces > 0:
			braces--
			b.WriteString(")")
		case c == ',' && braces > 0:
			b.WriteString("|")
		case c == '\\' && i+1 < len(glob):
			i++
			b.WriteString(regexp.QuoteMeta(string(glob[i])))
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	if braces > 0 {
		return nil, fmt.Errorf("unclosed {")
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// globStars writes "**" starting at i and returns the index of its last consumed byte:
// "**/" matches any number of directories (none included), a trailing "/**" anything below.
func globStars(b *strings.Builder, glob string, i int) int {
	atStart := i == 0 || glob[i-1] == '/'
	j := i + 2
	switch {
	case atStart && j < len(glob) && glob[j] == '/':
		b.WriteString(`(?:[^/]*/)*`)
		return j
	case atStart && j == len(glob):
		b.WriteString(`.*`)
		return j - 1
	}
	b.WriteString(`[^/]*`)
	return j - 1
}
