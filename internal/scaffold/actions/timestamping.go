package actions

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/scaffold"
	"github.com/goldenpathidp/goldenpath/internal/scaffold/expr"
)

// The annotator actions of Janus IDP's scaffolder-backend-module-annotator: catalog:timestamping,
// catalog:scaffolded-from and catalog:annotate read an entity (objectYaml, or the workspace's
// entityFilePath, default catalog-info.yaml), add labels, annotations or spec fields, and output the result
// as YAML (annotatedObject); the first two write it back to catalog-info.yaml, all write it to writeToFile.

// annotation is what an annotator action adds by itself.
type annotation struct {
	annotations, labels, spec func(ac *scaffold.ActionContext) map[string]any
}

func annotatorInput() map[string]any {
	return object(map[string]any{
		"labels":         str("Labels that will be applied to the object (key=value;key=value)"),
		"annotations":    str("Annotations that will be applied to the object (key=value;key=value)"),
		"entityFilePath": str("Path to the entity yaml you want to annotate (default catalog-info.yaml)"),
		"objectYaml":     map[string]any{"type": "object", "title": "Entity object yaml you want to annotate"},
		"writeToFile":    str("Path to the file you want to write"),
	})
}

func annotator(id, description, logMsg string, add annotation) scaffold.Action {
	return &action{
		id:          id,
		description: description,
		input:       annotatorInput(),
		output: object(map[string]any{"annotatedObject": map[string]any{"type": "string",
			"title": "The entity object annotated with your desired annotation(s), label(s) and spec property(ies)"}}),
		run: func(ctx context.Context, ac *scaffold.ActionContext) error {
			entity, err := entityToAnnotate(ac)
			if err != nil {
				return err
			}
			own := annotated{}
			if add.annotations != nil {
				own.annotations = add.annotations(ac)
			}
			if add.labels != nil {
				own.labels = add.labels(ac)
			}
			if add.spec != nil {
				own.spec = add.spec(ac)
			}
			out := annotate(entity, own, keyValues(ac.String("annotations", "")), keyValues(ac.String("labels", "")))
			text, err := yamlStringify(out, nil)
			if err != nil {
				return err
			}
			if expr.HasSecret(ac.SecretInput("objectYaml")) {
				ac.AddSecret(text)
			}
			ac.Logf("%s", logMsg)
			if len(own.annotations)+len(own.labels)+len(own.spec) > 0 {
				if err := ac.Workspace.WriteFile("catalog-info.yaml", []byte(text), false); err != nil {
					return fmt.Errorf("writing catalog-info.yaml: %w", err)
				}
			}
			if to := ac.String("writeToFile", ""); to != "" {
				if err := ac.Workspace.WriteFile(strings.TrimPrefix(to, "./"), []byte(text), false); err != nil {
					return fmt.Errorf("input.writeToFile: %w", err)
				}
			}
			ac.Output("annotatedObject", text)
			return nil
		},
	}
}

type annotated struct{ annotations, labels, spec map[string]any }

// entityToAnnotate is objectYaml, or the entity file of the workspace.
func entityToAnnotate(ac *scaffold.ActionContext) (*expr.Map, error) {
	var v any
	if obj := ac.Input["objectYaml"]; obj != nil {
		v = obj
	} else {
		p := ac.String("entityFilePath", "./catalog-info.yaml")
		raw, err := readWorkspaceFile(ac, strings.TrimPrefix(p, "./"))
		if err != nil {
			return nil, fmt.Errorf("input.entityFilePath: %w", err)
		}
		if v, err = parseYAMLOne(raw); err != nil {
			return nil, fmt.Errorf("input.entityFilePath: %s: %w", p, err)
		}
	}
	m, ok := ordered(v).(*expr.Map)
	if !ok {
		return nil, fmt.Errorf("input: the entity to annotate is not an object")
	}
	if md, _ := m.Get("metadata"); md == nil {
		return nil, fmt.Errorf("input: the entity to annotate has no metadata")
	}
	return m, nil
}

// annotate returns entity with metadata.annotations, metadata.labels and spec extended (the original
// always writes the labels and annotations maps, empty or not).
func annotate(entity *expr.Map, own annotated, annotations, labels map[string]any) *expr.Map {
	out := ordered(entity).(*expr.Map)
	mdv, _ := out.Get("metadata")
	md, ok := mdv.(*expr.Map)
	if !ok {
		md = expr.NewMap()
	}
	md.Set("annotations", extend(md, "annotations", own.annotations, annotations))
	md.Set("labels", extend(md, "labels", own.labels, labels))
	out.Set("metadata", md)
	out.Set("spec", extend(out, "spec", own.spec))
	return out
}

func extend(parent *expr.Map, key string, adds ...map[string]any) *expr.Map {
	cur, _ := parent.Get(key)
	m, ok := cur.(*expr.Map)
	if !ok {
		m = expr.NewMap()
	}
	for _, add := range adds {
		for _, k := range slices.Sorted(maps.Keys(add)) {
			m.Set(k, add[k])
		}
	}
	return m
}

// keyValues reads "a=b;c=d" (pairs without = or with an empty side are left out, as the original does).
func keyValues(s string) map[string]any {
	out := map[string]any{}
	for _, pair := range strings.Split(s, ";") {
		k, v, ok := strings.Cut(pair, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if ok && k != "" && v != "" {
			out[k] = v
		}
	}
	return out
}

// createdAt formats t as the original's timestamp does (en-US date, 12-hour time): "1/31/2025, 01:00:00 PM".
func createdAt(t time.Time) string {
	h := t.Hour() % 12
	if h == 0 {
		h = 12
	}
	ampm := "AM"
	if t.Hour() >= 12 {
		ampm = "PM"
	}
	return fmt.Sprintf("%d/%d/%d, %02d:%02d:%02d %s", int(t.Month()), t.Day(), t.Year(), h, t.Minute(), t.Second(), ampm)
}

// CatalogTimestamping is catalog:timestamping: the backstage.io/createdAt annotation, the time of the run (UTC).
func CatalogTimestamping(now func() time.Time) scaffold.Action {
	if now == nil {
		now = time.Now
	}
	return annotator("catalog:timestamping",
		"Annotates the scaffolded entity with its creation time (backstage.io/createdAt).",
		"Annotating catalog-info.yaml with current timestamp",
		annotation{annotations: func(*scaffold.ActionContext) map[string]any {
			return map[string]any{"backstage.io/createdAt": createdAt(now().UTC())}
		}})
}

// CatalogScaffoldedFrom is catalog:scaffolded-from: spec.scaffoldedFrom, the template's entity ref.
func CatalogScaffoldedFrom() scaffold.Action {
	return annotator("catalog:scaffolded-from",
		"Adds spec.scaffoldedFrom, the ref of the template the entity was scaffolded from.",
		"Annotating catalog-info.yaml with template entityRef",
		annotation{spec: func(ac *scaffold.ActionContext) map[string]any {
			if ac.Template == nil {
				return nil
			}
			return map[string]any{"scaffoldedFrom": ac.Template.Ref()}
		}})
}

// CatalogAnnotate is catalog:annotate: the labels and annotations given as input.
func CatalogAnnotate() scaffold.Action {
	return annotator("catalog:annotate",
		"Annotates an entity object with the given label(s) and annotation(s).",
		"Annotating your object", annotation{})
}
