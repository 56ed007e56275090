package actions

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/scaffold"
)

func TestCatalogAnnotators(t *testing.T) {
	at := time.Date(2025, 1, 31, 13, 4, 5, 0, time.UTC)
	acts := []scaffold.Action{CatalogTimestamping(func() time.Time { return at }), CatalogScaffoldedFrom(), CatalogAnnotate()}
	ws, res, _, err := runSteps(t, context.Background(), acts, `
    - {id: ts, action: catalog:timestamping}
    - {id: sf, action: catalog:scaffolded-from}
    - {id: an, action: catalog:annotate, input: {objectYaml: {kind: Component, metadata: {name: x}}, labels: "a=b;bad;c = d", annotations: "x=y", writeToFile: out/entity.yaml}}
`, map[string]string{"catalog-info.yaml": "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: orders\n  annotations:\n    github.com/project-slug: a/b\nspec:\n  type: service\n"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: orders
  annotations:
    github.com/project-slug: a/b
    backstage.io/createdAt: 1/31/2025, 01:04:05 PM
  labels: {}
spec:
  type: service
  scaffoldedFrom: template:default/t
`
	if got := readWS(t, ws, "catalog-info.yaml"); got != want {
		t.Errorf("catalog-info.yaml:\n%s\nwant\n%s", got, want)
	}
	if got := stepOutput(res, "ts")["annotatedObject"].(string); !strings.Contains(got, "backstage.io/createdAt: 1/31/2025, 01:04:05 PM") {
		t.Errorf("annotatedObject: %s", got)
	}
	wantAn := "kind: Component\nmetadata:\n  name: x\n  annotations:\n    x: y\n  labels:\n    a: b\n    c: d\nspec: {}\n"
	if got := readWS(t, ws, "out/entity.yaml"); got != wantAn {
		t.Errorf("catalog:annotate wrote\n%s\nwant\n%s", got, wantAn)
	}
	if got := createdAt(time.Date(2025, 1, 1, 0, 5, 0, 0, time.UTC)); got != "1/1/2025, 12:05:00 AM" {
		t.Errorf("midnight: got %s", got)
	}
}
