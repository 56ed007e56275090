package jsonata

import (
	"context"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	Main()
	os.Exit(m.Run())
}

func TestEval(t *testing.T) {
	data := map[string]any{"items": []any{map[string]any{"name": "a", "n": 1.0}, map[string]any{"name": "b", "n": 2.0}}}
	tests := []struct {
		name, expr string
		want       any
		defined    bool
		err        string
	}{
		{"path", "items.name", []any{"a", "b"}, true, ""},
		{"sum", "$sum(items.n)", 3.0, true, ""},
		{"lambda", `$map(items, function($v){ $uppercase($v.name) })`, []any{"A", "B"}, true, ""},
		{"object", `{"first": items[0].name}`, map[string]any{"first": "a"}, true, ""},
		{"undefined", "nothing", nil, false, ""},
		{"syntax error", "items[", nil, false, "expected"},
		{"endless recursion", `($f := function($x){ $f($x) + 1 }; $f(1))`, nil, false, "recursed too deeply"},
		{"too much memory", `$count([1..10000000].[1..10000000])`, nil, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "too much memory" {
				old := timeout
				timeout = 3 * time.Second // the huge range ends at the deadline sooner than the server's 10 s
				defer func() { timeout = old }()
			}
			got, defined, err := Eval(context.Background(), tt.expr, data)
			if tt.name == "too much memory" {
				if err == nil || !strings.Contains(err.Error(), "longer than") && !strings.Contains(err.Error(), "memory") {
					t.Fatalf("got %v, %v; want an error naming the time or memory limit", got, err)
				}
				return
			}
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %v, %v; want an error containing %q", got, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if defined != tt.defined || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v (defined %v), want %#v (defined %v)", got, defined, tt.want, tt.defined)
			}
		})
	}
}
