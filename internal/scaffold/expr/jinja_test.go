package expr

import "testing"

func TestJinjaStringMethods(t *testing.T) {
	e := New(Options{})
	env := NewMap()
	env.Set("ZED", "1")
	env.Set("ALPHA", "2")
	vars := map[string]any{"cookiecutter": map[string]any{"name": "My Orders  API", "env": env, "csv": "a,b,c", "items": "own"}}
	tests := []struct{ src, want string }{
		{"{{ cookiecutter.name.lower().replace(' ', '_') }}", "my_orders__api"},
		{"{{ cookiecutter.name.split() | join('-') }}", "My-Orders-API"},
		{"{{ cookiecutter.csv.split(',', 1) | join('|') }}", "a|b,c"},
		{"{{ cookiecutter.name.title() }} {{ 'hello WORLD'.capitalize() }} {{ ' x '.strip() }}!", "My Orders  Api Hello world x!"},
		{"{% for k, v in cookiecutter.env.items() %}{{ k }}={{ v }};{% endfor %}", "ZED=1;ALPHA=2;"},
		{"{{ cookiecutter.env.keys() | join(',') }} {{ cookiecutter.env.get('NOPE', 'd') }}", "ZED,ALPHA d"},
		{"{{ '-'.join(['a', 'b']) }} {{ 'abc'.startswith('ab') }} {{ '42'.isdigit() }}", "a-b true true"},
		{"{{ cookiecutter.items }}", "own"}, // an object's own member wins over the method
	}
	for _, tt := range tests {
		got, err := e.Render("cc", tt.src, vars, RenderOptions{Cookiecutter: true, Jinja: true})
		if err != nil {
			t.Errorf("%s: %v", tt.src, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.src, got, tt.want)
		}
	}
	// Without Jinja (fetch:template, with or without cookiecutterCompat), JavaScript's meaning stays: replace replaces the first occurrence only, and
	// Python's methods do not exist.
	if got, err := e.Render("js", "${{ 'a a'.replace('a', 'b') }}", nil, RenderOptions{}); err != nil || got != "b a" {
		t.Errorf("JavaScript replace: got %q, %v", got, err)
	}
	if got, err := e.Render("cc", "{{ 'a a'.replace('a', 'b') }}", nil, RenderOptions{Cookiecutter: true}); err != nil || got != "b a" {
		t.Errorf("cookiecutterCompat (Nunjucks) replace: got %q, %v", got, err)
	}
	if _, err := e.Render("js", "${{ 'a'.lower() }}", nil, RenderOptions{}); err == nil {
		t.Errorf("lower() outside cookiecutter mode: want an error, as Nunjucks gives")
	}
}
