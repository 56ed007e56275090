package score

import (
	"fmt"
	"strings"
	"testing"
)

// TestRenderedFilesDecodeStrictly: every golden file decodes into its typed object with no unknown field.
func TestRenderedFilesDecodeStrictly(t *testing.T) {
	kinds := map[string]int{}
	for name, data := range goldenFiles(t) {
		objs, err := Decode(name, data)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		for _, o := range objs {
			typ := fmt.Sprintf("%T", o) // *v1.Deployment, *score.Application
			kinds[typ[strings.LastIndexByte(typ, '.')+1:]]++
		}
	}
	for _, k := range []string{"Deployment", "Service", "ConfigMap", "Application", "Kustomization"} {
		if kinds[k] == 0 {
			t.Errorf("no rendered %s was decoded (got %v): the scenarios should cover every kind", k, kinds)
		}
	}
}

func TestDecodeRefuses(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown Deployment field", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec: {replica: 2}\n", `unknown field "spec.replica"`},
		{"unknown Application field", "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: a}\nspec: {project: p, sources: []}\n", `unknown field "spec.sources"`},
		{"wrong type", "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: {http: 80}}\n", "v1 Service"},
		{"duplicate field", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {a: x}\ndata: {b: y}\n", "v1 ConfigMap"},
		{"kind not rendered here", "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: a}\n", "not one goldenpath renders from score.yaml"},
		{"no kind", "apiVersion: v1\nmetadata: {name: a}\n", "apiVersion and kind are required"},
		{"only comments", "# nothing\n", "holds no YAML document"},
		{"second document bad", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\nbogus: 1\n", "document 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode("f.yaml", []byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "f.yaml: ") {
				t.Fatalf("got %v, want an error naming f.yaml and containing %q", err, tt.want)
			}
		})
	}
}
