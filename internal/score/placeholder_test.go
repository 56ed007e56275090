package score

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseTemplate(t *testing.T) {
	tests := []struct {
		in      string
		want    template
		wantErr string
	}{
		{in: "plain", want: template{{text: "plain"}}},
		{in: "", want: nil},
		{in: "${metadata.name}", want: template{{ref: []string{"metadata", "name"}}}},
		{in: "http://${resources.db.host}:${resources.db.port}/", want: template{
			{text: "http://"}, {ref: []string{"resources", "db", "host"}}, {text: ":"}, {ref: []string{"resources", "db", "port"}}, {text: "/"},
		}},
		{in: "$${not.a.placeholder}", want: template{{text: "${not.a.placeholder}"}}},
		{in: "cost: $$5 or $5", want: template{{text: "cost: $5 or $5"}}},
		{in: "trailing $", want: template{{text: "trailing $"}}},
		{in: `${metadata.annotations.example\.com/team}`, want: template{{ref: []string{"metadata", "annotations", "example.com/team"}}}},
		{in: "${metadata.name", wantErr: "not closed"},
		{in: "${resources..host}", wantErr: "empty segment"},
		{in: "${}", wantErr: "empty segment"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseTemplate(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, %v; want an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

// TestSubstitution renders variables through Render and reads the Deployment's env: placeholders are
// substituted, "$" survives Kubernetes' own $(VAR) expansion, and secrets never become text.
func TestSubstitution(t *testing.T) {
	tests := []struct {
		name, value string
		wantValue   string // rendered env value, as Kubernetes reads it
		wantSecret  string // "name/key" when the variable is a secretKeyRef
	}{
		{"metadata name", "${metadata.name}", "app", ""},
		{"metadata annotation", `${metadata.annotations.example\.com/team}`, "payments", ""},
		{"metadata extra key", "${metadata.tier}", "web", ""},
		{"output in text", "postgres://${resources.db.host}:${resources.db.port}/${resources.db.name}", "postgres://db.internal:5432/app_dev", ""},
		{"score escape", "$${resources.db.host}", "$${resources.db.host}", ""},
		{"kubernetes reference stays literal", "$(HOME)", "$$(HOME)", ""},
		{"dollars are doubled for kubernetes", "a$$b $c", "a$$b $$c", ""},
		{"secret alone", "${resources.db.password}", "", "app-db/password"},
		{"secret inside text", "user:${resources.db.password}@x", "user:$(GOLDENPATH_SECRET_APP_DB_PASSWORD)@x", ""},
	}
	src := `apiVersion: score.dev/v1b1
metadata:
  name: app
  tier: web
  annotations:
    example.com/team: payments
containers:
  main:
    image: nginx:1.27
    variables:
      V: "VALUE"
resources:
  db:
    type: postgres
`
	in := Inputs{Environment: "dev", Namespace: "app", ArgoCD: ArgoCD{RepoURL: gitopsRepo},
		Outputs:    map[string]map[string]string{"db": {"host": "db.internal", "port": "5432", "database": "app_dev", "username": "app"}},
		SecretRefs: map[string]string{"db": "app-db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			quoted := strings.ReplaceAll(tt.value, `\`, `\\`)
			w, err := Parse("score.yaml", []byte(strings.Replace(src, `"VALUE"`, `"`+quoted+`"`, 1)))
			if err != nil {
				t.Fatal(err)
			}
			dep := renderDeployment(t, w, in)
			env := dep.Spec.Template.Spec.Containers[0].Env
			v := findEnv(env, "V")
			if v == nil {
				t.Fatalf("no variable V in %+v", env)
			}
			if tt.wantSecret != "" {
				ref := v.ValueFrom
				if ref == nil || ref.SecretKeyRef == nil || ref.SecretKeyRef.Name+"/"+ref.SecretKeyRef.Key != tt.wantSecret || v.Value != "" {
					t.Errorf("got %+v, want a secretKeyRef to %s and no value", v, tt.wantSecret)
				}
				return
			}
			if v.Value != tt.wantValue || v.ValueFrom != nil {
				t.Errorf("got value %q (valueFrom %v), want %q", v.Value, v.ValueFrom, tt.wantValue)
			}
		})
	}
}
