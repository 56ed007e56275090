package portal

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/goldenpathidp/goldenpath/internal/scaffold"
	"go.yaml.in/yaml/v3"
)

// Widgets a template's parameter becomes.
const (
	widgetText     = "text"
	widgetNumber   = "number"
	widgetCheckbox = "checkbox"
	widgetSelect   = "select"
	widgetPassword = "password"
	widgetOwner    = "owner"
	widgetRepo     = "repo"
	widgetLines    = "lines" // an array of strings, one per line
	widgetJSON     = "json"  // anything else, as JSON
)

// field is one input of a template's form, built from its JSON Schema property and ui:* hints.
type field struct {
	Name        string
	Label       string
	Description string
	Widget      string
	Type        string // the JSON Schema type
	Required    bool
	Pattern     string
	Min, Max    string // for number inputs
	Step        string
	MinLength   string
	MaxLength   string
	Autofocus   bool
	Options     []option
	Value       string
	Checked     bool
	Repo        repoParts // RepoUrlPicker
	RepoHosts   []string
	Error       string
	Secret      bool
	enum        []any
}

type option struct {
	Value, Label string
	Selected     bool
}

type repoParts struct{ Host, Owner, Repo string }

// formPage is one page (fieldset) of a form.
type formPage struct {
	Title       string
	Description string
	Fields      []*field
}

// buildForm turns a template's parameter pages into form pages. order gives each page's property names as
// the author wrote them (nil: ui:order, then required ones, then by name); teams fill owner pickers.
func buildForm(pages []scaffold.Page, order [][]string, teams []string) []*formPage {
	out := make([]*formPage, 0, len(pages))
	for i, p := range pages {
		props, _ := p.Schema["properties"].(map[string]any)
		required := stringList(p.Schema["required"])
		var written []string
		if i < len(order) {
			written = order[i]
		}
		fp := &formPage{Title: p.Title, Description: p.Description}
		if fp.Title == "" {
			fp.Title = fmt.Sprintf("Step %d", i+1)
		}
		for _, name := range propertyOrder(props, written, stringList(p.Schema["ui:order"]), required) {
			sch, _ := props[name].(map[string]any)
			if sch == nil || isHidden(sch) {
				continue
			}
			fp.Fields = append(fp.Fields, newField(name, sch, slices.Contains(required, name), teams))
		}
		out = append(out, fp)
	}
	return out
}

func isHidden(sch map[string]any) bool {
	w, _ := sch["ui:widget"].(string)
	return w == "hidden"
}

// propertyOrder orders a page's properties: the order they were written in (or, unknown, the required
// ones first and the rest by name), rearranged by ui:order when given ("*" stands for the rest).
func propertyOrder(props map[string]any, written, uiOrder, required []string) []string {
	var base []string
	seen := map[string]bool{}
	add := func(n string) {
		if _, ok := props[n]; ok && !seen[n] {
			seen[n] = true
			base = append(base, n)
		}
	}
	lead := written
	if len(lead) == 0 {
		lead = required
	}
	for _, n := range lead {
		add(n)
	}
	for _, n := range slices.Sorted(maps.Keys(boolSet(props))) {
		add(n)
	}
	if len(uiOrder) == 0 {
		return base
	}
	listed := map[string]bool{}
	for _, n := range uiOrder {
		listed[n] = true
	}
	var rest, out []string
	for _, n := range base {
		if !listed[n] {
			rest = append(rest, n)
		}
	}
	starred := false
	for _, n := range uiOrder {
		if n == "*" {
			out, starred = append(out, rest...), true
		} else if _, ok := props[n]; ok {
			out = append(out, n)
		}
	}
	if !starred {
		out = append(out, rest...)
	}
	return out
}

func boolSet(m map[string]any) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

func newField(name string, sch map[string]any, required bool, teams []string) *field {
	f := &field{Name: name, Label: str(sch["title"]), Description: str(sch["description"]), Required: required,
		Type: str(sch["type"]), Pattern: str(sch["pattern"]), Autofocus: sch["ui:autofocus"] == true}
	if f.Label == "" {
		f.Label = name
	}
	f.MinLength, f.MaxLength = number(sch["minLength"]), number(sch["maxLength"])
	f.Widget = widgetFor(sch, f.Type)
	switch f.Widget {
	case widgetRepo:
		opts, _ := sch["ui:options"].(map[string]any)
		f.RepoHosts = stringList(opts["allowedHosts"])
		if len(f.RepoHosts) > 0 {
			f.Repo.Host = f.RepoHosts[0]
		}
		if len(teams) == 1 {
			f.Repo.Owner = teams[0] // users publish under their team; with one team that is the answer
		}
	case widgetOwner:
		for _, t := range teams {
			f.Options = append(f.Options, option{Value: "group:default/" + t, Label: t})
		}
		if len(teams) == 1 {
			f.set(f.Options[0].Value) // the only choice: save a click
		}
	case widgetSelect:
		f.enum, _ = sch["enum"].([]any)
		names := stringList(sch["enumNames"])
		for i, e := range f.enum {
			label := fmt.Sprint(e)
			if i < len(names) {
				label = names[i]
			}
			f.Options = append(f.Options, option{Value: fmt.Sprint(e), Label: label})
		}
	case widgetPassword:
		f.Secret = true
	case widgetNumber:
		f.Min, f.Max, f.Step = number(sch["minimum"]), number(sch["maximum"]), "1"
		if f.Type == "number" {
			f.Step = "any"
		}
	}
	if def, ok := sch["default"]; ok {
		f.set(def)
	}
	return f
}

// widgetFor picks the input of a property: Backstage's ui:field and ui:widget first, then its type.
func widgetFor(sch map[string]any, typ string) string {
	uiField, _ := sch["ui:field"].(string)
	uiWidget, _ := sch["ui:widget"].(string)
	switch {
	case uiField == "RepoUrlPicker":
		return widgetRepo
	case uiField == "OwnerPicker":
		return widgetOwner
	case sch["enum"] != nil:
		return widgetSelect
	case uiField == "Secret" || uiWidget == "password":
		return widgetPassword
	case typ == "boolean":
		return widgetCheckbox
	case typ == "integer" || typ == "number":
		return widgetNumber
	case typ == "array" && itemsAreStrings(sch):
		return widgetLines
	case typ == "array" || typ == "object":
		return widgetJSON
	}
	return widgetText // EntityNamePicker, EntityPicker and plain strings: text with the schema's pattern
}

func itemsAreStrings(sch map[string]any) bool {
	items, _ := sch["items"].(map[string]any)
	return items == nil || items["type"] == "string" || items["type"] == nil
}

// set shows a value in the field.
func (f *field) set(v any) {
	switch f.Widget {
	case widgetCheckbox:
		f.Checked = v == true
	case widgetRepo:
		if s, ok := v.(string); ok {
			if u, err := scaffold.ParseRepoURL(s); err == nil {
				f.Repo = repoParts{Host: u.Host, Owner: u.Owner, Repo: u.Repo}
			}
		}
	case widgetLines:
		f.Value = strings.Join(stringList(v), "\n")
	case widgetJSON:
		raw, _ := yamlJSON(v)
		f.Value = raw
	case widgetPassword:
		// Never shown again: a user retypes a secret after going back.
	default:
		f.Value = fmt.Sprint(v)
	}
	for i := range f.Options {
		f.Options[i].Selected = f.Options[i].Value == f.Value
	}
}

// fieldError is a problem with a field's raw input, before the schema sees it.
type fieldError struct{ Field, Rule string }

// parseForm reads the posted form into template values: numbers become numbers, checkboxes booleans, the
// repository picker's three inputs one RepoUrlPicker value. Empty inputs are left out, so "required" and
// defaults work as in Backstage.
func parseForm(pages []*formPage, form url.Values) (map[string]any, []fieldError) {
	values := map[string]any{}
	var errs []fieldError
	for _, p := range pages {
		for _, f := range p.Fields {
			v, err := f.parse(form)
			if err != "" {
				errs = append(errs, fieldError{Field: f.Name, Rule: err})
				continue
			}
			if v != nil {
				values[f.Name] = v
			}
		}
	}
	return values, errs
}

func (f *field) parse(form url.Values) (any, string) {
	raw := form.Get(f.Name)
	switch f.Widget {
	case widgetCheckbox:
		return raw == "true", ""
	case widgetRepo:
		return f.parseRepo(form), ""
	case widgetSelect:
		return f.parseChoice(raw)
	case widgetNumber:
		return parseNumber(strings.TrimSpace(raw), f.Type)
	case widgetLines:
		var out []any
		for _, l := range strings.Split(raw, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				out = append(out, l)
			}
		}
		if out == nil {
			return nil, ""
		}
		return out, ""
	case widgetJSON:
		return parseStructured(raw)
	case widgetPassword:
		if raw == "" {
			return nil, ""
		}
		return raw, "" // a secret is taken exactly as typed
	}
	if strings.TrimSpace(raw) == "" {
		return nil, ""
	}
	return strings.TrimSpace(raw), ""
}

// parseRepo composes the RepoUrlPicker value host?owner=…&repo=… from its three inputs.
func (f *field) parseRepo(form url.Values) any {
	host, owner, repo := strings.TrimSpace(form.Get(f.Name+".host")), strings.TrimSpace(form.Get(f.Name+".owner")), strings.TrimSpace(form.Get(f.Name+".repo"))
	if owner == "" && repo == "" {
		return nil
	}
	if host == "" && len(f.RepoHosts) > 0 {
		host = f.RepoHosts[0]
	}
	return host + "?" + url.Values{"owner": {owner}, "repo": {repo}}.Encode()
}

// parseChoice maps a select's value back to the enum value it stands for (which may be a number).
func (f *field) parseChoice(raw string) (any, string) {
	if raw == "" {
		return nil, ""
	}
	for _, e := range f.enum {
		if fmt.Sprint(e) == raw {
			return e, ""
		}
	}
	return nil, fmt.Sprintf("must be one of the listed choices, got %q", raw)
}

func parseStructured(raw string) (any, string) {
	if strings.TrimSpace(raw) == "" {
		return nil, ""
	}
	var v any
	if err := yaml.Unmarshal([]byte(raw), &v); err != nil {
		return nil, "is not valid JSON or YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")
	}
	return v, ""
}

func parseNumber(raw, typ string) (any, string) {
	if raw == "" {
		return nil, ""
	}
	if typ == "integer" {
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return nil, fmt.Sprintf("must be a whole number, got %q", raw)
		}
		return n, ""
	}
	n, err := strconv.ParseFloat(raw, 64)
	if err != nil {
		return nil, fmt.Sprintf("must be a number, got %q", raw)
	}
	return n, ""
}

// fill shows values (and errors by field) in the form. Errors naming no field of the form are returned.
func fill(pages []*formPage, values map[string]any, errs map[string]string) []string {
	known := map[string]bool{}
	for _, p := range pages {
		for _, f := range p.Fields {
			known[f.Name] = true
			if v, ok := values[f.Name]; ok {
				f.set(v)
			}
			f.Error = errs[f.Name]
		}
	}
	var rest []string
	for name, e := range errs {
		if !known[name] {
			if name == "" {
				rest = append(rest, e)
			} else {
				rest = append(rest, name+": "+e)
			}
		}
	}
	sort.Strings(rest)
	return rest
}

// paramErrors maps scaffold's parameter errors to the top-level fields they are about.
func paramErrors(pe scaffold.ParamErrors) map[string]string {
	out := map[string]string{}
	for _, e := range pe {
		name, _, _ := strings.Cut(e.Field, ".")
		if prev, ok := out[name]; ok {
			out[name] = prev + "; " + e.Rule
			continue
		}
		out[name] = e.Rule
	}
	return out
}

// propertyNames reads, from a template.yaml as written, each parameter page's property names in order.
func propertyNames(raw []byte) [][]string {
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil || len(doc.Content) == 0 {
		return nil
	}
	params := lookup(lookup(doc.Content[0], "spec"), "parameters")
	if params == nil {
		return nil
	}
	pages := []*yaml.Node{params}
	if params.Kind == yaml.SequenceNode {
		pages = params.Content
	}
	var out [][]string
	for _, p := range pages {
		var names []string
		if props := lookup(p, "properties"); props != nil && props.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(props.Content); i += 2 {
				names = append(names, props.Content[i].Value)
			}
		}
		out = append(out, names)
	}
	return out
}

func lookup(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func number(v any) string {
	switch n := v.(type) {
	case int, int64, uint64, float64:
		return fmt.Sprint(n)
	}
	return ""
}

func stringList(v any) []string {
	switch t := v.(type) {
	case []string:
		return t
	case []any:
		out := make([]string, 0, len(t))
		for _, x := range t {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func yamlJSON(v any) (string, error) {
	raw, err := yaml.Marshal(v)
	return strings.TrimSpace(string(raw)), err
}
