package edge

import (
	"strings"
	"testing"
)

func TestDecodeIsStrict(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{
			name: "unknown field in an Ingress",
			yaml: "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: a}\nspec: {ingressClass: kong}\n",
			want: `unknown field "spec.ingressClass"`,
		},
		{
			name: "wrong type in a Deployment",
			yaml: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec: {replicas: two}\n",
			want: "cannot unmarshal",
		},
		{
			name: "duplicate key in a Service",
			yaml: "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {type: ClusterIP, type: NodePort}\n",
			want: `key "type" already set in map`,
		},
		{
			name: "the plan's http01 solver field class is not the one rendered",
			yaml: "apiVersion: cert-manager.io/v1\nkind: ClusterIssuer\nmetadata: {name: a}\n" +
				"spec: {acme: {server: s, privateKeySecretRef: {name: k}, solvers: [{http01: {ingress: {class: kong}}}]}}\n",
			want: `unknown field "spec.acme.solvers[0].http01.ingress.class"`,
		},
		{
			name: "unknown openid-connect setting in a KongPlugin",
			yaml: "apiVersion: configuration.konghq.com/v1\nkind: KongPlugin\nmetadata: {name: a}\nplugin: openid-connect\n" +
				"config: {issuer: i, client_id: [c], auth_methods: [session], client_secret: [leaked]}\n",
			want: `unknown field "config.client_secret"`,
		},
		{
			name: "kind goldenpath does not render",
			yaml: "apiVersion: v1\nkind: Secret\nmetadata: {name: a}\nstringData: {password: x}\n",
			want: "kind v1 Secret is not one goldenpath renders",
		},
		{
			name: "no kind",
			yaml: "apiVersion: v1\nmetadata: {name: a}\n",
			want: "apiVersion and kind are required",
		},
		{
			name: "second document bad",
			yaml: "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: b, labelz: {}}\n",
			want: `document 2: v1 Service: unknown field "metadata.labelz"`,
		},
		{
			name: "only comments",
			yaml: "# nothing here\n---\n# nor here\n",
			want: "holds no YAML document",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := Decode("x.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatalf("got %d objects, want an error containing %q", len(objs), tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "x.yaml: ") {
				t.Errorf("got error %q, want one naming x.yaml and containing %q", err, tt.want)
			}
		})
	}
}

func TestDecodeTypes(t *testing.T) {
	objs, err := Decode("x.yaml", []byte("# header\napiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\n"+
		"apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [a.yaml]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 {
		t.Fatalf("got %d objects, want 2", len(objs))
	}
	if k, ok := objs[1].(*Kustomization); !ok || len(k.Resources) != 1 || k.Resources[0] != "a.yaml" {
		t.Errorf("got %#v, want a Kustomization listing a.yaml", objs[1])
	}
}
