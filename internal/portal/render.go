package portal

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/auth"
	"github.com/goldenpathidp/goldenpath/internal/catalog"
	"github.com/goldenpathidp/goldenpath/internal/problem"
	"github.com/goldenpathidp/goldenpath/internal/store"
)

// pageData is what every template gets: the page's own data in D, the layout's in the rest.
type pageData struct {
	Title    string
	Nav      string // the section the page belongs to, for aria-current
	SignedIn bool
	User     auth.Principal
	CSRF     string
	Flash    string
	D        any
}

// IsApprover tells the layout and pages whether to offer reviewing.
func (d *pageData) IsApprover() bool { return d.SignedIn && d.User.Is(store.RoleApprover) }

// IsAdmin tells pages whether to offer admin-only things.
func (d *pageData) IsAdmin() bool { return d.SignedIn && d.User.Is(store.RoleAdmin) }

func funcs() template.FuncMap {
	return template.FuncMap{
		"when":        when,
		"ago":         ago,
		"short":       shortSHA,
		"phaseClass":  phaseClass,
		"join":        strings.Join,
		"lower":       strings.ToLower,
		"entityURL":   entityURL,
		"entityHref":  func(e *catalog.Entity) string { return entityURL(e.Ref().String()) },
		"ownerURL":    ownerURL,
		"htmlPattern": htmlPattern,
		"has":         slices.Contains[[]string],
		"add":         func(a, b int) int { return a + b },
		"diffClass":   diffClass,
		"splitLines":  func(s string) []string { return strings.Split(strings.TrimRight(s, "\n"), "\n") },
	}
}

// parsePages parses each page template together with the layout.
func parsePages() (map[string]*template.Template, error) {
	files, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.New(name).Funcs(funcs()).ParseFS(assets, "templates/layout.html", f)
		if err != nil {
			return nil, fmt.Errorf("parsing portal template %s: %w", f, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// nav names the section of each page, for the navigation's aria-current.
var nav = map[string]string{
	"home": "home", "catalog": "catalog", "entity": "catalog", "templates": "create", "form": "create",
	"review": "create", "task": "create", "tasks": "create", "requests": "requests", "request": "requests",
	"credentials": "requests", "changes": "changes", "change": "changes", "users": "users", "user": "users",
	"apps": "apps", "app": "apps",
}

// render writes a page. It renders into a buffer first so that a template error becomes an error page
// instead of half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page string, v *visitor, title string, data any) {
	t, ok := s.pages[page]
	if !ok {
		s.log.Error("no such portal template", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	d := &pageData{Title: title, Nav: nav[page], D: data}
	if v.signedIn() {
		d.SignedIn, d.User, d.CSRF, d.Flash = true, v.p, v.session.csrf, v.session.takeFlash()
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", d); err != nil {
		s.log.Error("rendering a portal page", "page", page, "err", err)
		http.Error(w, "internal error: the server log has the details", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fail shows an error page with the problem's message; internal details go to the log only.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, v *visitor, err error) {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		err = problem.New(problem.TooLarge, "the form is larger than %d bytes", tooBig.Limit)
	}
	p := problem.From(err)
	if p.Code == problem.Internal {
		s.log.Error("portal request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if v == nil {
		v = &visitor{}
	}
	s.render(w, r, p.Code.Status(), "error", v, errorTitle(p.Code), p)
}

func errorTitle(c problem.Code) string {
	switch c {
	case problem.NotFound:
		return "Not found"
	case problem.Forbidden:
		return "Not allowed"
	case problem.Unauthenticated:
		return "Sign in needed"
	case problem.Invalid:
		return "Invalid input"
	case problem.Internal:
		return "Something went wrong"
	}
	return "Cannot do that"
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	v, err := s.visitor(w, r)
	if err != nil {
		v = nil
	}
	s.fail(w, r, v, problem.New(problem.NotFound, "there is no page at %s", r.URL.Path))
}

// redirect sends the browser to a page after an action, with a message for it.
func redirect(w http.ResponseWriter, r *http.Request, v *visitor, to, flash string) error {
	if flash != "" {
		v.session.setFlash(flash)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

func when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func ago(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}

func shortSHA(s string) string {
	if len(s) > 10 {
		return s[:10]
	}
	return s
}

// phaseClass picks the badge colour of a phase, a task status or a change request state.
func phaseClass(phase string) string {
	switch strings.ToLower(phase) {
	case "ready", "completed", "merged", "approved", "passed", "running", "rolled-out", "pinned", "rendered", "deployed":
		return "ok"
	case "failed", "rejected", "cancelled", "deleted", "closed", "blocked":
		return "bad"
	case "provisioning", "processing", "deleting", "open", "progressing", "committed":
		return "busy"
	}
	return "wait"
}

func diffClass(line string) string {
	switch {
	case strings.HasPrefix(line, "+++"), strings.HasPrefix(line, "---"):
		return "meta"
	case strings.HasPrefix(line, "+"):
		return "add"
	case strings.HasPrefix(line, "-"):
		return "del"
	case strings.HasPrefix(line, "@@"):
		return "hunk"
	}
	return ""
}

// htmlPattern adapts a JSON Schema pattern (an ECMAScript regex) for the pattern attribute, which browsers
// compile with the v flag: there a '-' that is not a range, and ( ) { } / |, must be escaped inside a
// character class. Without this, a pattern like [a-z0-9-] is ignored by the browser.
func htmlPattern(p string) string {
	var b strings.Builder
	inClass, classStart := false, 0
	rs := []rune(p)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch {
		case c == '\\' && i+1 < len(rs):
			b.WriteRune(c)
			b.WriteRune(rs[i+1])
			i++
			continue
		case !inClass && c == '[':
			inClass, classStart = true, i+1
			if i+1 < len(rs) && rs[i+1] == '^' {
				classStart++
			}
		case inClass && c == ']':
			inClass = false
		case inClass && c == '-':
			first, last := i == classStart, i+1 < len(rs) && rs[i+1] == ']'
			if first || last {
				b.WriteString(`\-`)
				continue
			}
		case inClass && strings.ContainsRune("(){}/|", c):
			b.WriteRune('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}
