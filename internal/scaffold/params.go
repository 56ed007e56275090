package scaffold

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Page is one page of a template's parameter form.
type Page struct {
	Title       string         `json:"title,omitempty"`
	Description string         `json:"description,omitempty"`
	Schema      map[string]any `json:"schema"` // as written, ui:* keys included (the form needs them)
}

// Pages returns the parameter pages: spec.parameters may be one schema or a list of them.
func (t *Template) Pages() ([]Page, error) {
	var raw []any
	switch p := t.Spec.Parameters.(type) {
	case nil:
		return nil, nil
	case []any:
		raw = p
	case map[string]any:
		raw = []any{p}
	default:
		return nil, fmt.Errorf("spec.parameters: must be an object or a list of objects")
	}
	pages := make([]Page, 0, len(raw))
	for i, r := range raw {
		m, ok := r.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("spec.parameters[%d]: must be an object", i)
		}
		title, _ := m["title"].(string)
		desc, _ := m["description"].(string)
		pages = append(pages, Page{Title: title, Description: desc, Schema: m})
	}
	return pages, nil
}

// ParamError is a problem with one parameter, on one page.
type ParamError struct {
	Page  string `json:"page"`
	Field string `json:"field"`
	Rule  string `json:"rule"`
}

// ParamErrors lists parameter problems.
type ParamErrors []ParamError

func (es ParamErrors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		loc := e.Field
		if e.Page != "" {
			loc = fmt.Sprintf("page %q: %s", e.Page, e.Field)
		}
		msgs[i] = "parameters: " + loc + ": " + e.Rule
	}
	return strings.Join(msgs, "; ")
}

// stripUI removes ui:* keys (form hints that are not JSON Schema) and Backstage-only keys.
func stripUI(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, c := range t {
			if strings.HasPrefix(k, "ui:") || k == "backstage:permissions" {
				continue
			}
			out[k] = stripUI(c)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, c := range t {
			out[i] = stripUI(c)
		}
		return out
	}
	return v
}

// toJSONValue converts YAML-decoded values (ints, maps) into what the JSON Schema validator expects.
func toJSONValue(v any) (any, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return jsonschema.UnmarshalJSON(strings.NewReader(string(raw)))
}

var printer = message.NewPrinter(language.English)

// ApplyDefaults fills absent top-level properties that declare a default (Backstage's form does the same
// before submitting, so API callers get the same result).
func ApplyDefaults(pages []Page, values map[string]any) map[string]any {
	out := make(map[string]any, len(values))
	for k, v := range values {
		out[k] = v
	}
	for _, p := range pages {
		props, _ := p.Schema["properties"].(map[string]any)
		for name, s := range props {
			sch, _ := s.(map[string]any)
			if def, ok := sch["default"]; ok {
				if _, set := out[name]; !set {
					out[name] = def
				}
			}
		}
	}
	return out
}

// ValidateParameters checks values against every page (each page validates the whole value object, as
// Backstage's form does) and against the ui:options of Backstage's pickers that restrict values.
func ValidateParameters(pages []Page, values map[string]any) error {
	var errs ParamErrors
	instance, err := toJSONValue(values)
	if err != nil {
		return fmt.Errorf("parameters: %w", err)
	}
	for i, p := range pages {
		title := p.Title
		if title == "" {
			title = fmt.Sprintf("page %d", i+1)
		}
		sch, err := compilePage(p)
		if err != nil {
			return fmt.Errorf("spec.parameters[%d] (%s) is not a valid JSON Schema: %w", i, title, err)
		}
		if err := sch.Validate(instance); err != nil {
			var ve *jsonschema.ValidationError
			if errors.As(err, &ve) {
				collect(ve, title, &errs)
			} else {
				errs = append(errs, ParamError{Page: title, Rule: err.Error()})
			}
		}
		errs = append(errs, checkPickers(p, title, values)...)
	}
	if len(errs) == 0 {
		return nil
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Field < errs[j].Field })
	return errs
}

func compilePage(p Page) (*jsonschema.Schema, error) {
	schema := stripUI(p.Schema).(map[string]any)
	if _, ok := schema["type"]; !ok {
		schema["type"] = "object"
	}
	doc, err := toJSONValue(schema)
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	if err := c.AddResource("page.json", doc); err != nil {
		return nil, err
	}
	return c.Compile("page.json")
}

func collect(ve *jsonschema.ValidationError, page string, out *ParamErrors) {
	if len(ve.Causes) > 0 {
		for _, c := range ve.Causes {
			collect(c, page, out)
		}
		return
	}
	field := strings.Join(ve.InstanceLocation, ".")
	if req, ok := ve.ErrorKind.(*kind.Required); ok {
		for _, name := range req.Missing {
			f := name
			if field != "" {
				f = field + "." + name
			}
			*out = append(*out, ParamError{Page: page, Field: f, Rule: "is required"})
		}
		return
	}
	*out = append(*out, ParamError{Page: page, Field: field, Rule: ve.ErrorKind.LocalizedString(printer)})
}

// checkPickers enforces RepoUrlPicker's allowedHosts/allowedOwners/allowedRepos on the server, where the
// form's restrictions would otherwise be advisory.
func checkPickers(p Page, page string, values map[string]any) []ParamError {
	var errs []ParamError
	props, _ := p.Schema["properties"].(map[string]any)
	for name, s := range props {
		sch, _ := s.(map[string]any)
		if sch["ui:field"] != "RepoUrlPicker" {
			continue
		}
		v, ok := values[name].(string)
		if !ok || v == "" {
			continue
		}
		u, err := ParseRepoURL(v)
		if err != nil {
			errs = append(errs, ParamError{Page: page, Field: name, Rule: err.Error()})
			continue
		}
		opts, _ := sch["ui:options"].(map[string]any)
		for key, got := range map[string]string{"allowedHosts": u.Host, "allowedOwners": u.Owner, "allowedRepos": u.Repo} {
			allowed := strs(opts[key])
			if len(allowed) > 0 && !slices.Contains(allowed, got) {
				errs = append(errs, ParamError{Page: page, Field: name, Rule: fmt.Sprintf("%q is not one of %s (%s)", got, strings.Join(allowed, ", "), key)})
			}
		}
	}
	return errs
}

func strs(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// SecretFields names the top-level parameters the form treats as secrets (ui:field Secret or ui:widget
// password): their values are kept out of the stored task and redacted from logs.
func SecretFields(pages []Page) []string {
	var out []string
	for _, p := range pages {
		props, _ := p.Schema["properties"].(map[string]any)
		for name, s := range props {
			sch, _ := s.(map[string]any)
			if sch["ui:field"] == "Secret" || sch["ui:widget"] == "password" {
				out = append(out, name)
			}
		}
	}
	sort.Strings(out)
	return out
}

// RepoURL is a RepoUrlPicker value: "host?owner=o&repo=r".
type RepoURL struct {
	Host, Owner, Repo, Organization, Workspace, Project string
}

// ParseRepoURL parses a RepoUrlPicker value.
func ParseRepoURL(s string) (RepoURL, error) {
	host, query, ok := strings.Cut(s, "?")
	if !ok || host == "" {
		return RepoURL{}, fmt.Errorf("repoUrl %q: want host?owner=OWNER&repo=REPO", s)
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return RepoURL{}, fmt.Errorf("repoUrl %q: %v", s, err)
	}
	r := RepoURL{Host: host, Owner: q.Get("owner"), Repo: q.Get("repo"), Organization: q.Get("organization"),
		Workspace: q.Get("workspace"), Project: q.Get("project")}
	if r.Repo == "" {
		return RepoURL{}, fmt.Errorf("repoUrl %q: repo is required (host?owner=OWNER&repo=REPO)", s)
	}
	if r.Owner == "" && r.Organization == "" && r.Workspace == "" {
		return RepoURL{}, fmt.Errorf("repoUrl %q: owner is required (host?owner=OWNER&repo=REPO)", s)
	}
	return r, nil
}
