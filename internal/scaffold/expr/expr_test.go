package expr

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestEvaluateKeepsTypes(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want any
	}{
		{"number", "${{ parameters.port }}", 8080},
		{"float", "${{ parameters.ratio }}", 0.5},
		{"computed number", "${{ parameters.port + 1 }}", 8081},
		{"bool", "${{ parameters.enabled }}", true},
		{"false", "${{ parameters.disabled }}", false},
		{"string", "${{ parameters.name }}", "Orders"},
		{"array", "${{ parameters.tags }}", []any{"go", "api", "orders"}},
		{"object", "${{ parameters.labels }}", map[string]any{"tier": "backend", "app": "orders"}},
		{"filtered object", "${{ parameters.repoUrl | parseRepoUrl }}", map[string]any{"host": "github.com", "owner": "acme", "repo": "orders"}},
		// Backstage types a value only when it is exactly one expression: whitespace around it (a block
		// scalar's final newline) makes it a string that keeps its whitespace.
		{"surrounding whitespace is a string", "  ${{ parameters.port }}\n", "  8080\n"},
		{"no spaces", "${{parameters.port}}", 8080},
		{"undefined is nil", "${{ parameters.nope }}", nil},
		{"empty string stays", "${{ parameters.empty }}", ""},
		{"null is nil", "${{ parameters.nothing }}", nil},
		{"inline if without else is an empty string", "${{ parameters.x if parameters.x }}", ""},
		{"one tag that renders JSON is typed", "{% if parameters.enabled %}42{% endif %}", 42},
		{"inline if picks", "${{ parameters.targetPath if parameters.targetPath else parameters.name }}", "Orders"},
		{"nan is nil", "${{ 'a' * 1 }}", nil},
		{"mixed text is a string", "port ${{ parameters.port }}", "port 8080"},
		{"two expressions are a string", "${{ parameters.port }}${{ parameters.port }}", "80808080"},
		{"bool in text", "enabled: ${{ parameters.enabled }}", "enabled: true"},
		{"text rendering empty is nil", "${{ parameters.empty }}${{ parameters.nope }}", nil},
		{"block rendering", "{% if parameters.enabled %}on{% endif %}", "on"},
		{"plain string", "hello", "hello"},
		{"number passes through", 42, 42},
		{"bool passes through", true, true},
		{"nil passes through", nil, nil},
		{"object literal", "${{ {a: parameters.port, b: [1, 'x']} }}", map[string]any{"a": 8080, "b": []any{1, "x"}}},
		{"undefined member dropped", "${{ {a: 1, b: nope} }}", map[string]any{"a": 1}},
		{"undefined array item is nil", "${{ [1, nope] }}", []any{1, nil}},
		{"nested structure", map[string]any{
			"values":                 map[string]any{"name": "${{ parameters.name | lower }}", "port": "${{ parameters.port }}"},
			"list":                   []any{"${{ parameters.enabled }}", "x-${{ parameters.port }}", 3},
			"${{ parameters.name }}": "keys are not templated",
		}, map[string]any{
			"values":                 map[string]any{"name": "orders", "port": 8080},
			"list":                   []any{true, "x-8080", 3},
			"${{ parameters.name }}": "keys are not templated",
		}},
		{"github actions syntax in a step is left", "echo {{ x }}", "echo {{ x }}"},
	}
	e := New(Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.Evaluate(tt.in, testVars())
			if err != nil {
				t.Fatalf("Evaluate(%#v): %v", tt.in, err)
			}
			if !reflect.DeepEqual(Unordered(got), tt.want) {
				t.Errorf("Evaluate(%#v)\n got %#v\nwant %#v", tt.in, got, tt.want)
			}
		})
	}
}

func TestEvaluateErrorsNamePathAndExpression(t *testing.T) {
	e := New(Options{})
	in := map[string]any{"input": map[string]any{"values": map[string]any{"name": "${{ parameters.x | nope }}"}}}
	_, err := e.Evaluate(in, testVars())
	want := `input.values.name: ${{ parameters.x | nope }}: unknown filter "nope"`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	_, err = e.Evaluate(map[string]any{"description": "line one\n${{ parameters.x | nope }}"}, testVars())
	if err == nil || !strings.Contains(err.Error(), `: line 2: unknown filter "nope"`) {
		t.Errorf("got %v, want a multi-line value's error to name line 2", err)
	}
	_, err = e.Evaluate([]any{"ok", map[string]any{"url": "${{ 'x' | parseRepoUrl }}"}}, testVars())
	if err == nil || !strings.HasPrefix(err.Error(), "[1].url: ${{ 'x' | parseRepoUrl }}: ") {
		t.Errorf("got %v, want it to start with the path [1].url and the expression", err)
	}
}

func TestEvaluateDoesNotModifyInput(t *testing.T) {
	in := map[string]any{"a": "${{ parameters.port }}", "b": []any{"${{ parameters.name }}"}}
	if _, err := New(Options{}).Evaluate(in, testVars()); err != nil {
		t.Fatal(err)
	}
	if in["a"] != "${{ parameters.port }}" || in["b"].([]any)[0] != "${{ parameters.name }}" {
		t.Errorf("got input %#v after Evaluate, want it unchanged", in)
	}
}

func TestTruthy(t *testing.T) {
	tests := []struct {
		v    any
		want bool
	}{
		{false, false}, {nil, false}, {undefined{}, false}, {"", false}, {0, false}, {0.0, false},
		{math.NaN(), false}, {[]any{}, false}, {[]string{}, false},
		{true, true}, {"false", true}, {"0", true}, {1, true}, {-1.5, true}, {[]any{0}, true},
		{map[string]any{}, true}, {map[string]any{"a": 1}, true}, {int64(3), true},
	}
	for _, tt := range tests {
		if got := Truthy(tt.v); got != tt.want {
			t.Errorf("Truthy(%#v) = %v, want %v", tt.v, got, tt.want)
		}
	}
}

func TestStepIfWithEvaluate(t *testing.T) {
	// A step's `if` is evaluated, then judged with Truthy: an empty list skips the step.
	tests := []struct {
		expr string
		want bool
	}{
		{"${{ parameters.enabled }}", true},
		{"${{ parameters.disabled }}", false},
		{"${{ parameters.emptyList }}", false},
		{"${{ parameters.tags }}", true},
		{"${{ parameters.nope }}", false},
		{"${{ parameters.name === 'Orders' }}", true},
		{"${{ parameters.port > 9000 }}", false},
	}
	e := New(Options{})
	for _, tt := range tests {
		v, err := e.Evaluate(tt.expr, testVars())
		if err != nil {
			t.Fatal(err)
		}
		if got := Truthy(v); got != tt.want {
			t.Errorf("if %s: got %v, want %v", tt.expr, got, tt.want)
		}
	}
}

func TestRedact(t *testing.T) {
	tests := []struct {
		s       string
		secrets []string
		want    string
	}{
		{"token=abc123 again abc123", []string{"abc123"}, "token=*** again ***"},
		{"pw=hunter2", []string{"", "hunter2"}, "pw=***"},
		{"nothing here", nil, "nothing here"},
		{"key=supersecret", []string{"secret", "supersecret"}, "key=***"},
		{"a=x1 b=y2", []string{"x1", "y2"}, "a=*** b=***"},
	}
	for _, tt := range tests {
		if got := Redact(tt.s, tt.secrets); got != tt.want {
			t.Errorf("Redact(%q, %q) = %q, want %q", tt.s, tt.secrets, got, tt.want)
		}
	}
}

func TestLimits(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		src  string
		want string
	}{
		{"huge range", Options{}, "${{ range(1e9) | length }}", "range of 1000000000 items exceeds the limit of 10000"},
		{"loop over huge range", Options{}, "{% for i in range(1000000000) %}x{% endfor %}", "exceeds the limit"},
		{"loop over long list", Options{MaxLoop: 10}, "{% for c in [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16] %}x{% endfor %}", "a loop of 16 items exceeds the limit of 10"},
		{"list of a long string", Options{MaxLoop: 10}, "${{ 'abcdefghijklmnop' | list }}", "a list of 16 items exceeds the limit of 10"},
		{"output limit", Options{MaxOutputBytes: 1000}, "{% for i in range(2000) %}x{% endfor %}", "output exceeds 1000 bytes"},
		{"100 MB of output", Options{}, "{% for i in range(10000) %}{% for j in range(10000) %}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx{% endfor %}{% endfor %}", "output exceeds 4194304 bytes"},
		{"doubling string", Options{}, "{% set s = 'xxxxxxxx' %}{% for i in range(40) %}{% set s = s + s %}{% endfor %}${{ s | length }}", "exceeds the output limit"},
		{"replace blow-up", Options{MaxOutputBytes: 1 << 16}, "{% set s = 'x' %}{% for i in range(30) %}{% set s = s | replace('', s) %}{% endfor %}", "exceeds the output limit"},
		{"timeout", Options{Timeout: 50 * time.Millisecond, MaxOutputBytes: 1}, "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}", "rendering took longer than 50ms"},
		{"deep nesting", Options{}, strings.Repeat("{% if true %}", 500) + strings.Repeat("{% endif %}", 500), "nests deeper than"},
		{"deep parentheses", Options{}, "${{ " + strings.Repeat("(", 5000) + "1" + strings.Repeat(")", 5000) + " }}", "nests deeper than"},
		{"long operator chain", Options{}, "${{ 1" + strings.Repeat(" + 1", 50000) + " }}", "nests deeper than"},
		{"deep not", Options{}, "${{ " + strings.Repeat("not ", 5000) + "x }}", "nests deeper than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := New(tt.o).Render("limits", tt.src, nil, RenderOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got error %v, want one containing %q", err, tt.want)
			}
			if !errors.Is(err, ErrLimit) {
				t.Errorf("got error %v, want it to wrap ErrLimit", err)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("took %s, want the limit to stop it quickly", d)
			}
		})
	}
}

type secretHolder struct {
	Password string
}

func (secretHolder) Reveal() string { return "revealed" }

func TestSandbox(t *testing.T) {
	vars := map[string]any{
		"obj":  secretHolder{Password: "hunter2"},
		"ptr":  &secretHolder{Password: "hunter2"},
		"fn":   func() string { return "called" },
		"strs": []string{"a", "b"},
		"m":    map[string]string{"k": "v"},
		"n":    int64(7),
	}
	tests := []struct {
		src, want string
	}{
		{"[${{ obj.Password }}${{ ptr.Password }}${{ obj }}]", "[]"},
		{"[${{ ptr.Reveal }}]", "[]"},
		{"${{ strs | join('+') }} ${{ m.k }} ${{ n + 1 }}", "a+b v 8"},
		{"[${{ parameters.__proto__ }}${{ ''.constructor }}]", "[]"},
	}
	e := New(Options{})
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			got, err := e.Render("sandbox", tt.src, vars, RenderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	for _, src := range []string{"${{ ptr.Reveal() }}", "${{ fn() }}"} {
		if _, err := e.Render("sandbox", src, vars, RenderOptions{}); err == nil || !strings.Contains(err.Error(), "unable to call") {
			t.Errorf("Render(%q): got %v, want a refusal to call Go code", src, err)
		}
	}
}

func TestEngineIsSafeForConcurrentUse(t *testing.T) {
	e := New(Options{})
	done := make(chan error)
	for i := 0; i < 8; i++ {
		go func() {
			for j := 0; j < 50; j++ {
				out, err := e.Render("c", "{% for t in parameters.tags %}${{ t | upper }}{% endfor %}", testVars(), RenderOptions{})
				if err == nil && out != "GOAPIORDERS" {
					err = errors.New("got " + out)
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for i := 0; i < 8; i++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

func FuzzEvaluate(f *testing.F) {
	seeds := []string{
		"${{ parameters.name }}", "${{ parameters.repoUrl | parseRepoUrl }}", "x ${{ a.b.c }} y",
		"{% for t in parameters.tags %}${{ loop.index }}{% endfor %}", "{% if x %}a{% elif y %}b{% else %}c{% endif %}",
		"${{ 'a' + 1 - 1 }}", "${{ {a: [1, 2], 'b': none} | dump(2) }}", "${{ range(5) | batch(2) }}",
		"{% raw %}${{ x }}{% endraw %}", "{# c #}", "${{ 'x' | replace(r/x/g, '$&$&') }}", "${{ x[1:2:3] }}",
		"{% set a, b = 1 %}${{ a }}", "${{ parameters.owner | parseEntityRef | pick('name') }}",
		"${{ range(100) | join | replace('', 'xx') }}", "${{ 'abc'.split('')[0].toUpperCase() }}",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	e := New(Options{Timeout: 200 * time.Millisecond, MaxOutputBytes: 1 << 16, MaxLoop: 1000})
	f.Fuzz(func(t *testing.T, src string) {
		start := time.Now()
		v, err := e.Evaluate(map[string]any{"a": src, "b": []any{src}}, testVars())
		if err != nil && strings.Contains(err.Error(), "internal error") {
			t.Fatalf("Evaluate(%q) panicked: %v", src, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("Evaluate(%q) took %s, beyond the 200ms limit (twice)", src, d)
		}
		if err == nil {
			if s, ok := v.(map[string]any)["a"].(string); ok && len(s) > 1<<16 {
				t.Fatalf("Evaluate(%q) returned %d bytes, over the output limit", src, len(s))
			}
		}
	})
}

func TestParseCacheKeepsNamesAndDialects(t *testing.T) {
	e := New(Options{})
	for _, name := range []string{"first.txt", "second.txt"} {
		_, err := e.Render(name, "${{ x | nope }}", nil, RenderOptions{})
		if err == nil || !strings.HasPrefix(err.Error(), name+": ") {
			t.Errorf("got %v, want the error of a cached parse to name %s", err, name)
		}
	}
	src := "{{ cookiecutter.x }}${{ values.x }}"
	vars := map[string]any{"cookiecutter": map[string]any{"x": "c"}, "values": map[string]any{"x": "v"}}
	for _, tt := range []struct {
		o    RenderOptions
		want string
	}{{RenderOptions{}, "{{ cookiecutter.x }}v"}, {RenderOptions{Cookiecutter: true}, "c$v"}, {RenderOptions{}, "{{ cookiecutter.x }}v"}} {
		got, err := e.Render("t", src, vars, tt.o)
		if err != nil || got != tt.want {
			t.Errorf("Render with %+v: got %q, %v; want %q", tt.o, got, err, tt.want)
		}
	}
}
