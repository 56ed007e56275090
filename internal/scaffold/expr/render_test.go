package expr

import (
	"strings"
	"testing"
)

// testVars is a context shaped like the one Backstage gives a template.
func testVars() map[string]any {
	return map[string]any{
		"parameters": map[string]any{
			"name":        "Orders",
			"repoUrl":     "github.com?owner=acme&repo=orders",
			"owner":       "group:default/team-a",
			"port":        8080,
			"ratio":       0.5,
			"enabled":     true,
			"disabled":    false,
			"empty":       "",
			"nothing":     nil,
			"tags":        []any{"go", "api", "orders"},
			"emptyList":   []any{},
			"labels":      map[string]any{"tier": "backend", "app": "orders"},
			"description": "Takes and tracks orders",
			"people": []any{
				map[string]any{"name": "ann", "role": "dev", "age": 31, "active": true},
				map[string]any{"name": "Bob", "role": "ops", "age": 25, "active": false},
				map[string]any{"name": "cid", "role": "dev", "age": 40, "active": true},
			},
		},
		"steps": map[string]any{
			"fetch-base": map[string]any{"output": map[string]any{"path": "./base"}},
			"publish":    map[string]any{"output": map[string]any{"remoteUrl": "https://forge/acme/orders"}},
		},
		"user":   map[string]any{"ref": "user:default/ann", "entity": map[string]any{"metadata": map[string]any{"name": "ann"}}},
		"values": map[string]any{"a": "x", "b": "y"},
	}
}

type renderCase struct {
	name string
	src  string
	want string
}

func runRender(t *testing.T, cases []renderCase, o RenderOptions) {
	t.Helper()
	e := New(Options{})
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.Render(tt.name, tt.src, testVars(), o)
			if err != nil {
				t.Fatalf("Render(%q): %v", tt.src, err)
			}
			if got != tt.want {
				t.Errorf("Render(%q)\n got %q\nwant %q", tt.src, got, tt.want)
			}
		})
	}
}

func TestRenderLookupsAndUndefined(t *testing.T) {
	runRender(t, []renderCase{
		{"dotted", "${{ parameters.name }}", "Orders"},
		{"no spaces", "${{parameters.name}}", "Orders"},
		{"bracket with dash", "${{ steps['fetch-base'].output.path }}", "./base"},
		{"dotted step", "${{ steps.publish.output.remoteUrl }}", "https://forge/acme/orders"},
		{"member of missing is undefined", "[${{ a.b.c }}]", "[]"},
		{"member of null is undefined", "[${{ parameters.nothing.x.y }}]", "[]"},
		{"null renders empty", "[${{ parameters.nothing }}]", "[]"},
		{"array index", "${{ parameters.tags[1] }}", "api"},
		{"index out of range", "[${{ parameters.tags[9] }}]", "[]"},
		{"string index", "${{ parameters.name[0] }}", "O"},
		{"length property", "${{ parameters.tags.length }} ${{ parameters.name.length }}", "3 6"},
		{"computed key", "${{ parameters.labels[values.a + 'x'] }}|${{ parameters.labels['ti' + 'er'] }}", "|backend"},
		{"user entity", "${{ user.entity.metadata.name }}", "ann"},
		{"go methods unreachable", "[${{ parameters.name.Len }}${{ parameters.labels.Keys }}]", "[]"},
	}, RenderOptions{})
}

func TestRenderValuesAsJavaScript(t *testing.T) {
	runRender(t, []renderCase{
		{"bool", "${{ parameters.enabled }} ${{ parameters.disabled }}", "true false"},
		{"array", "${{ parameters.tags }}", "go,api,orders"},
		{"nested array with null", "${{ [1, [2, 3], null] }}", "1,2,3,"},
		{"object", "${{ parameters.labels }}", "[object Object]"},
		{"integer division", "${{ 4 / 2 }}", "2"},
		{"fraction", "${{ 1 / 4 }}", "0.25"},
		{"float from yaml", "${{ parameters.ratio * 3 }}", "1.5"},
		{"big number", "${{ 1e21 }} ${{ 123456789012 }}", "1e+21 123456789012"},
		{"tiny number", "${{ 0.0000001 }}", "1e-7"},
		{"nan", "${{ 'a' * 2 }}", "NaN"},
		{"concat +", "${{ values.a + '/' + values.b }}", "x/y"},
		{"number + string", "${{ parameters.port + '' }}${{ 1 + '2' }}", "808012"},
		{"number + number", "${{ parameters.port + 1 }}", "8081"},
		{"undefined + string", "${{ missing + '/' }}", "undefined/"},
		{"tilde", "${{ parameters.name ~ '-' ~ 1 }}", "Orders-1"},
		{"nunjucks groups + before -", "${{ 'a' + 1 - 1 }}", "a0"},
		{"modulo floor pow", "${{ 7 % 3 }} ${{ 7 // 2 }} ${{ 2 ** 10 }} ${{ -7 // 2 }}", "1 3 1024 -4"},
		{"unary minus", "${{ -parameters.port }}", "-8080"},
		{"loose equality", "${{ 1 == '1' }} ${{ 1 === '1' }} ${{ null == missing }} ${{ 1 != 2 }} ${{ 1 !== 1 }}", "true false true true false"},
		{"comparisons", "${{ 2 < 10 }} ${{ '2' < '10' }} ${{ 3 >= 3 }} ${{ 'b' > 'a' }}", "true false true true"},
		{"and or return operands", "${{ parameters.empty or 'fallback' }} ${{ 'a' and 'b' }} [${{ parameters.nothing and 'x' }}]", "fallback b []"},
		{"not", "${{ not parameters.enabled }} ${{ not parameters.empty }}", "false true"},
		{"in", "${{ 'api' in parameters.tags }} ${{ 'tier' in parameters.labels }} ${{ 'rd' in parameters.name }} ${{ 'x' not in parameters.tags }}", "true true true true"},
		{"inline if", "${{ 'yes' if parameters.enabled else 'no' }} ${{ 'yes' if parameters.disabled else 'no' }}", "yes no"},
		{"inline if without else", "[${{ 'yes' if parameters.disabled }}]", "[]"},
		{"literals", "${{ true }} ${{ false }} [${{ null }}${{ none }}] ${{ True }}", "true false [] true"},
		{"array literal", "${{ ['a', 'b'] | join('-') }}", "a-b"},
		{"object literal with bare keys", "${{ {a: 1, 'b': 2} | dump }}", `{"a":1,"b":2}`},
		{"tuple is an array", "${{ (1, 2) | length }}", "2"},
		{"grouping", "${{ (1 + 2) * 3 }}", "9"},
		{"tests", "${{ missing is defined }} ${{ missing is undefined }} ${{ 4 is even }} ${{ 9 is divisibleby(3) }} ${{ parameters.nothing is none }} ${{ 'x' is string }} ${{ 3 is not odd }}", "false true true true true true false"},
		{"string escapes", `${{ "a\"b" }} ${{ 'it\'s' }} ${{ "x\ty" }}`, "a\"b it's x\ty"},
		{"slice", "${{ parameters.tags[1:] | join(',') }} ${{ parameters.name[:3] }} ${{ parameters.tags[::-1] | join(',') }}", "api,orders Ord orders,api,go"},
		{"string methods", "${{ parameters.name.toLowerCase() }} ${{ 'a-b-c'.split('-')[1] }} ${{ parameters.name.startsWith('Or') }} ${{ 'x.y'.replace('.', '/') }}", "orders b true x/y"},
		{"array methods", "${{ parameters.tags.join('+') }} ${{ parameters.tags.includes('go') }} ${{ parameters.tags.indexOf('api') }}", "go+api+orders true 1"},
		{"range", "${{ range(3) }} ${{ range(1, 4) }} ${{ range(10, 0, -3) }}", "0,1,2 1,2,3 10,7,4,1"},
	}, RenderOptions{})
}

func TestRenderBlocks(t *testing.T) {
	runRender(t, []renderCase{
		{"if elif else", "{% if parameters.disabled %}a{% elif parameters.enabled %}b{% else %}c{% endif %}", "b"},
		{"elseif", "{% if false %}a{% elseif true %}b{% endif %}", "b"},
		{"if else", "{% if parameters.empty %}a{% else %}c{% endif %}", "c"},
		{"empty array is truthy in templates", "{% if parameters.emptyList %}yes{% endif %}", "yes"},
		{"for with loop vars", "{% for t in parameters.tags %}${{ loop.index }}:${{ t }}{% if not loop.last %},{% endif %}{% endfor %}", "1:go,2:api,3:orders"},
		{"loop first index0 revindex length", "{% for t in parameters.tags %}${{ loop.first }}/${{ loop.index0 }}/${{ loop.revindex }}/${{ loop.length }} {% endfor %}", "true/0/3/3 false/1/2/3 false/2/1/3 "},
		{"for else", "{% for t in parameters.emptyList %}x{% else %}none{% endfor %}", "none"},
		{"for over undefined", "{% for t in missing %}x{% else %}none{% endfor %}", "none"},
		{"for k, v over object", "{% for k, v in parameters.labels %}${{ k }}=${{ v }};{% endfor %}", "app=orders;tier=backend;"},
		{"for k, v over literal keeps order", "{% for k, v in {z: 1, a: 2} %}${{ k }}${{ v }}{% endfor %}", "z1a2"},
		{"for destructures pairs", "{% for a, b in [[1, 2], [3, 4]] %}${{ a + b }} {% endfor %}", "3 7 "},
		{"for over objects", "{% for p in parameters.people %}${{ p.name }}{% endfor %}", "annBobcid"},
		{"set", "{% set x = parameters.name | lower %}${{ x }}", "orders"},
		{"set block", "{% set x %}hello ${{ parameters.name }}{% endset %}[${{ x }}]", "[hello Orders]"},
		{"set in loop updates outer", "{% set n = 0 %}{% for t in parameters.tags %}{% set n = n + 1 %}{% endfor %}${{ n }}", "3"},
		{"set in loop stays in loop", "{% for t in parameters.tags %}{% set inner = t %}{% endfor %}[${{ inner }}]", "[]"},
		{"nested loops", "{% for a in [1,2] %}{% for b in ['x','y'] %}${{ a }}${{ b }} {% endfor %}{% endfor %}", "1x 1y 2x 2y "},
		{"comment", "a{# a comment with ${{ x }} #}b", "ab"},
		{"raw", "{% raw %}${{ not rendered }}{% if %}{% endraw %}", "${{ not rendered }}{% if %}"},
		{"whitespace control", "a  \n  {%- if true -%}  \n  b  {%- endif %}\n", "ab\n"},
		{"variable whitespace control", "a  ${{- 'b' -}}  c", "abc"},
		{"comment whitespace control", "a  {#- c -#}  b", "ab"},
		{"github actions syntax untouched", "run: echo {{ github.ref }} $FOO", "run: echo {{ github.ref }} $FOO"},
		{"catalog-info pattern", "metadata:\n  name: ${{parameters.name | dump}}\n  {%- if parameters.description %}\n  description: ${{parameters.description | dump}}\n  {%- endif %}\n  annotations: {}\n",
			"metadata:\n  name: \"Orders\"\n  description: \"Takes and tracks orders\"\n  annotations: {}\n"},
	}, RenderOptions{})
}

func TestRenderWhitespaceOptions(t *testing.T) {
	src := "<ul>\n  {% for t in parameters.tags %}\n  <li>${{ t }}</li>\n  {% endfor %}\n</ul>\n"
	tests := []struct {
		name string
		o    RenderOptions
		want string
	}{
		{"neither", RenderOptions{}, "<ul>\n  \n  <li>go</li>\n  \n  <li>api</li>\n  \n  <li>orders</li>\n  \n</ul>\n"},
		{"trimBlocks", RenderOptions{TrimBlocks: true}, "<ul>\n    <li>go</li>\n    <li>api</li>\n    <li>orders</li>\n  </ul>\n"},
		{"lstripBlocks", RenderOptions{LstripBlocks: true}, "<ul>\n\n  <li>go</li>\n\n  <li>api</li>\n\n  <li>orders</li>\n\n</ul>\n"},
		{"both", RenderOptions{TrimBlocks: true, LstripBlocks: true}, "<ul>\n  <li>go</li>\n  <li>api</li>\n  <li>orders</li>\n</ul>\n"},
	}
	e := New(Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.Render("ws", src, testVars(), tt.o)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestRenderCookiecutter(t *testing.T) {
	e := New(Options{})
	vars := map[string]any{"cookiecutter": map[string]any{"name": "orders", "tags": []any{"a", "b"}}}
	tests := []struct {
		src, want string
	}{
		{"{{ cookiecutter.name }}", "orders"},
		{"{{ cookiecutter.tags | jsonify }}", `["a","b"]`},
		{"{{ cookiecutter.tags | dump }}", `["a","b"]`},
		{"${{ cookiecutter.name }}", "$orders"},
		{"{% if cookiecutter.name %}y{% endif %}", "y"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			got, err := e.Render("cc", tt.src, vars, RenderOptions{Cookiecutter: true})
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	if _, err := e.Render("plain", "${{ 'x' | jsonify }}", nil, RenderOptions{}); err == nil || !strings.Contains(err.Error(), `unknown filter "jsonify"`) {
		t.Errorf("got %v, want jsonify refused outside cookiecutter mode as Backstage does", err)
	}
}

func TestRenderErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"unknown filter", "line one\n${{ x | nope }}", `skel/file.txt: line 2: unknown filter "nope"`},
		{"unclosed expression", "${{ x ", "line 1: unclosed tag"},
		{"unclosed if", "{% if x %}a", "missing {% endif %}"},
		{"unknown tag", "{% include 'x' %}", `unknown or unsupported tag "include"`},
		{"stray endif", "{% endif %}", "unexpected {% endif %}"},
		{"unclosed comment", "{# x", "unclosed comment"},
		{"unclosed string", "${{ 'abc }}", "unclosed string literal"},
		{"bad syntax", "${{ a + }}", "line 1: unexpected end of expression"},
		{"unknown test", "${{ x is nope }}", `unknown test "nope"`},
		{"call undefined", "${{ nope() }}", "unable to call nope, which is undefined"},
		{"in on number", "${{ 'a' in 3 }}", `cannot use "in"`},
		{"bad repo url", "\n\n${{ 'github.com' | parseRepoUrl }}", "line 3: filter \"parseRepoUrl\": invalid repo URL \"github.com\": missing repo"},
	}
	e := New(Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.Render("skel/file.txt", tt.src, map[string]any{}, RenderOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want it to contain %q", err, tt.want)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "skel/file.txt: ") {
				t.Errorf("got error %q, want it to name the template", err)
			}
		})
	}
}

// TestRenderJinjaDictMethods: with Jinja (fetch:cookiecutter), objects have Jinja2's items(), keys(),
// values() and get(); without it (Nunjucks, fetch:template) calling them fails as in Backstage.
func TestRenderJinjaDictMethods(t *testing.T) {
	e := New(Options{})
	ctx, err := DecodeObject([]byte(`{"cookiecutter": {"name": "orders", "b": 2, "a": 1, "items": "own"}}`))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := DecodeObject([]byte(`{"cookiecutter": {"name": "orders", "b": 2, "a": 1}}`))
	o := RenderOptions{Cookiecutter: true, Jinja: true}
	for _, tt := range []struct{ src, want string }{
		{"{% for k, v in cookiecutter.items() %}{{ k }}={{ v }};{% endfor %}", "name=orders;b=2;a=1;"},
		{"{{ cookiecutter.keys() | join(',') }}", "name,b,a"},
		{"{{ cookiecutter.values() | join(',') }}", "orders,2,1"},
		{"{{ cookiecutter.get('name') }} {{ cookiecutter.get('nope', 'x') }} [{{ cookiecutter.get('nope') }}]", "orders x []"},
	} {
		got, err := e.Render("cc", tt.src, plain, o)
		if err != nil || got != tt.want {
			t.Errorf("Render(%q) = %q, %v; want %q", tt.src, got, err, tt.want)
		}
	}
	if got, err := e.Render("cc", "{{ cookiecutter.items }}", ctx, o); err != nil || got != "own" {
		t.Errorf("a member named items = %q, %v; want the member", got, err)
	}
	if _, err := e.Render("cc", "{% for k, v in cookiecutter.items() %}{% endfor %}", plain, RenderOptions{Cookiecutter: true}); err == nil {
		t.Error("items() worked without Jinja; Nunjucks has no dict methods")
	}
}
