package catalog

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestAPILocations(t *testing.T) {
	a := newAPI(t, Options{})
	a.files.set("/repo/catalog-info.yaml", component("orders", "team-a")+`---
apiVersion: backstage.io/v1alpha1
kind: Location
metadata:
  name: more
spec:
  targets: [./more.yaml]
`)
	a.files.set("/repo/more.yaml", component("billing", "team-a"))
	target := a.files.url("/repo/catalog-info.yaml")
	body := map[string]string{"type": "url", "target": target}

	var dry struct {
		Exists   *bool    `json:"exists"`
		Location Location `json:"location"`
		Entities []wire   `json:"entities"`
	}
	r := a.call("POST", "/api/catalog/locations?dryRun=true", body)
	if r.status != http.StatusCreated {
		t.Fatalf("dry run = %d %s, want 201", r.status, r.body)
	}
	r.json(t, &dry)
	if dry.Exists == nil || *dry.Exists || !sameSet(wireNames(dry.Entities), []string{"orders", "more", "billing"}) {
		t.Errorf("dry run = %s, want exists false and orders, more, billing", r.body)
	}
	wantError(t, a.call("GET", "/api/catalog/entities/by-name/component/default/orders", nil), http.StatusNotFound, "NotFoundError", "orders")

	var added struct {
		Location Location `json:"location"`
		Entities []wire   `json:"entities"`
	}
	r = a.call("POST", "/api/catalog/locations", body)
	if r.status != http.StatusCreated {
		t.Fatalf("POST /locations = %d %s, want 201", r.status, r.body)
	}
	r.json(t, &added)
	if added.Location.ID == "" || added.Location.Target != target || len(added.Entities) != 3 {
		t.Fatalf("POST /locations = %s, want the location and its 3 entities", r.body)
	}
	wantError(t, a.call("POST", "/api/catalog/locations", body), http.StatusConflict, "ConflictError", "already exists")

	var list []struct {
		Data Location `json:"data"`
	}
	a.get("/api/catalog/locations", &list)
	if !slices.ContainsFunc(list, func(l struct {
		Data Location `json:"data"`
	}) bool {
		return l.Data == added.Location
	}) {
		t.Errorf("GET /locations = %+v, want it to list %+v under data", list, added.Location)
	}
	var one Location
	a.get("/api/catalog/locations/"+added.Location.ID, &one)
	var byEntity Location
	a.get("/api/catalog/locations/by-entity/component/default/billing", &byEntity)
	if one != added.Location || byEntity != added.Location {
		t.Errorf("GET /locations/{id} = %+v, by-entity = %+v; want %+v", one, byEntity, added.Location)
	}

	var ancestry Ancestry
	a.get("/api/catalog/entities/by-name/component/default/billing/ancestry", &ancestry)
	if ancestry.RootEntityRef != "component:default/billing" || len(ancestry.Items) != 2 ||
		!slices.Equal(ancestry.Items[0].ParentEntityRefs, []string{"location:default/more"}) ||
		len(ancestry.Items[1].ParentEntityRefs) != 0 || !strings.Contains(string(ancestry.Items[1].Entity), `"name":"more"`) {
		t.Errorf("ancestry = %+v, want billing ← location:default/more (which has no parent)", ancestry)
	}

	a.files.set("/repo/more.yaml", strings.Replace(component("billing", "team-b"), "production", "experimental", 1))
	if r := a.call("POST", "/api/catalog/refresh", map[string]string{"entityRef": "component:default/billing"}); r.status != http.StatusOK {
		t.Fatalf("POST /refresh = %d %s, want 200", r.status, r.body)
	}
	var billing wire
	a.get("/api/catalog/entities/by-name/component/default/billing", &billing)
	if billing.Spec["lifecycle"] != "experimental" || !slices.Contains(billing.Relations, Relation{Type: RelationOwnedBy, TargetRef: "group:default/team-b"}) {
		t.Errorf("after refresh billing = %+v %v, want lifecycle experimental, owned by team-b", billing.Spec, billing.Relations)
	}
	wantError(t, a.call("POST", "/api/catalog/refresh", map[string]string{"entityRef": "component:default/nope"}), http.StatusNotFound, "NotFoundError", "nope")
	wantError(t, a.call("POST", "/api/catalog/refresh", map[string]string{"entityRef": "nope"}), http.StatusBadRequest, "InputError", "entityRef")

	if r := a.call("DELETE", "/api/catalog/locations/"+added.Location.ID, nil); r.status != http.StatusNoContent {
		t.Fatalf("DELETE /locations = %d %s, want 204", r.status, r.body)
	}
	wantError(t, a.call("GET", "/api/catalog/entities/by-name/component/default/billing", nil), http.StatusNotFound, "NotFoundError", "billing")
	wantError(t, a.call("GET", "/api/catalog/locations/"+added.Location.ID, nil), http.StatusNotFound, "NotFoundError", added.Location.ID)
	wantError(t, a.call("DELETE", "/api/catalog/locations/"+added.Location.ID, nil), http.StatusNotFound, "NotFoundError", added.Location.ID)
}

func TestAPIAddLocationBadInput(t *testing.T) {
	a := newAPI(t, Options{})
	for _, tt := range []struct {
		name string
		body any
		msg  string
	}{
		{"type", map[string]string{"type": "file", "target": "/etc/passwd"}, `type "file" is not supported`},
		{"missing target", map[string]string{"type": "url"}, "required"},
		{"unreadable", map[string]string{"type": "url", "target": a.files.url("/missing.yaml")}, "cannot be read"},
		{"unknown field", map[string]string{"type": "url", "target": "x", "colour": "red"}, "colour"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, a.call("POST", "/api/catalog/locations", tt.body), http.StatusBadRequest, "InputError", tt.msg)
		})
	}
}

// TestAPIGoldenpathLocationsCannotBeRemoved: the locations goldenpath keeps itself would be stated again at
// once; removing one through the API is refused to everyone, admins included, and says why.
func TestAPIGoldenpathLocationsCannotBeRemoved(t *testing.T) {
	a := newAPI(t, Options{})
	a.seed()
	var list []struct {
		Data Location `json:"data"`
	}
	a.get("/api/catalog/locations", &list)
	if len(list) != 1 || list[0].Data.Type != "goldenpath" {
		t.Fatalf("locations = %+v, want the goldenpath:test one", list)
	}
	id := list[0].Data.ID
	for _, tok := range []string{a.dev, a.admin} {
		wantError(t, a.call("DELETE", "/api/catalog/locations/"+id, nil, tok), http.StatusForbidden, "NotAllowedError", "not even by an admin")
	}
	mustGet(t, a.c, "component:default/orders")
}

func TestAPIValidateEntity(t *testing.T) {
	a := newAPI(t, Options{})
	good := map[string]any{"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
		"metadata": map[string]any{"name": "orders"}, "spec": map[string]any{"type": "service", "lifecycle": "production", "owner": "team-a"}}
	if r := a.call("POST", "/api/catalog/validate-entity", map[string]any{"entity": good, "location": "url:https://host/catalog-info.yaml"}); r.status != http.StatusOK {
		t.Fatalf("valid entity = %d %s, want 200", r.status, r.body)
	}
	bad := map[string]any{"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": map[string]any{"name": "bad_"},
		"spec": map[string]any{"type": "service", "lifecycle": "production"}}
	for _, tt := range []struct {
		name     string
		body     map[string]any
		messages []string
	}{
		{"broken rules", map[string]any{"entity": bad, "location": "url:https://host/x.yaml"}, []string{"metadata.name", "spec.owner: is required"}},
		{"not an entity", map[string]any{"entity": "x", "location": "url:https://host/x.yaml"}, []string{"must be an object"}},
		{"location type", map[string]any{"entity": good, "location": "file:/x.yaml"}, []string{"only 'url:<target>' is supported"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := a.call("POST", "/api/catalog/validate-entity", tt.body)
			var out struct {
				Errors []struct{ Name, Message string } `json:"errors"`
			}
			if r.status != http.StatusBadRequest {
				t.Fatalf("status %d %s, want 400", r.status, r.body)
			}
			r.json(t, &out)
			if len(out.Errors) != len(tt.messages) {
				t.Fatalf("errors = %+v, want %d", out.Errors, len(tt.messages))
			}
			for i, m := range tt.messages {
				if out.Errors[i].Name == "" || !strings.Contains(out.Errors[i].Message, m) {
					t.Errorf("error %d = %+v, want a named error mentioning %q", i, out.Errors[i], m)
				}
			}
		})
	}
}

func TestAPIAnalyzeLocation(t *testing.T) {
	a := newAPI(t, Options{})
	a.files.set("/repo/catalog-info.yaml", component("orders", "team-a"))
	var found AnalyzeResult
	r := a.call("POST", "/api/catalog/analyze-location", map[string]any{"location": map[string]string{"type": "url", "target": a.files.url("/repo")}})
	if r.status != http.StatusOK {
		t.Fatalf("analyze = %d %s", r.status, r.body)
	}
	r.json(t, &found)
	if len(found.ExistingEntityFiles) != 1 || found.ExistingEntityFiles[0].Entity.Metadata.Name != "orders" || found.ExistingEntityFiles[0].IsRegistered ||
		found.ExistingEntityFiles[0].Location.Target != a.files.url("/repo/catalog-info.yaml") {
		t.Errorf("analyze = %s, want the unregistered orders in /repo/catalog-info.yaml", r.body)
	}
	var generated AnalyzeResult
	a.call("POST", "/api/catalog/analyze-location", map[string]any{"location": map[string]string{"type": "url", "target": a.files.url("/empty-repo")}}).json(t, &generated)
	if len(generated.GenerateEntities) != 1 || generated.GenerateEntities[0].Entity["kind"] != "Component" || generated.GenerateEntities[0].Fields[0].Field != "spec.owner" {
		t.Errorf("analyze of an empty repo = %+v, want a Component to create, asking for its owner", generated)
	}
}
