package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// withMeta builds a Component document with the given extra metadata lines (indented two spaces).
func withMeta(meta string) string {
	return "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: orders\n" + meta +
		"spec:\n  type: service\n  lifecycle: production\n  owner: team-a\n"
}

func doc(apiVersion, kind, spec string) string {
	return fmt.Sprintf("apiVersion: %s\nkind: %s\nmetadata:\n  name: thing\nspec:\n%s", apiVersion, kind, spec)
}

func TestParseEntitiesRules(t *testing.T) {
	const bs = "backstage.io/v1alpha1"
	tests := []struct {
		name  string
		yaml  string
		field string // "" = valid
		rule  string
	}{
		// Envelope.
		{name: "valid component", yaml: withMeta("")},
		{name: "v1beta1 accepted", yaml: strings.Replace(withMeta(""), "v1alpha1", "v1beta1", 1)},
		{name: "missing apiVersion", yaml: strings.Replace(withMeta(""), "apiVersion: backstage.io/v1alpha1\n", "", 1), field: "apiVersion", rule: "is required"},
		{name: "wrong apiVersion", yaml: strings.Replace(withMeta(""), "backstage.io/v1alpha1", "backstage.io/v2", 1), field: "apiVersion", rule: "not valid for kind Component"},
		{name: "scaffolder apiVersion on a Component", yaml: strings.Replace(withMeta(""), "backstage.io/v1alpha1", "scaffolder.backstage.io/v1beta3", 1), field: "apiVersion", rule: "backstage.io/v1alpha1 or backstage.io/v1beta1"},
		{name: "missing kind", yaml: strings.Replace(withMeta(""), "kind: Component\n", "", 1), field: "kind", rule: "is required"},
		{name: "kind with a dash", yaml: strings.Replace(withMeta(""), "kind: Component", "kind: My-Kind", 1), field: "kind", rule: "letters and digits"},
		{name: "kind in wrong case", yaml: strings.Replace(withMeta(""), "kind: Component", "kind: component", 1), field: "kind", rule: `did you mean "Component"`},
		{name: "unknown kind", yaml: strings.Replace(withMeta(""), "kind: Component", "kind: Widget", 1), field: "kind", rule: "not a supported kind"},
		{name: "unknown top-level field", yaml: withMeta("") + "extra: 1\n", field: "extra", rule: "not an entity field"},
		{name: "relations and status are ignored", yaml: withMeta("") + "relations: []\nstatus: {}\n"},
		{name: "metadata missing", yaml: "apiVersion: backstage.io/v1alpha1\nkind: Component\nspec:\n  type: a\n  lifecycle: b\n  owner: c\n", field: "metadata", rule: "is required"},
		{name: "metadata not a mapping", yaml: "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: [1]\nspec:\n  type: a\n  lifecycle: b\n  owner: c\n", field: "metadata", rule: "must be a mapping"},
		{name: "spec missing", yaml: "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: x\n", field: "spec", rule: "is required"},

		// Names.
		{name: "name with dots, underscores and capitals", yaml: strings.Replace(withMeta(""), "name: orders", "name: Orders_v2.api", 1)},
		{name: "name of 63 characters", yaml: strings.Replace(withMeta(""), "name: orders", "name: "+strings.Repeat("a", 63), 1)},
		{name: "name of 64 characters", yaml: strings.Replace(withMeta(""), "name: orders", "name: "+strings.Repeat("a", 64), 1), field: "metadata.name", rule: "1-63"},
		{name: "name starting with a dash", yaml: strings.Replace(withMeta(""), "name: orders", "name: -orders", 1), field: "metadata.name", rule: "starting and ending"},
		{name: "name ending with a dot", yaml: strings.Replace(withMeta(""), "name: orders", "name: orders.", 1), field: "metadata.name", rule: "starting and ending"},
		{name: "name with a space", yaml: strings.Replace(withMeta(""), "name: orders", "name: my orders", 1), field: "metadata.name", rule: "[a-zA-Z0-9-_.]"},
		{name: "template expression as name", yaml: strings.Replace(withMeta(""), "name: orders", `name: "${{ values.name }}"`, 1), field: "metadata.name", rule: "[a-zA-Z0-9-_.]"},
		{name: "single character name", yaml: strings.Replace(withMeta(""), "name: orders", "name: a", 1)},
		{name: "numeric name", yaml: strings.Replace(withMeta(""), "name: orders", "name: 42", 1), field: "metadata.name", rule: "must be a string, not a number"},
		{name: "name missing", yaml: strings.Replace(withMeta(""), "  name: orders\n", "  title: Orders\n", 1), field: "metadata.name", rule: "is required"},

		// Namespaces.
		{name: "namespace", yaml: withMeta("  namespace: payments-eu\n")},
		{name: "namespace with capitals", yaml: withMeta("  namespace: Payments\n"), field: "metadata.namespace", rule: "DNS label"},
		{name: "namespace with underscore", yaml: withMeta("  namespace: pay_ments\n"), field: "metadata.namespace", rule: "DNS label"},
		{name: "namespace of 64 characters", yaml: withMeta("  namespace: " + strings.Repeat("n", 64) + "\n"), field: "metadata.namespace", rule: "1-63"},

		// Tags.
		{name: "tags", yaml: withMeta("  tags: [java, c++, c#, data-platform, 'k8s:prod']\n")},
		{name: "tag with capitals", yaml: withMeta("  tags: [Java]\n"), field: "metadata.tags[0]", rule: "[a-z0-9:+#]"},
		{name: "tag with underscore", yaml: withMeta("  tags: [ok, tier_gold]\n"), field: "metadata.tags[1]", rule: "[a-z0-9:+#]"},
		{name: "tag with double dash", yaml: withMeta("  tags: [a--b]\n"), field: "metadata.tags[0]", rule: "single '-'"},
		{name: "tag with a dot", yaml: withMeta("  tags: [v1.2]\n"), field: "metadata.tags[0]", rule: "[a-z0-9:+#]"},
		{name: "tag of 64 characters", yaml: withMeta("  tags: [" + strings.Repeat("t", 64) + "]\n"), field: "metadata.tags[0]", rule: "1-63"},
		{name: "tags not a list", yaml: withMeta("  tags: java\n"), field: "metadata.tags", rule: "must be a list"},

		// Labels and annotations.
		{name: "labels", yaml: withMeta("  labels:\n    tier: gold\n    example.com/team: Team_A\n    empty: ''\n")},
		{name: "label key with bad prefix", yaml: withMeta("  labels:\n    Example.COM/team: a\n"), field: `metadata.labels["Example.COM/team"]`, rule: "DNS subdomain prefix"},
		{name: "label key with two slashes", yaml: withMeta("  labels:\n    a/b/c: x\n"), field: `metadata.labels["a/b/c"]`, rule: "at most one '/'"},
		{name: "label key name too long", yaml: withMeta("  labels:\n    example.com/" + strings.Repeat("k", 64) + ": x\n"), field: "metadata.labels", rule: "name of 1-63"},
		{name: "label key prefix too long", yaml: withMeta("  labels:\n    " + strings.Repeat("a.", 127) + "com/k: x\n"), field: "metadata.labels", rule: "at most 253"},
		{name: "label value with a space", yaml: withMeta("  labels:\n    tier: gold plated\n"), field: "metadata.labels.tier", rule: "value \"gold plated\""},
		{name: "label value not a string", yaml: withMeta("  labels:\n    replicas: 3\n"), field: "metadata.labels.replicas", rule: "quote it"},
		{name: "annotations allow any string value", yaml: withMeta("  annotations:\n    backstage.io/techdocs-ref: 'dir:.'\n    github.com/project-slug: acme/orders\n    note: any text, even with spaces!\n")},
		{name: "annotation key with a space", yaml: withMeta("  annotations:\n    'my key': x\n"), field: `metadata.annotations["my key"]`, rule: "name of 1-63"},
		{name: "annotation value a boolean", yaml: withMeta("  annotations:\n    backstage.io/orphan: true\n"), field: `metadata.annotations["backstage.io/orphan"]`, rule: "must be a string, not a boolean"},

		// Other metadata.
		{name: "links", yaml: withMeta("  links:\n    - url: https://example.com\n      title: Admin\n      icon: dashboard\n      type: admin\n")},
		{name: "link without url", yaml: withMeta("  links:\n    - title: Admin\n"), field: "metadata.links[0].url", rule: "is required"},
		{name: "title empty", yaml: withMeta("  title: ''\n"), field: "metadata.title", rule: "must not be empty"},
		{name: "description empty is fine", yaml: withMeta("  description: ''\n")},
		{name: "unknown metadata fields are kept", yaml: withMeta("  customField: 1\n")},
		{name: "uid and etag in a file are ignored", yaml: withMeta("  uid: abc\n  etag: def\n  generation: 3\n")},

		// Required spec fields per kind.
		{name: "component without owner", yaml: doc(bs, "Component", "  type: service\n  lifecycle: production\n"), field: "spec.owner", rule: "is required"},
		{name: "component without lifecycle", yaml: doc(bs, "Component", "  type: service\n  owner: a\n"), field: "spec.lifecycle", rule: "is required"},
		{name: "component with empty type", yaml: doc(bs, "Component", "  type: ''\n  lifecycle: production\n  owner: a\n"), field: "spec.type", rule: "must not be empty"},
		{name: "component with bad owner ref", yaml: doc(bs, "Component", "  type: s\n  lifecycle: p\n  owner: 'group:Bad_NS/x'\n"), field: "spec.owner", rule: "not a valid entity ref"},
		{name: "component dependsOn needs a kind", yaml: doc(bs, "Component", "  type: s\n  lifecycle: p\n  owner: a\n  dependsOn: [orders-db]\n"), field: "spec.dependsOn[0]", rule: "kind is required"},
		{name: "component dependsOn with kind", yaml: doc(bs, "Component", "  type: s\n  lifecycle: p\n  owner: a\n  dependsOn: ['resource:orders-db']\n  providesApis: [orders-api]\n")},
		{name: "component providesApis not a list", yaml: doc(bs, "Component", "  type: s\n  lifecycle: p\n  owner: a\n  providesApis: orders-api\n"), field: "spec.providesApis", rule: "must be a list"},
		{name: "api", yaml: doc(bs, "API", "  type: openapi\n  lifecycle: production\n  owner: a\n  definition: 'openapi: 3.0.0'\n")},
		{name: "api with a $text placeholder", yaml: doc(bs, "API", "  type: openapi\n  lifecycle: production\n  owner: a\n  definition:\n    $text: ./openapi.yaml\n")},
		{name: "api without definition", yaml: doc(bs, "API", "  type: openapi\n  lifecycle: production\n  owner: a\n"), field: "spec.definition", rule: "is required"},
		{name: "api definition a mapping", yaml: doc(bs, "API", "  type: openapi\n  lifecycle: production\n  owner: a\n  definition:\n    openapi: 3.0.0\n"), field: "spec.definition", rule: "must be a string"},
		{name: "resource", yaml: doc(bs, "Resource", "  type: database\n  owner: a\n")},
		{name: "resource without owner", yaml: doc(bs, "Resource", "  type: database\n"), field: "spec.owner", rule: "is required"},
		{name: "resource without type", yaml: doc(bs, "Resource", "  owner: a\n"), field: "spec.type", rule: "is required"},
		{name: "system", yaml: doc(bs, "System", "  owner: a\n  domain: shop\n")},
		{name: "system without owner", yaml: doc(bs, "System", "  domain: shop\n"), field: "spec.owner", rule: "is required"},
		{name: "domain", yaml: doc(bs, "Domain", "  owner: a\n")},
		{name: "domain without owner", yaml: doc(bs, "Domain", "  {}\n"), field: "spec.owner", rule: "is required"},
		{name: "group", yaml: doc(bs, "Group", "  type: team\n  children: []\n")},
		{name: "group without children", yaml: doc(bs, "Group", "  type: team\n"), field: "spec.children", rule: "is required"},
		{name: "group without type", yaml: doc(bs, "Group", "  children: []\n"), field: "spec.type", rule: "is required"},
		{name: "group profile not a mapping", yaml: doc(bs, "Group", "  type: team\n  children: []\n  profile: x\n"), field: "spec.profile", rule: "must be a mapping"},
		{name: "user with empty memberOf", yaml: doc(bs, "User", "  memberOf: []\n")},
		{name: "user without memberOf", yaml: doc(bs, "User", "  profile: {}\n"), field: "spec.memberOf", rule: "is required"},
		{name: "user memberOf with a number", yaml: doc(bs, "User", "  memberOf: [1]\n"), field: "spec.memberOf[0]", rule: "must be a string"},
		{name: "location with target", yaml: doc(bs, "Location", "  target: ./other.yaml\n")},
		{name: "location with targets", yaml: doc(bs, "Location", "  type: url\n  targets: [./a.yaml, ./b.yaml]\n")},
		{name: "location without targets", yaml: doc(bs, "Location", "  type: url\n"), field: "spec", rule: "must set target or targets"},
		{name: "template", yaml: doc("scaffolder.backstage.io/v1beta3", "Template", "  type: service\n  parameters: [{title: A}]\n  steps:\n    - id: fetch\n      action: fetch:template\n      if: ${{ parameters.x }}\n")},
		{name: "template v1beta2", yaml: doc("scaffolder.backstage.io/v1beta2", "Template", "  type: service\n  steps: []\n")},
		{name: "template with backstage.io apiVersion", yaml: doc(bs, "Template", "  type: service\n  steps: []\n"), field: "apiVersion", rule: "scaffolder.backstage.io/v1beta3"},
		{name: "template without steps", yaml: doc("scaffolder.backstage.io/v1beta3", "Template", "  type: service\n"), field: "spec.steps", rule: "is required"},
		{name: "template step without action", yaml: doc("scaffolder.backstage.io/v1beta3", "Template", "  type: service\n  steps:\n    - id: a\n"), field: "spec.steps[0].action", rule: "is required"},
		{name: "template step if a number", yaml: doc("scaffolder.backstage.io/v1beta3", "Template", "  type: service\n  steps:\n    - action: x\n      if: 1\n"), field: "spec.steps[0].if", rule: "string or a boolean"},
		{name: "template parameters a string", yaml: doc("scaffolder.backstage.io/v1beta3", "Template", "  type: service\n  parameters: x\n  steps: []\n"), field: "spec.parameters", rule: "mapping or a list"},

		// YAML-level problems.
		{name: "duplicate key", yaml: withMeta("  title: a\n  title: b\n"), field: "", rule: `metadata: key "title" at line 6 repeats line 5`},
		{name: "duplicate top-level key", yaml: withMeta("") + "kind: API\n", field: "", rule: `key "kind" at line 9 repeats line 2`},
		{name: "not a mapping", yaml: "- a\n- b\n", field: "", rule: "must be a mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entities, errs := ParseEntities("catalog-info.yaml", []byte(tt.yaml))
			if tt.rule == "" {
				if len(errs) != 0 || len(entities) != 1 {
					t.Fatalf("got %d entities and errors %v, want 1 entity and no errors", len(entities), errs)
				}
				return
			}
			if len(entities) != 0 {
				t.Errorf("got %d entities, want none", len(entities))
			}
			for _, err := range errs {
				var ee *EntityError
				if errors.As(err, &ee) && strings.HasPrefix(ee.Field, tt.field) && strings.Contains(ee.Error(), tt.rule) {
					if ee.File != "catalog-info.yaml" || ee.Document != 1 {
						t.Errorf("error %q: file %q document %d, want catalog-info.yaml document 1", ee, ee.File, ee.Document)
					}
					return
				}
			}
			t.Errorf("errors = %v, want one on field %q containing %q", errs, tt.field, tt.rule)
		})
	}
}

func TestParseEntitiesMultiDocument(t *testing.T) {
	data := component("first", "team-a") + "---\n" +
		"apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: second\nspec:\n  type: service\n" +
		"---\n" + component("third", "team-a") + "---\n"
	entities, errs := ParseEntities("repo/catalog-info.yaml", []byte(data))
	if len(entities) != 2 || entities[0].Metadata.Name != "first" || entities[1].Metadata.Name != "third" {
		t.Fatalf("entities = %v, want first and third", names(entities))
	}
	if len(errs) != 2 {
		t.Fatalf("errors = %v, want 2 (lifecycle and owner of the second)", errs)
	}
	var ee *EntityError
	if !errors.As(errs[0], &ee) || ee.Document != 2 || ee.Ref != "component:default/second" || ee.Line != 14 {
		t.Errorf("first error = %#v, want document 2, ref component:default/second, line 14 (its spec)", ee)
	}
	want := "repo/catalog-info.yaml:14: document 2 (component:default/second): spec.lifecycle: is required"
	if errs[0].Error() != want {
		t.Errorf("message = %q, want %q", errs[0].Error(), want)
	}
}

func TestParseEntitiesBrokenYAMLKeepsEarlierDocuments(t *testing.T) {
	data := component("first", "team-a") + "---\nkind: [unclosed\n"
	entities, errs := ParseEntities("c.yaml", []byte(data))
	if len(entities) != 1 {
		t.Errorf("got %d entities, want the first one", len(entities))
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "document 2") || !strings.Contains(errs[0].Error(), "invalid YAML") {
		t.Errorf("errors = %v, want one invalid YAML error on document 2", errs)
	}
}

func TestParseEntitiesNormalises(t *testing.T) {
	data := withMeta("  uid: from-file\n  customField: kept\n  annotations:\n    a: b\n") + "relations:\n  - type: ownedBy\n    targetRef: group:default/x\n"
	entities, errs := ParseEntities("c.yaml", []byte(data))
	if len(errs) != 0 || len(entities) != 1 {
		t.Fatalf("ParseEntities: %v", errs)
	}
	e := entities[0]
	if e.Metadata.Namespace != "default" {
		t.Errorf("namespace = %q, want default", e.Metadata.Namespace)
	}
	if e.Metadata.UID != "" || e.Relations != nil {
		t.Errorf("uid = %q, relations = %v; want both dropped", e.Metadata.UID, e.Relations)
	}
	if e.Metadata.Extra["customField"] != "kept" {
		t.Errorf("extra = %v, want customField kept", e.Metadata.Extra)
	}
	b, err := validatedCopy(e)
	if err != nil || b.Metadata.Extra["customField"] != "kept" {
		t.Errorf("after a JSON round trip extra = %v (%v), want customField kept", b.Metadata.Extra, err)
	}
}

func TestParseEntitiesAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		fmt.Fprintf(&b, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	_, errs := ParseEntities("bomb.yaml", []byte(b.String()))
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "more than") {
		t.Errorf("errors = %v, want a single size error", errs)
	}
}

func TestValidateEntityBuiltInCode(t *testing.T) {
	e := &Entity{APIVersion: "backstage.io/v1alpha1", Kind: "System", Metadata: Metadata{Name: "shop", Tags: []string{"Bad Tag"}}, Spec: map[string]any{}}
	err := Validate(e)
	var list EntityErrors
	if !errors.As(err, &list) || len(list) != 2 {
		t.Fatalf("Validate = %v, want 2 errors (tag, owner)", err)
	}
	if !strings.Contains(err.Error(), "metadata.tags[0]") || !strings.Contains(err.Error(), "spec.owner: is required") {
		t.Errorf("Validate = %v, want errors on metadata.tags[0] and spec.owner", err)
	}
	e.Metadata.Tags, e.Spec["owner"] = []string{"ok"}, "team-a"
	if err := Validate(e); err != nil {
		t.Errorf("Validate(fixed) = %v, want nil", err)
	}
}

// The catalog-info.yaml skeletons of Backstage's own software templates, with their ${{ }} expressions
// replaced by realistic values (testdata/skeletons), must parse cleanly.
func TestParseBackstageTemplateSkeletons(t *testing.T) {
	paths, err := filepath.Glob("testdata/skeletons/*.yaml")
	if err != nil || len(paths) < 5 {
		t.Fatalf("found %d skeleton fixtures (%v), want 5", len(paths), err)
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			entities, errs := ParseEntities(p, data)
			if len(errs) != 0 || len(entities) != 1 {
				t.Fatalf("got %d entities, errors %v; want 1 and none", len(entities), errs)
			}
			e := entities[0]
			if e.Kind != "Component" || e.Metadata.Annotations["backstage.io/techdocs-ref"] != "dir:." {
				t.Errorf("kind %q, techdocs-ref %q; want Component with dir:.", e.Kind, e.Metadata.Annotations["backstage.io/techdocs-ref"])
			}
			own, _ := Relations(e)
			if len(own) != 1 || own[0].Type != RelationOwnedBy {
				t.Errorf("relations = %v, want one ownedBy", own)
			}
		})
	}
}

func names(es []*Entity) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Metadata.Name)
	}
	return out
}

// catalog:write renders entities to YAML; what it writes must parse back to the same entity.
func TestEntityYAMLRoundTrip(t *testing.T) {
	in := withMeta("  title: Orders\n  customField: kept\n  labels:\n    tier: gold\n  links:\n    - url: https://example.com\n      title: Docs\n")
	entities, errs := ParseEntities("in.yaml", []byte(in))
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	out, err := yaml.Marshal(entities[0])
	if err != nil {
		t.Fatal(err)
	}
	again, errs := ParseEntities("out.yaml", out)
	if len(errs) != 0 || len(again) != 1 {
		t.Fatalf("written YAML does not parse: %v\n%s", errs, out)
	}
	a, _ := json.Marshal(entities[0])
	b, _ := json.Marshal(again[0])
	if string(a) != string(b) {
		t.Errorf("round trip changed the entity:\n got %s\nwant %s", b, a)
	}
	if !strings.Contains(string(out), "apiVersion: backstage.io/v1alpha1") || !strings.Contains(string(out), "customField: kept") {
		t.Errorf("YAML uses the wrong field names:\n%s", out)
	}
}
