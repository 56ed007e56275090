package builtin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

// template is the part of a template.yaml the built-in templates use. It is decoded strictly, so a
// misspelt key (paramters, ouput) fails the test instead of being ignored by the engine.
type template struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name        string   `yaml:"name"`
		Title       string   `yaml:"title"`
		Description string   `yaml:"description"`
		Tags        []string `yaml:"tags"`
	} `yaml:"metadata"`
	Spec struct {
		Owner      string           `yaml:"owner"`
		Type       string           `yaml:"type"`
		Parameters []map[string]any `yaml:"parameters"`
		Steps      []step           `yaml:"steps"`
		Output     struct {
			Links []map[string]any `yaml:"links"`
			Text  []map[string]any `yaml:"text"`
		} `yaml:"output"`
	} `yaml:"spec"`
}

type step struct {
	ID     string         `yaml:"id"`
	Name   string         `yaml:"name"`
	Action string         `yaml:"action"`
	If     any            `yaml:"if"`
	Input  map[string]any `yaml:"input"`
}

// actionOutputs lists the outputs of the actions the templates use, as goldenpath's engine provides them.
func actionOutputs() map[string][]string {
	request := []string{"requestId", "changeNumber", "changeUrl", "contractPath"}
	return map[string][]string{
		"fetch:template":            nil,
		"publish:github":            {"remoteUrl", "repoContentsUrl", "commitHash"},
		"catalog:register":          {"entityRef", "catalogInfoUrl"},
		"goldenpath:request:create": request,
		"github:actions:dispatch":   request,
	}
}

func loadTemplate(t *testing.T, name string) *template {
	t.Helper()
	raw, err := fs.ReadFile(FS, "templates/"+name+"/template.yaml")
	if err != nil {
		t.Fatalf("reading %s: %v", name, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	var tm template
	if err := dec.Decode(&tm); err != nil {
		t.Fatalf("%s/template.yaml: %v", name, err)
	}
	return &tm
}

func TestNamesMatchTheEmbeddedTree(t *testing.T) {
	entries, err := fs.ReadDir(FS, "templates")
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if !e.IsDir() {
			t.Errorf("templates/%s: got a file, want only template directories", e.Name())
			continue
		}
		dirs = append(dirs, e.Name())
		if _, err := fs.Stat(FS, "templates/"+e.Name()+"/template.yaml"); err != nil {
			t.Errorf("templates/%s: has no template.yaml", e.Name())
		}
	}
	names := Names()
	sorted := slices.Clone(names)
	sort.Strings(sorted)
	if !slices.Equal(sorted, dirs) {
		t.Errorf("Names(): got %v, want the directories %v", names, dirs)
	}
	if names[0] != "app-template" || names[1] != "stateful-app-template" {
		t.Errorf("Names(): got %v first, want the service templates app-template, stateful-app-template first", names[:2])
	}
	names[0] = "changed"
	if Names()[0] != "app-template" {
		t.Error("Names(): changing the returned slice changed the next result")
	}
}

func TestTemplateStructure(t *testing.T) {
	known := actionOutputs()
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			tm := loadTemplate(t, name)
			if tm.APIVersion != "scaffolder.backstage.io/v1beta3" || tm.Kind != "Template" {
				t.Errorf("got %s %s, want scaffolder.backstage.io/v1beta3 Template", tm.APIVersion, tm.Kind)
			}
			if tm.Metadata.Name != name {
				t.Errorf("metadata.name: got %q, want the directory name %q", tm.Metadata.Name, name)
			}
			if tm.Metadata.Title == "" || tm.Metadata.Description == "" {
				t.Error("metadata: title and description are shown in the template list; want both")
			}
			if tm.Spec.Type == "" || tm.Spec.Owner == "" {
				t.Errorf("spec: got type %q owner %q, want both set", tm.Spec.Type, tm.Spec.Owner)
			}
			if len(tm.Spec.Steps) == 0 {
				t.Fatal("spec.steps: got none")
			}
			seen := map[string]bool{}
			for i, s := range tm.Spec.Steps {
				if s.ID == "" || s.Name == "" {
					t.Errorf("spec.steps[%d]: got id %q name %q, want both", i, s.ID, s.Name)
				}
				if seen[s.ID] {
					t.Errorf("spec.steps[%d]: id %q is used twice", i, s.ID)
				}
				seen[s.ID] = true
				if _, ok := known[s.Action]; !ok {
					t.Errorf("spec.steps[%d] (%s): action %q is not one goldenpath provides to built-in templates", i, s.ID, s.Action)
				}
			}
			checkOutput(t, tm)
		})
	}
}

// checkOutput wants every template to end with a link to the change request it opened and markdown text
// saying what happens next; the service templates also link the repository and the catalog entity.
func checkOutput(t *testing.T, tm *template) {
	t.Helper()
	links := map[string]bool{}
	for i, l := range tm.Spec.Output.Links {
		title, _ := l["title"].(string)
		url, _ := l["url"].(string)
		ref, _ := l["entityRef"].(string)
		if title == "" || (url == "") == (ref == "") {
			t.Errorf("spec.output.links[%d]: got %v, want a title and exactly one of url, entityRef", i, l)
		}
		for _, out := range []string{"remoteUrl", "entityRef", "changeUrl"} {
			if strings.Contains(url+ref, ".output."+out) {
				links[out] = true
			}
		}
	}
	want := []string{"changeUrl"}
	if tm.Spec.Type == "service" {
		want = append(want, "remoteUrl", "entityRef")
	}
	for _, w := range want {
		if !links[w] {
			t.Errorf("spec.output.links: got none to a step's %s, want one", w)
		}
	}
	if len(tm.Spec.Output.Text) == 0 {
		t.Fatal("spec.output.text: got none, want an explanation of what happens next")
	}
	content, _ := tm.Spec.Output.Text[0]["content"].(string)
	if !strings.Contains(content, "approv") {
		t.Errorf("spec.output.text[0].content: got %q, want it to say that an approver must approve", content)
	}
}

// stripUI removes react-jsonschema-form's ui:* keys, which are not JSON Schema.
func stripUI(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if !strings.HasPrefix(k, "ui:") {
				out[k] = stripUI(e)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = stripUI(e)
		}
		return out
	}
	return v
}

// toJSONValue turns a YAML-decoded value into what the JSON Schema validator expects.
func toJSONValue(t *testing.T, v any) any {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// compileSchema compiles doc as JSON Schema; react-jsonschema-form speaks draft-07 unless told otherwise.
func compileSchema(t *testing.T, url string, doc any) (*jsonschema.Schema, error) {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	if err := c.AddResource(url, toJSONValue(t, doc)); err != nil {
		return nil, err
	}
	return c.Compile(url)
}

type page struct {
	title  string
	schema *jsonschema.Schema
	props  map[string]any
}

func compilePages(t *testing.T, name string, tm *template) []page {
	t.Helper()
	var pages []page
	for i, p := range tm.Spec.Parameters {
		sch, err := compileSchema(t, fmt.Sprintf("https://goldenpath.test/%s/page%d.json", name, i), stripUI(p))
		if err != nil {
			t.Fatalf("spec.parameters[%d]: not a valid JSON Schema: %v", i, err)
		}
		props, _ := p["properties"].(map[string]any)
		title, _ := p["title"].(string)
		pages = append(pages, page{title: title, schema: sch, props: props})
	}
	return pages
}

func TestParameterPages(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			tm := loadTemplate(t, name)
			if len(tm.Spec.Parameters) == 0 {
				t.Fatal("spec.parameters: got none, want at least one page")
			}
			for i, p := range compilePages(t, name, tm) {
				if p.title == "" {
					t.Errorf("spec.parameters[%d]: got no title, want one (it names the wizard page)", i)
				}
				required, _ := tm.Spec.Parameters[i]["required"].([]any)
				for _, r := range required {
					if _, ok := p.props[fmt.Sprint(r)]; !ok {
						t.Errorf("spec.parameters[%d].required: %q is not a property of the page", i, r)
					}
				}
				for field, prop := range p.props {
					m, _ := prop.(map[string]any)
					if m["title"] == nil || m["type"] == nil {
						t.Errorf("spec.parameters[%d].properties.%s: got %v, want a title and a type", i, field, m)
					}
				}
			}
		})
	}
}

var (
	exprRe  = regexp.MustCompile(`\$\{\{(.*?)\}\}|\{%-?(.*?)-?%\}`)
	paramRe = regexp.MustCompile(`\bparameters\.([A-Za-z0-9_]+)`)
	stepRe  = regexp.MustCompile(`\bsteps(?:\.([A-Za-z0-9_]+)|\['([^']+)'\])(\.output\.([A-Za-z0-9_]+))?([-A-Za-z0-9_]*)`)
)

// refs lists the expressions in every string under v.
func refs(v any) []string {
	var out []string
	switch x := v.(type) {
	case string:
		for _, m := range exprRe.FindAllStringSubmatch(x, -1) {
			out = append(out, m[1]+m[2])
		}
	case map[string]any:
		for _, e := range x {
			out = append(out, refs(e)...)
		}
	case []any:
		for _, e := range x {
			out = append(out, refs(e)...)
		}
	case []map[string]any:
		for _, e := range x {
			out = append(out, refs(e)...)
		}
	}
	return out
}

// TestExpressionReferences checks that every expression names a declared parameter, or the output of an
// earlier step that its action really produces: a typo here would render as an empty string at run time.
func TestExpressionReferences(t *testing.T) {
	outputs := actionOutputs()
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			tm := loadTemplate(t, name)
			declared := map[string]bool{}
			for _, p := range tm.Spec.Parameters {
				props, _ := p["properties"].(map[string]any)
				for k := range props {
					declared[k] = true
				}
			}
			actions := map[string]string{} // steps before the current one
			check := func(where string, exprs []string) {
				for _, e := range exprs {
					for _, m := range paramRe.FindAllStringSubmatch(e, -1) {
						if !declared[m[1]] {
							t.Errorf("%s: ${{ %s }}: parameter %q is not declared", where, strings.TrimSpace(e), m[1])
						}
					}
					for _, m := range stepRe.FindAllStringSubmatch(e, -1) {
						id, out, tail := m[1]+m[2], m[4], m[5]
						action, ok := actions[id]
						switch {
						case tail != "":
							t.Errorf("%s: %q: a step id with '-' needs steps['%s%s']", where, m[0], id, tail)
						case !ok:
							t.Errorf("%s: %q: no earlier step has id %q", where, m[0], id)
						case !slices.Contains(outputs[action], out):
							t.Errorf("%s: %q: %s has no output %q (it has %v)", where, m[0], action, out, outputs[action])
						}
					}
				}
			}
			for _, s := range tm.Spec.Steps {
				check("step "+s.ID, append(refs(s.Input), refs(s.If)...))
				actions[s.ID] = s.Action
			}
			check("output.links", refs(tm.Spec.Output.Links))
			check("output.text", refs(tm.Spec.Output.Text))
		})
	}
}

// fetchStep returns the template's fetch:template step, if any.
func fetchStep(tm *template) (step, bool) {
	for _, s := range tm.Spec.Steps {
		if s.Action == "fetch:template" {
			return s, true
		}
	}
	return step{}, false
}

// TestSkeletonFiles checks the split between rendered and verbatim files: only *.njk files are rendered,
// so they may use ${{ values.x }} (for values the fetch step passes), and no other file may, or the user
// would get a literal placeholder.
func TestSkeletonFiles(t *testing.T) {
	for _, name := range Names() {
		tm := loadTemplate(t, name)
		fetch, ok := fetchStep(tm)
		if !ok {
			continue
		}
		t.Run(name, func(t *testing.T) {
			if fetch.Input["url"] != "./skeleton" || fetch.Input["templateFileExtension"] != true {
				t.Fatalf("fetch step input: got url %v templateFileExtension %v, want ./skeleton and true",
					fetch.Input["url"], fetch.Input["templateFileExtension"])
			}
			values, _ := fetch.Input["values"].(map[string]any)
			dir := "templates/" + name + "/skeleton"
			err := fs.WalkDir(FS, dir, func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				raw, err := fs.ReadFile(FS, p)
				if err != nil {
					return err
				}
				checkSkeletonFile(t, p, string(raw), values)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func checkSkeletonFile(t *testing.T, p, content string, values map[string]any) {
	t.Helper()
	if strings.Contains(p, "${{") {
		t.Errorf("%s: paths are not templated in the built-in skeletons", p)
	}
	if path.Ext(p) != ".njk" {
		if strings.Contains(content, "${{ values") || strings.Contains(content, "{%") {
			t.Errorf("%s: uses template syntax but is copied verbatim; name it %s.njk", p, path.Base(p))
		}
		return
	}
	if strings.Contains(content, "{#") {
		t.Errorf("%s: contains {#, which Nunjucks reads as a comment", p)
	}
	for _, m := range exprRe.FindAllStringSubmatch(content, -1) {
		e := strings.TrimSpace(m[1] + m[2])
		e = strings.TrimPrefix(strings.TrimPrefix(e, "if "), "elif ")
		if e == "else" || e == "endif" {
			continue
		}
		if !strings.HasPrefix(e, "values.") {
			t.Errorf("%s: expression %q: skeletons see only values.*", p, e)
			continue
		}
		key := strings.FieldsFunc(strings.TrimPrefix(e, "values."), func(r rune) bool { return r == '.' || r == ' ' || r == '|' })[0]
		if _, ok := values[key]; !ok {
			t.Errorf("%s: expression %q: the fetch step passes no value %q", p, e, key)
		}
	}
}

func TestNoGoPackageInTheTree(t *testing.T) {
	// A go.mod would cut the directory out of this module (and out of go:embed); .go files would be built
	// and vetted as a package of goldenpath itself.
	err := fs.WalkDir(FS, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if base := path.Base(p); base == "go.mod" || base == "go.sum" || path.Ext(p) == ".go" {
			t.Errorf("%s: Go files in the skeletons must end in .njk", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestDotfilesAreEmbedded(t *testing.T) {
	for _, name := range []string{"app-template", "stateful-app-template"} {
		for _, f := range []string{".gitignore", ".dockerignore", ".github/workflows/build-deploy.yml"} {
			if _, err := fs.Stat(FS, "templates/"+name+"/skeleton/"+f); err != nil {
				t.Errorf("%s: %s is not embedded: %v", name, f, err)
			}
		}
	}
}

// TestSharedSkeletonFiles keeps the two service skeletons from drifting apart where they should not differ.
func TestSharedSkeletonFiles(t *testing.T) {
	for _, f := range []string{".gitignore", ".dockerignore", "Dockerfile", ".github/workflows/build-deploy.yml",
		"go.mod.njk", "mkdocs.yml.njk"} {
		a, errA := fs.ReadFile(FS, "templates/app-template/skeleton/"+f)
		b, errB := fs.ReadFile(FS, "templates/stateful-app-template/skeleton/"+f)
		if errA != nil || errB != nil {
			t.Errorf("%s: %v %v", f, errA, errB)
			continue
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s: differs between app-template and stateful-app-template; want the same file", f)
		}
	}
}
