package expr

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

const pw = "Hunter2-Zebra"

func secretVars() map[string]any {
	return map[string]any{
		"parameters": map[string]any{"name": "orders", "pw": NewSecret(pw), "list": []any{"plain", NewSecret("s3cret")}},
		"secrets":    map[string]any{"token": NewSecret("tok-XYZ")},
	}
}

// TestEvaluateTaint checks that every value computed from a secret comes back as a Secret, however it was
// computed, and that values that did not use one stay plain.
func TestEvaluateTaint(t *testing.T) {
	e := New(Options{})
	tests := []struct {
		expr   string
		secret bool
		want   any // the revealed value
	}{
		{"${{ parameters.name }}", false, "orders"},
		{"${{ parameters.name | upper }}", false, "ORDERS"},
		{"${{ parameters.list[0] }}", false, "plain"},
		{"${{ parameters.list | length }}", true, 2}, // a filter reads the whole list, secret item included
		{"${{ parameters.pw }}", true, pw},
		{"${{ secrets.token }}", true, "tok-XYZ"},
		{"${{ parameters.pw | upper }}", true, strings.ToUpper(pw)},
		{"${{ parameters.pw | lower | reverse }}", true, "arbez-2retnuh"},
		{"${{ parameters.pw.substring(2, 6) }}", true, "nter"},
		{"${{ parameters.pw[0] }}", true, "H"},
		{"${{ parameters.pw.split('-') | join('+') }}", true, "Hunter2+Zebra"},
		{"${{ parameters.pw ~ '!' }}", true, pw + "!"},
		{"${{ parameters.name + parameters.pw }}", true, "orders" + pw},
		{"${{ parameters.pw.length }}", true, len(pw)},
		{"${{ 'a' if parameters.pw.startsWith('H') else 'b' }}", true, "a"},
		{"${{ parameters | dump }}", true, nil}, // checked below: it holds the secret
		{"${{ [parameters.pw] | first }}", true, pw},
		{"${{ {k: parameters.pw} }}", true, map[string]any{"k": pw}},
		{"${{ parameters.list[1] | replace('s', 'S') }}", true, "S3cret"},
		{"x ${{ parameters.pw | upper }} y", true, "x " + strings.ToUpper(pw) + " y"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			got, err := e.Evaluate(tt.expr, secretVars())
			if err != nil {
				t.Fatal(err)
			}
			if _, isSecret := got.(Secret); isSecret != tt.secret {
				t.Fatalf("Evaluate(%s) = %#v (%T), want secret=%v", tt.expr, got, got, tt.secret)
			}
			revealed := Unordered(Reveal(got))
			if tt.want != nil && !reflect.DeepEqual(revealed, tt.want) {
				t.Errorf("revealed %#v, want %#v", revealed, tt.want)
			}
			if tt.secret {
				raw, _ := json.Marshal(got)
				if strings.Contains(string(raw), "Hunter") || strings.Contains(fmt.Sprint(got), "Hunter") {
					t.Errorf("a Secret marshals or prints as %s", raw)
				}
				lits := Literals(got)
				if s, ok := revealed.(string); ok && !strings.Contains(Redact(s, lits), "***") {
					t.Errorf("its literals %q do not redact %q", lits, s)
				}
			}
		})
	}
}

// TestEvaluateKeepsSecretMembers: an object with one secret member keeps the others plain, so that
// `values: ${{ parameters }}` does not make every value secret.
func TestEvaluateKeepsSecretMembers(t *testing.T) {
	got, err := New(Options{}).Evaluate("${{ parameters }}", secretVars())
	if err != nil {
		t.Fatal(err)
	}
	m, ok := AsMap(got)
	if !ok {
		t.Fatalf("got %T, want a map", got)
	}
	if m["name"] != "orders" {
		t.Errorf("got name %#v, want plain orders", m["name"])
	}
	if _, ok := m["pw"].(Secret); !ok {
		t.Errorf("got pw %#v, want a Secret", m["pw"])
	}
	if got, _ := AsMap(Conceal(got)); got["pw"] != "***" || got["name"] != "orders" {
		t.Errorf("Conceal = %v", got)
	}
}

// TestRenderTaint checks text templates: the parts computed from a secret are reported, and the whole
// text when control flow depended on one.
func TestRenderTaint(t *testing.T) {
	e := New(Options{})
	tests := []struct {
		name, text string
		want       string // Render's redacted output
		all        bool
	}{
		{"plain", "name=${{ parameters.name }}", "name=orders", false},
		{"output", "key=${{ parameters.pw | reverse }}!", "key=***!", false},
		{"two outputs", "${{ parameters.name }}:${{ secrets.token | lower }}", "orders:***", false},
		{"set", "{% set x = parameters.pw | upper %}v=${{ x }}", "v=***", false},
		{"set then transform", "{% set x = parameters.pw %}v=${{ x | reverse }}", "v=***", false},
		{"block set", "{% set x %}[${{ parameters.pw }}]{% endset %}v=${{ x | upper }}", "v=***", false},
		{"loop over items", "{% for x in parameters.list %}${{ x }};{% endfor %}", "plain;***;", false},
		{"if on a secret", "{% if parameters.pw[0] == 'H' %}starts with H{% endif %}", "***", true},
		{"loop on a secret", "{% for c in parameters.pw | list %}.{% endfor %}", "***", true},
		{"ternary", "v=${{ 'yes' if parameters.pw.length > 3 else 'no' }}", "v=***", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, secret, err := e.RenderTracked("t", tt.text, secretVars(), RenderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := Redact(out, secret); got != tt.want {
				t.Errorf("redacted %q, want %q (secret parts %q)", got, tt.want, secret)
			}
			if all := len(secret) == 1 && secret[0] == out; all != tt.all {
				t.Errorf("got the whole text secret=%v, want %v (%q)", all, tt.all, secret)
			}
			if got, _ := e.Render("t", tt.text, secretVars(), RenderOptions{}); got != tt.want {
				t.Errorf("Render = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestSecretErrorsWithheld: an error raised while a secret was in play does not quote it.
func TestSecretErrorsWithheld(t *testing.T) {
	e := New(Options{})
	for _, x := range []string{"${{ parameters.pw | parseRepoUrl }}", "v=${{ parameters.pw | parseEntityRef | nope }}", "${{ 1 in parameters.pw.length }}"} {
		_, err := e.Evaluate(map[string]any{"a": x}, secretVars())
		if err == nil {
			t.Errorf("%s: no error", x)
			continue
		}
		if strings.Contains(err.Error(), "Hunter") || !strings.Contains(err.Error(), "input") && !strings.Contains(err.Error(), "a:") {
			t.Errorf("%s: got %q, want the path and no secret", x, err)
		}
	}
	_, err := e.Evaluate("${{ parameters.name | parseRepoUrl }}", secretVars())
	if err == nil || !strings.Contains(err.Error(), "orders") {
		t.Errorf("an error without secrets lost its detail: %v", err)
	}
}

// TestEvaluateBudget: one Evaluate cannot produce more than MaxEvaluateBytes, however many strings each
// stay under MaxOutputBytes.
func TestEvaluateBudget(t *testing.T) {
	e := New(Options{MaxOutputBytes: 1 << 20, MaxEvaluateBytes: 4 << 20})
	in := map[string]any{}
	for i := 0; i < 8; i++ {
		in[fmt.Sprint(i)] = "${{ 'x' | center(1000000) }}"
	}
	if _, err := e.Evaluate(in, nil); !errors.Is(err, ErrLimit) {
		t.Errorf("got %v, want ErrLimit", err)
	}
	delete(in, "0")
	for i := 1; i < 5; i++ {
		delete(in, fmt.Sprint(i))
	}
	if _, err := e.Evaluate(in, nil); err != nil {
		t.Errorf("3 MB in all: %v", err)
	}
}
