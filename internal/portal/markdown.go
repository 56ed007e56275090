package portal

import (
	"html"
	"html/template"
	"regexp"
	"strings"
)

// The markdown of templates' output texts: paragraphs, numbered and bulleted lists, `code`, **bold** and
// [links](url). That is what Backstage's templates write there; anything else shows as text. Everything is
// escaped first, and links go through the same filter as output links, so a template cannot inject markup.

var (
	orderedItem   = regexp.MustCompile(`^\d+\.\s+`)
	unorderedItem = regexp.MustCompile(`^[-*]\s+`)
	boldRe        = regexp.MustCompile(`\*\*(.+?)\*\*`)
	linkRe        = regexp.MustCompile(`\[([^\]]+)\]\(([^)\s]+)\)`)
)

// markdown renders a template output text as HTML.
func (s *Server) markdown(src string) template.HTML {
	var b strings.Builder
	for _, block := range strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n\n") {
		lines := nonBlank(strings.Split(block, "\n"))
		if len(lines) == 0 {
			continue
		}
		switch {
		case opensWith(lines, orderedItem):
			s.list(&b, "ol", lines, orderedItem)
		case opensWith(lines, unorderedItem):
			s.list(&b, "ul", lines, unorderedItem)
		default:
			b.WriteString("<p>" + s.inline(strings.Join(lines, " ")) + "</p>\n")
		}
	}
	return template.HTML(b.String()) //nolint:gosec // built from escaped text only
}

func (s *Server) list(b *strings.Builder, tag string, lines []string, marker *regexp.Regexp) {
	b.WriteString("<" + tag + ">")
	item := ""
	flush := func() {
		if item != "" {
			b.WriteString("<li>" + s.inline(item) + "</li>")
		}
	}
	for _, l := range lines {
		if marker.MatchString(l) {
			flush()
			item = marker.ReplaceAllString(l, "")
			continue
		}
		item += " " + l // a continuation line of the item
	}
	flush()
	b.WriteString("</" + tag + ">\n")
}

func nonBlank(lines []string) []string {
	var out []string
	for _, l := range lines {
		if t := strings.TrimSpace(l); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// opensWith tells whether a block is a list: its first line is an item (later lines may continue items).
func opensWith(lines []string, re *regexp.Regexp) bool {
	return re.MatchString(lines[0])
}

// inline renders code spans, bold and links in one line of text.
func (s *Server) inline(text string) string {
	var b strings.Builder
	for i, part := range strings.Split(text, "`") {
		if i%2 == 1 {
			b.WriteString("<code>" + html.EscapeString(part) + "</code>")
			continue
		}
		out := html.EscapeString(part)
		out = boldRe.ReplaceAllString(out, "<strong>$1</strong>")
		out = linkRe.ReplaceAllStringFunc(out, func(m string) string {
			sub := linkRe.FindStringSubmatch(m)
			u, _ := s.portalURL(html.UnescapeString(sub[2]))
			if u == "" {
				return sub[1]
			}
			return `<a href="` + html.EscapeString(u) + `">` + sub[1] + `</a>`
		})
		b.WriteString(out)
	}
	return b.String()
}
