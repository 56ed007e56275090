package catalog

import (
	"strings"
	"testing"
)

func TestParseRef(t *testing.T) {
	tests := []struct {
		name, ref, kind, ns string
		want                string // canonical; "" means an error is expected
		errHas              string
	}{
		{name: "full", ref: "component:default/orders", want: "component:default/orders"},
		{name: "case-insensitive", ref: "Component:Payments/Orders-API", want: "component:payments/orders-api"},
		{name: "default kind", ref: "team-a", kind: "Group", want: "group:default/team-a"},
		{name: "kind in ref wins over default", ref: "user:jdoe", kind: "group", want: "user:default/jdoe"},
		{name: "namespace without kind", ref: "ops/team-a", kind: "group", want: "group:ops/team-a"},
		{name: "default namespace argument", ref: "api:orders", ns: "shop", want: "api:shop/orders"},
		{name: "explicit namespace beats default", ref: "api:billing/orders", ns: "shop", want: "api:billing/orders"},
		{name: "dots and underscores in name", ref: "component:my_svc.v2", want: "component:default/my_svc.v2"},
		{name: "no kind at all", ref: "orders", errHas: "kind is required"},
		{name: "empty", ref: "", errHas: "must not be empty"},
		{name: "empty kind", ref: ":orders", errHas: "kind before ':'"},
		{name: "empty namespace", ref: "component:/orders", errHas: "namespace before '/'"},
		{name: "empty name", ref: "component:default/", errHas: "name \"\""},
		{name: "bad namespace", ref: "component:my_ns/orders", errHas: "namespace \"my_ns\""},
		{name: "bad name", ref: "component:-orders", errHas: "name \"-orders\""},
		{name: "name too long", ref: "component:" + strings.Repeat("a", 64), errHas: "1-63"},
		{name: "bad kind", ref: "9thing:orders", errHas: "kind \"9thing\""},
		{name: "bad default kind", ref: "orders", kind: "no-dash", errHas: "kind \"no-dash\""},
		{name: "colon after slash is part of the name", ref: "default/a:b", kind: "component", errHas: "name \"a:b\""},
		{name: "two slashes", ref: "component:a/b/c", errHas: "name \"b/c\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRef(tt.ref, tt.kind, tt.ns)
			if tt.want == "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("ParseRef(%q) error = %v, want one containing %q", tt.ref, err, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseRef(%q): %v", tt.ref, err)
			}
			if got.String() != tt.want {
				t.Errorf("ParseRef(%q) = %s, want %s", tt.ref, got, tt.want)
			}
		})
	}
}

func TestEntityRefDefaultsNamespace(t *testing.T) {
	e := &Entity{Kind: "Component", Metadata: Metadata{Name: "Orders"}}
	if got, want := e.Ref(), (Ref{"component", "default", "orders"}); got != want {
		t.Errorf("Ref() = %+v, want %+v", got, want)
	}
}
