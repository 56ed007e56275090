package catalog

import (
	"fmt"
	"slices"
	"testing"
)

func TestRelations(t *testing.T) {
	tests := []struct {
		name    string
		kind    string
		ns      string
		spec    map[string]any
		own     []string // "type target"
		inverse []string // "target: type self"
	}{
		{
			name: "component owner defaults to group in the entity's namespace",
			kind: "Component", ns: "shop",
			spec:    map[string]any{"owner": "team-a", "type": "service", "lifecycle": "production"},
			own:     []string{"ownedBy group:shop/team-a"},
			inverse: []string{"group:shop/team-a: ownerOf component:shop/x"},
		},
		{
			name: "owner may be a user in another namespace",
			kind: "Component",
			spec: map[string]any{"owner": "User:Ops/JDoe"},
			own:  []string{"ownedBy user:ops/jdoe"},
		},
		{
			name: "component system, subcomponentOf, apis and dependencies",
			kind: "Component",
			spec: map[string]any{
				"owner": "team-a", "system": "shop", "subcomponentOf": "storefront",
				"providesApis": []any{"orders-api"}, "consumesApis": []any{"api:billing/invoices"},
				"dependsOn": []any{"resource:orders-db"}, "dependencyOf": []any{"component:checkout"},
			},
			own: []string{
				"consumesApi api:billing/invoices", "dependencyOf component:default/checkout", "dependsOn resource:default/orders-db",
				"ownedBy group:default/team-a", "partOf component:default/storefront", "partOf system:default/shop",
				"providesApi api:default/orders-api",
			},
			inverse: []string{
				"api:billing/invoices: apiConsumedBy component:default/x", "api:default/orders-api: apiProvidedBy component:default/x",
				"component:default/checkout: dependsOn component:default/x", "component:default/storefront: hasPart component:default/x",
				"group:default/team-a: ownerOf component:default/x", "resource:default/orders-db: dependencyOf component:default/x",
				"system:default/shop: hasPart component:default/x",
			},
		},
		{
			name:    "api system",
			kind:    "API",
			spec:    map[string]any{"owner": "team-a", "system": "shop"},
			own:     []string{"ownedBy group:default/team-a", "partOf system:default/shop"},
			inverse: []string{"group:default/team-a: ownerOf api:default/x", "system:default/shop: hasPart api:default/x"},
		},
		{
			name:    "system domain",
			kind:    "System",
			spec:    map[string]any{"owner": "team-a", "domain": "commerce"},
			own:     []string{"ownedBy group:default/team-a", "partOf domain:default/commerce"},
			inverse: []string{"domain:default/commerce: hasPart system:default/x", "group:default/team-a: ownerOf system:default/x"},
		},
		{
			name: "domain subdomainOf",
			kind: "Domain",
			spec: map[string]any{"owner": "team-a", "subdomainOf": "commerce"},
			own:  []string{"ownedBy group:default/team-a", "partOf domain:default/commerce"},
		},
		{
			name:    "resource dependencies",
			kind:    "Resource",
			spec:    map[string]any{"owner": "team-a", "dependsOn": []any{"resource:vpc"}},
			own:     []string{"dependsOn resource:default/vpc", "ownedBy group:default/team-a"},
			inverse: []string{"group:default/team-a: ownerOf resource:default/x", "resource:default/vpc: dependencyOf resource:default/x"},
		},
		{
			name:    "group parent, children and members",
			kind:    "Group",
			spec:    map[string]any{"type": "team", "parent": "eng", "children": []any{"team-b"}, "members": []any{"jdoe"}},
			own:     []string{"childOf group:default/eng", "hasMember user:default/jdoe", "parentOf group:default/team-b"},
			inverse: []string{"group:default/eng: parentOf group:default/x", "group:default/team-b: childOf group:default/x", "user:default/jdoe: memberOf group:default/x"},
		},
		{
			name:    "user memberOf",
			kind:    "User",
			spec:    map[string]any{"memberOf": []any{"team-a", "group:ops/sre"}},
			own:     []string{"memberOf group:default/team-a", "memberOf group:ops/sre"},
			inverse: []string{"group:default/team-a: hasMember user:default/x", "group:ops/sre: hasMember user:default/x"},
		},
		{
			name: "template owner",
			kind: "Template",
			spec: map[string]any{"owner": "team-a", "type": "service"},
			own:  []string{"ownedBy group:default/team-a"},
		},
		{
			name: "duplicates collapse and malformed refs are skipped",
			kind: "Component",
			spec: map[string]any{"owner": "team-a", "providesApis": []any{"orders", "ORDERS", "bad ref"}, "dependsOn": []any{"no-kind"}},
			own:  []string{"ownedBy group:default/team-a", "providesApi api:default/orders"},
		},
		{
			name: "location has no relations",
			kind: "Location",
			spec: map[string]any{"target": "./a.yaml"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &Entity{Kind: tt.kind, Metadata: Metadata{Name: "x", Namespace: tt.ns}, Spec: tt.spec}
			own, inverse := Relations(e)
			var gotOwn, gotInv []string
			for _, r := range own {
				gotOwn = append(gotOwn, r.Type+" "+r.TargetRef)
			}
			for target, rels := range inverse {
				for _, r := range rels {
					gotInv = append(gotInv, fmt.Sprintf("%s: %s %s", target, r.Type, r.TargetRef))
				}
			}
			slices.Sort(gotInv)
			if !slices.Equal(gotOwn, tt.own) {
				t.Errorf("own = %q, want %q", gotOwn, tt.own)
			}
			if tt.inverse != nil && !slices.Equal(gotInv, tt.inverse) {
				t.Errorf("inverse = %q, want %q", gotInv, tt.inverse)
			}
		})
	}
}
