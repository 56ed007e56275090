package portal

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/problem"
	"github.com/goldenpathidp/goldenpath/internal/scaffold"
	"github.com/goldenpathidp/goldenpath/internal/scaffolder"
)

// draft is a filled-in form waiting for its review step. It lives in the session, so secrets typed into
// the form never travel back to the browser in the review page.
type draft struct {
	template string
	values   map[string]any
	created  time.Time
}

type templateCard struct {
	Name, Title, Description, Type string
	Tags                           []string
}

func (s *Server) templateList(w http.ResponseWriter, r *http.Request, v *visitor) error {
	found, problems, err := s.o.Templates.List(r.Context())
	if err != nil {
		return err
	}
	var services, requests []templateCard
	for _, f := range found {
		m := f.Template.Metadata
		c := templateCard{Name: m.Name, Title: firstNonEmpty(m.Title, m.Name), Description: m.Description, Type: f.Template.Spec.Type, Tags: m.Tags}
		if f.Template.Spec.Type == "resource" {
			requests = append(requests, c)
		} else {
			services = append(services, c)
		}
	}
	msgs := make([]string, 0, len(problems))
	for _, p := range problems {
		msgs = append(msgs, p.Error())
	}
	s.render(w, r, http.StatusOK, "templates", v, "Create", map[string]any{"Services": services, "Requests": requests, "Problems": msgs})
	return nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// findTemplate finds a template of the platform repository by name.
func (s *Server) findTemplate(ctx context.Context, name string) (scaffolder.Found, []scaffold.Page, error) {
	found, _, err := s.o.Templates.List(ctx)
	if err != nil {
		return scaffolder.Found{}, nil, err
	}
	for _, f := range found {
		if strings.EqualFold(f.Template.Metadata.Name, name) {
			pages, err := f.Template.Pages()
			if err != nil {
				return f, nil, problem.New(problem.Invalid, "template %s cannot be shown: %v", name, err)
			}
			return f, pages, nil
		}
	}
	return scaffolder.Found{}, nil, problem.New(problem.NotFound, "there is no template %q on the platform repository's main", name)
}

// form builds the template's form for the visitor.
func (s *Server) form(ctx context.Context, f scaffolder.Found, pages []scaffold.Page, v *visitor) []*formPage {
	var order [][]string
	if s.o.Source != nil {
		if raw, err := s.o.Source(ctx, f); err == nil {
			order = propertyNames(raw)
		} else {
			s.log.Warn("reading a template's source for its field order", "template", f.Template.Metadata.Name, "err", err)
		}
	}
	return buildForm(pages, order, v.p.Teams)
}

type formData struct {
	Name     string
	Title    string
	About    string
	Pages    []*formPage
	Problems []string
}

func (s *Server) renderForm(w http.ResponseWriter, r *http.Request, v *visitor, status int, f scaffolder.Found, pages []*formPage, problems []string) {
	m := f.Template.Metadata
	s.render(w, r, status, "form", v, firstNonEmpty(m.Title, m.Name), formData{Name: m.Name, Title: firstNonEmpty(m.Title, m.Name),
		About: m.Description, Pages: pages, Problems: problems})
}

func (s *Server) templateForm(w http.ResponseWriter, r *http.Request, v *visitor) error {
	f, pages, err := s.findTemplate(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	form := s.form(r.Context(), f, pages, v)
	if d := v.session.draft(r.URL.Query().Get("draft")); d != nil && d.template == f.Template.Metadata.Name {
		fill(form, d.values, nil)
	}
	s.renderForm(w, r, v, http.StatusOK, f, form, nil)
	return nil
}

// templateSubmit validates the form on the server (the browser's checks are a convenience) and, when it is
// valid, keeps it as a draft for the review step.
func (s *Server) templateSubmit(w http.ResponseWriter, r *http.Request, v *visitor) error {
	f, pages, err := s.findTemplate(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	form := s.form(r.Context(), f, pages, v)
	values, ferrs := parseForm(form, r.PostForm)
	errs := map[string]string{}
	for _, e := range ferrs {
		errs[e.Field] = e.Rule
	}
	if len(errs) == 0 {
		if err := scaffold.ValidateParameters(pages, scaffold.ApplyDefaults(pages, values)); err != nil {
			var pe scaffold.ParamErrors
			if !errors.As(err, &pe) {
				return problem.New(problem.Invalid, "%v", err)
			}
			errs = paramErrors(pe)
		}
	}
	if len(errs) > 0 {
		rest := fill(form, values, errs)
		s.renderForm(w, r, v, http.StatusBadRequest, f, form, append([]string{"Some values need fixing: see the fields marked below."}, rest...))
		return nil
	}
	id := v.session.addDraft(&draft{template: f.Template.Metadata.Name, values: values, created: time.Now()})
	http.Redirect(w, r, "/create/"+url.PathEscape(f.Template.Metadata.Name)+"/review?draft="+url.QueryEscape(id), http.StatusSeeOther)
	return nil
}

type reviewRow struct {
	Page, Label, Value string
}

func (s *Server) templateReview(w http.ResponseWriter, r *http.Request, v *visitor) error {
	f, pages, err := s.findTemplate(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	id := r.URL.Query().Get("draft")
	d := v.session.draft(id)
	if d == nil || d.template != f.Template.Metadata.Name {
		return problem.New(problem.NotFound, "this form was not filled in yet, or its draft expired: fill in the form again")
	}
	form := s.form(r.Context(), f, pages, v)
	values := scaffold.ApplyDefaults(pages, d.values)
	var rows []reviewRow
	for _, p := range form {
		for _, fl := range p.Fields {
			rows = append(rows, reviewRow{Page: p.Title, Label: fl.Label, Value: reviewValue(fl, values[fl.Name])})
		}
	}
	m := f.Template.Metadata
	s.render(w, r, http.StatusOK, "review", v, "Review: "+firstNonEmpty(m.Title, m.Name), map[string]any{
		"Name": m.Name, "Title": firstNonEmpty(m.Title, m.Name), "Draft": id, "Rows": rows,
	})
	return nil
}

func reviewValue(f *field, v any) string {
	switch {
	case v == nil:
		return "—"
	case f.Secret:
		return "•••••• (hidden)"
	case f.Widget == widgetCheckbox:
		if v == true {
			return "Yes"
		}
		return "No"
	case f.Widget == widgetLines:
		return strings.Join(stringList(v), ", ")
	case f.Widget == widgetJSON:
		s, _ := yamlJSON(v)
		return s
	}
	return fmt.Sprint(v)
}

// templateRun starts the task of a reviewed draft and shows its page.
func (s *Server) templateRun(w http.ResponseWriter, r *http.Request, v *visitor) error {
	f, pages, err := s.findTemplate(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	id := r.PostFormValue("draft")
	d := v.session.draft(id)
	if d == nil || d.template != f.Template.Metadata.Name {
		return problem.New(problem.NotFound, "this form's draft expired or was already submitted: fill in the form again")
	}
	u, err := s.o.TaskUsers.User(r.Context(), v.p.Name)
	if err != nil {
		return err
	}
	taskID, err := s.o.Tasks.Create(r.Context(), scaffolder.CreateInput{TemplateRef: f.Template.Ref(), Values: d.values, User: u})
	if err != nil {
		var p *problem.Error
		if errors.As(err, &p) && p.Code == problem.Invalid && len(p.Errors) > 0 {
			form := s.form(r.Context(), f, pages, v)
			errs := map[string]string{}
			for _, fe := range p.Errors {
				_, name, _ := strings.Cut(fe.Field, ": ") // "Page title: field"
				if name == "" {
					name = fe.Field
				}
				name, _, _ = strings.Cut(name, ".")
				errs[name] = fe.Rule
			}
			rest := fill(form, d.values, errs)
			s.renderForm(w, r, v, http.StatusBadRequest, f, form, append([]string{p.Message}, rest...))
			return nil
		}
		return err
	}
	v.session.dropDraft(id)
	return redirect(w, r, v, "/tasks/"+url.PathEscape(taskID), "")
}

func (se *session) addDraft(d *draft) string {
	id := randomString(12)
	se.mu.Lock()
	defer se.mu.Unlock()
	if se.drafts == nil {
		se.drafts = map[string]*draft{}
	}
	for len(se.drafts) >= maxDrafts {
		oldest := ""
		for k, o := range se.drafts {
			if oldest == "" || o.created.Before(se.drafts[oldest].created) {
				oldest = k
			}
		}
		delete(se.drafts, oldest)
	}
	se.drafts[id] = d
	return id
}

func (se *session) draft(id string) *draft {
	se.mu.Lock()
	defer se.mu.Unlock()
	return se.drafts[id]
}

func (se *session) dropDraft(id string) {
	se.mu.Lock()
	delete(se.drafts, id)
	se.mu.Unlock()
}
