package portal

import (
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/goldenpathidp/goldenpath/internal/scaffold"
)

const templateYAML = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: demo
spec:
  type: service
  parameters:
    - title: Details
      required: [name, owner]
      properties:
        name:
          type: string
          pattern: '^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$'
        owner:
          type: string
          ui:field: OwnerPicker
        port:
          type: integer
          default: 8080
          minimum: 1024
        ratio:
          type: number
        registry:
          type: boolean
          default: true
        size:
          type: string
          enum: [small, large]
          default: small
        token:
          type: string
          ui:widget: password
        hosts:
          type: array
          items: {type: string}
    - title: Location
      properties:
        repoUrl:
          type: string
          ui:field: RepoUrlPicker
          ui:options:
            allowedHosts: [goldenpath]
  steps:
    - id: log
      action: debug:log
`

func demoForm(t *testing.T, teams ...string) ([]scaffold.Page, []*formPage) {
	t.Helper()
	tmpl, err := scaffold.Parse("template.yaml", []byte(templateYAML))
	if err != nil {
		t.Fatal(err)
	}
	pages, err := tmpl.Pages()
	if err != nil {
		t.Fatal(err)
	}
	return pages, buildForm(pages, propertyNames([]byte(templateYAML)), teams)
}

func TestBuildForm(t *testing.T) {
	_, form := demoForm(t, "payments")
	var names, widgets []string
	byName := map[string]*field{}
	for _, p := range form {
		for _, f := range p.Fields {
			names, widgets = append(names, f.Name), append(widgets, f.Widget)
			byName[f.Name] = f
		}
	}
	wantNames := []string{"name", "owner", "port", "ratio", "registry", "size", "token", "hosts", "repoUrl"}
	if !reflect.DeepEqual(names, wantNames) {
		t.Errorf("fields in order: got %v, want %v (as written in the template)", names, wantNames)
	}
	wantWidgets := []string{widgetText, widgetOwner, widgetNumber, widgetNumber, widgetCheckbox, widgetSelect, widgetPassword, widgetLines, widgetRepo}
	if !reflect.DeepEqual(widgets, wantWidgets) {
		t.Errorf("widgets: got %v, want %v", widgets, wantWidgets)
	}
	checks := []struct {
		what      string
		got, want any
	}{
		{"name is required", byName["name"].Required, true},
		{"port default", byName["port"].Value, "8080"},
		{"port minimum", byName["port"].Min, "1024"},
		{"port step", byName["port"].Step, "1"},
		{"ratio step", byName["ratio"].Step, "any"},
		{"registry default", byName["registry"].Checked, true},
		{"size default selected", byName["size"].Options[0].Selected, true},
		{"the only team is preselected", byName["owner"].Value, "group:default/payments"},
		{"repo host", byName["repoUrl"].Repo.Host, "goldenpath"},
		{"repo owner is the only team", byName["repoUrl"].Repo.Owner, "payments"},
		{"token is secret", byName["token"].Secret, true},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.what, c.got, c.want)
		}
	}
}

func TestParseForm(t *testing.T) {
	pages, form := demoForm(t, "payments", "search")
	tests := []struct {
		name     string
		in       url.Values
		want     map[string]any
		wantErrs []string
	}{
		{
			name: "every widget",
			in: url.Values{"name": {"orders"}, "owner": {"group:default/search"}, "port": {"9090"}, "ratio": {"0.5"}, "registry": {"true"},
				"size": {"large"}, "token": {"s3cret"}, "hosts": {"a.example\n\n b.example "}, "repoUrl.host": {"goldenpath"},
				"repoUrl.owner": {"search"}, "repoUrl.repo": {"orders"}},
			want: map[string]any{"name": "orders", "owner": "group:default/search", "port": int64(9090), "ratio": 0.5, "registry": true,
				"size": "large", "token": "s3cret", "hosts": []any{"a.example", "b.example"}, "repoUrl": "goldenpath?owner=search&repo=orders"},
		},
		{
			name: "empty inputs are left out; an unchecked box is false",
			in:   url.Values{"name": {"  "}, "port": {""}},
			want: map[string]any{"registry": false},
		},
		{
			name:     "numbers and choices are checked",
			in:       url.Values{"port": {"80.5"}, "ratio": {"x"}, "size": {"huge"}},
			want:     map[string]any{"registry": false},
			wantErrs: []string{"port: must be a whole number", "ratio: must be a number", "size: must be one of the listed choices"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, errs := parseForm(form, tt.in)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("values: got %#v, want %#v", got, tt.want)
			}
			var msgs []string
			for _, e := range errs {
				msgs = append(msgs, e.Field+": "+e.Rule)
			}
			if len(msgs) != len(tt.wantErrs) {
				t.Fatalf("errors: got %v, want %v", msgs, tt.wantErrs)
			}
			for i, want := range tt.wantErrs {
				if !strings.HasPrefix(msgs[i], want) {
					t.Errorf("error %d: got %q, want it to start with %q", i, msgs[i], want)
				}
			}
		})
	}
	// What parseForm produces passes the template's own validation.
	values, _ := parseForm(form, tests[0].in)
	if err := scaffold.ValidateParameters(pages, values); err != nil {
		t.Errorf("valid form values fail validation: %v", err)
	}
}

func TestPropertyOrder(t *testing.T) {
	props := map[string]any{"a": 1, "b": 1, "c": 1, "d": 1}
	tests := []struct {
		name                       string
		written, uiOrder, required []string
		want                       []string
	}{
		{name: "as written", written: []string{"d", "b", "a", "c"}, want: []string{"d", "b", "a", "c"}},
		{name: "unknown order: required first", required: []string{"c"}, want: []string{"c", "a", "b", "d"}},
		{name: "ui:order with a star", written: []string{"a", "b", "c", "d"}, uiOrder: []string{"c", "*", "a"}, want: []string{"c", "b", "d", "a"}},
		{name: "ui:order without a star", written: []string{"a", "b", "c", "d"}, uiOrder: []string{"d"}, want: []string{"d", "a", "b", "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := propertyOrder(props, tt.written, tt.uiOrder, tt.required); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestHTMLPattern(t *testing.T) {
	tests := []struct{ in, want string }{
		{`^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$`, `^[a-z]([a-z0-9\-]{0,38}[a-z0-9])?$`},
		{`^[-a-z]+$`, `^[\-a-z]+$`},
		{`^[^-a]$`, `^[^\-a]$`},
		{`^[a-z0-9._-]*$`, `^[a-z0-9._\-]*$`},
		{`^[a\-b]$`, `^[a\-b]$`},
		{`^[(|)]$`, `^[\(\|\)]$`},
		{`^(a|b)-c$`, `^(a|b)-c$`},
		{`^1\.[0-9]{1,2}$`, `^1\.[0-9]{1,2}$`},
	}
	for _, tt := range tests {
		if got := htmlPattern(tt.in); got != tt.want {
			t.Errorf("htmlPattern(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMarkdown(t *testing.T) {
	s := &Server{o: Options{APIBase: "http://127.0.0.1:7070"}}
	tests := []struct{ name, in, want string }{
		{"paragraph with code and bold", "**orders** is in `payments/orders`.", "<p><strong>orders</strong> is in <code>payments/orders</code>.</p>\n"},
		{"API links become portal pages", "See [#3](http://127.0.0.1:7070/api/v1/changes/3).", `<p>See <a href="/changes/3">#3</a>.</p>` + "\n"},
		{"script links are dropped", "[click](javascript:alert(1))", "<p>click)</p>\n"},
		{"markup is escaped", "<script>alert(1)</script> & `<b>`", "<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; <code>&lt;b&gt;</code></p>\n"},
		{"numbered list with a continuation line", "1. first\n   more\n2. second", "<ol><li>first more</li><li>second</li></ol>\n"},
		{"bullets", "- a\n- b", "<ul><li>a</li><li>b</li></ul>\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(s.markdown(tt.in)); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPortalURL(t *testing.T) {
	s := &Server{o: Options{APIBase: "http://127.0.0.1:7070"}}
	tests := []struct {
		in, want     string
		wantExternal bool
	}{
		{"http://127.0.0.1:7070/api/v1/changes/12", "/changes/12", false},
		{"http://127.0.0.1:7070/api/v1/requests/ecr.dev.orders", "/requests/ecr.dev.orders", false},
		{"http://127.0.0.1:7070/git/payments/orders.git", "http://127.0.0.1:7070/git/payments/orders.git", true},
		{"https://github.com/acme/x", "https://github.com/acme/x", true},
		{"/catalog", "/catalog", false},
		{"//evil.example/x", "", false},
		{"javascript:alert(1)", "", false},
	}
	for _, tt := range tests {
		got, external := s.portalURL(tt.in)
		if got != tt.want || external != tt.wantExternal {
			t.Errorf("portalURL(%q): got %q, %v, want %q, %v", tt.in, got, external, tt.want, tt.wantExternal)
		}
	}
}

// TestSafeNext feeds the sign-in's next parameter the ways an open redirect is usually smuggled past a
// check on the raw string. Every answer must stay on this site when a browser reads it (browserResolve).
func TestSafeNext(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "/"},
		{"/", "/"},
		{"/requests?scope=mine", "/requests?scope=mine"},
		{"/changes/12#reviews", "/changes/12#reviews"},
		{"/catalog?q=a//b", "/catalog?q=a//b"},
		{"/a/b//c", "/a/b//c"},
		{"/%2F%2Fevil.example", "/%2F%2Fevil.example"}, // encoded: a path on this site, not a host
		{"/re\tquests", "/requests"},                   // a stray tab is dropped, as the browser would
		{"//evil.example", "/"},
		{"///evil.example", "/"},
		{"////evil.example", "/"},
		{"/\\evil.example", "/"},
		{"\\/evil.example", "/"},
		{"\\\\evil.example", "/"},
		{"/\t/evil.example", "/"},
		{"/\r/evil.example", "/"},
		{"/\n/evil.example", "/"},
		{"/\r\n/evil.example", "/"},
		{"/\t\\evil.example", "/"},
		{"\t//evil.example", "/"},
		{"/\t\t/evil.example", "/"},
		{" //evil.example", "/"},
		{"\x00//evil.example", "/"},
		{"\x01/evil.example", "/"},
		{"/ /evil.example", "/ /evil.example"}, // a space is kept by browsers (%20): still a path here
		{"/x\x7f", "/"},
		{"https://evil.example", "/"},
		{"HTTPS://evil.example", "/"},
		{"https:evil.example", "/"},
		{"https:/evil.example", "/"},
		{"http:\\\\evil.example", "/"},
		{"javascript:alert(1)", "/"},
		{"java\tscript:alert(1)", "/"},
		{"data:text/html,<script>alert(1)</script>", "/"},
		{"evil.example", "/"},
		{"@evil.example", "/"},
		{"/@evil.example", "/@evil.example"},
		{"?next=//evil.example", "/"},
		{"#//evil.example", "/"},
		{"/signin", "/"},
		{"/signin?next=//evil.example", "/"},
	}
	for _, tt := range tests {
		got := safeNext(tt.in)
		if got != tt.want {
			t.Errorf("safeNext(%q): got %q, want %q", tt.in, got, tt.want)
		}
		if host := browserResolve(t, got); host != "portal.example" {
			t.Errorf("safeNext(%q) = %q, which a browser opens on %q", tt.in, got, host)
		}
	}
}

// browserResolve returns the host a browser on https://portal.example/signin goes to for a Location of
// loc: it drops tabs and newlines, trims controls and spaces and reads backslashes as slashes first, as
// the WHATWG URL parser does for http(s) URLs.
func browserResolve(t *testing.T, loc string) string {
	t.Helper()
	loc = strings.NewReplacer("\t", "", "\r", "", "\n", "").Replace(loc)
	loc = strings.TrimFunc(loc, func(r rune) bool { return r <= ' ' })
	loc = strings.ReplaceAll(loc, "\\", "/")
	ref, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("a browser could not parse %q: %v", loc, err)
	}
	base, _ := url.Parse("https://portal.example/signin")
	return base.ResolveReference(ref).Host
}
