package actions

import (
	"context"
	"fmt"
	"strings"

	"github.com/goldenpathidp/goldenpath/internal/scaffold"
	"github.com/goldenpathidp/goldenpath/internal/scaffold/expr"
	"go.yaml.in/yaml/v3"
)

// Catalog is what the catalog actions need of goldenpath's catalog.
type Catalog interface {
	// Register adds a location (a URL of a catalog-info.yaml) for the task's user, with that user's rights in
	// the catalog, and returns the refs of its entities.
	Register(ctx context.Context, u scaffold.User, target string) ([]string, error)
	// Fetch returns an entity as a JSON object; a missing entity is an error wrapping ErrEntityNotFound.
	Fetch(ctx context.Context, ref, defaultKind, defaultNamespace string) (map[string]any, error)
}

// ErrEntityNotFound is what Catalog.Fetch wraps for a missing entity.
var ErrEntityNotFound = fmt.Errorf("entity not found")

// CatalogRegister is catalog:register.
func CatalogRegister(cat Catalog) scaffold.Action {
	return &action{
		id:          "catalog:register",
		description: "Registers a catalog-info.yaml with goldenpath's catalog; its entities are read at once.",
		input: object(map[string]any{
			"catalogInfoUrl":  str("URL of the catalog-info.yaml"),
			"repoContentsUrl": str("URL of the repository contents (from a publish action)"),
			"catalogInfoPath": str("Path of the catalog file within the repository (default /catalog-info.yaml)"),
			"optional":        boolean("Do not fail when the location holds no valid entity"),
		}),
		output: object(map[string]any{"entityRef": str("The first entity's ref"), "catalogInfoUrl": str("The registered URL")}),
		run: func(ctx context.Context, ac *scaffold.ActionContext) error {
			target := ac.String("catalogInfoUrl", "")
			if target == "" {
				base := ac.String("repoContentsUrl", "")
				if base == "" {
					return fmt.Errorf("input: give catalogInfoUrl, or repoContentsUrl (with catalogInfoPath)")
				}
				target = strings.TrimRight(base, "/") + "/" + strings.TrimLeft(ac.String("catalogInfoPath", "/catalog-info.yaml"), "/")
			}
			ac.Output("catalogInfoUrl", target)
			if ac.DryRun {
				return dryRunRegister(ac, target)
			}
			refs, err := cat.Register(ctx, ac.User, target)
			if err != nil {
				if ac.Bool("optional", false) {
					ac.Logf("Could not register %s (optional): %v", target, err)
					return nil
				}
				return fmt.Errorf("registering %s: %w", target, err)
			}
			if len(refs) == 0 {
				if ac.Bool("optional", false) {
					return nil
				}
				return fmt.Errorf("registering %s: it holds no entity", target)
			}
			ac.Logf("Registered %s: %s", target, strings.Join(refs, ", "))
			ac.Output("entityRef", refs[0])
			return nil
		},
	}
}

// dryRunRegister reports the entity the workspace's catalog file would register.
func dryRunRegister(ac *scaffold.ActionContext, target string) error {
	path := ac.String("catalogInfoPath", "/catalog-info.yaml")
	raw, err := readWorkspaceFile(ac, path)
	if err != nil {
		ac.Logf("Dry run: would register %s (no %s in the workspace to preview)", target, path)
		return nil
	}
	var e struct {
		Kind     string `yaml:"kind"`
		Metadata struct {
			Name      string `yaml:"name"`
			Namespace string `yaml:"namespace"`
		} `yaml:"metadata"`
	}
	if err := yaml.Unmarshal(raw, &e); err != nil || e.Kind == "" || e.Metadata.Name == "" {
		return fmt.Errorf("dry run: %s in the workspace is not a catalog entity: %v", path, err)
	}
	ns := e.Metadata.Namespace
	if ns == "" {
		ns = "default"
	}
	ref := strings.ToLower(e.Kind + ":" + ns + "/" + e.Metadata.Name)
	ac.Logf("Dry run: would register %s as %s", target, ref)
	ac.Output("entityRef", ref)
	return nil
}

// CatalogFetch is catalog:fetch.
func CatalogFetch(cat Catalog) scaffold.Action {
	return &action{
		id:          "catalog:fetch",
		description: "Returns an entity (or entities) from the catalog.",
		input: object(map[string]any{
			"entityRef":        str("Entity ref"),
			"entityRefs":       strs("Entity refs"),
			"optional":         boolean("Return nothing instead of failing when not found"),
			"defaultKind":      str("Kind for refs without one"),
			"defaultNamespace": str("Namespace for refs without one"),
		}),
		output: object(map[string]any{"entity": map[string]any{"type": "object"}, "entities": map[string]any{"type": "array"}}),
		run: func(ctx context.Context, ac *scaffold.ActionContext) error {
			optional := ac.Bool("optional", false)
			fetch := func(ref string) (any, error) {
				e, err := cat.Fetch(ctx, ref, ac.String("defaultKind", ""), ac.String("defaultNamespace", ""))
				if err != nil && optional {
					return nil, nil
				}
				return e, err
			}
			if ref := ac.String("entityRef", ""); ref != "" {
				e, err := fetch(ref)
				if err != nil {
					return err
				}
				ac.Output("entity", e)
			}
			if refs := ac.Strings("entityRefs"); len(refs) > 0 {
				var out []any
				for _, r := range refs {
					e, err := fetch(r)
					if err != nil {
						return err
					}
					out = append(out, e)
				}
				ac.Output("entities", out)
			}
			return nil
		},
	}
}

// CatalogWrite is catalog:write.
func CatalogWrite() scaffold.Action {
	return &action{
		id:          "catalog:write",
		description: "Writes an entity as a catalog-info.yaml in the workspace.",
		input: object(map[string]any{
			"entity":   map[string]any{"type": "object", "title": "The entity"},
			"filePath": str("Path within the workspace (default catalog-info.yaml)"),
		}, "entity"),
		run: func(ctx context.Context, ac *scaffold.ActionContext) error {
			raw, err := expr.StringifyYAML(ac.Input["entity"]) // as Backstage's yaml.stringify writes it
			if err != nil {
				return fmt.Errorf("input.entity: %w", err)
			}
			if expr.HasSecret(ac.SecretInput("entity")) {
				ac.AddSecret(raw) // YAML may quote or fold a secret: the whole file is hidden where shown
			}
			ac.Logf("Writing %s", ac.String("filePath", "catalog-info.yaml"))
			// A symlink at filePath is replaced, not written through.
			if err := ac.Workspace.WriteFile(ac.String("filePath", "catalog-info.yaml"), []byte(raw), false); err != nil {
				return fmt.Errorf("input.filePath: %w", err)
			}
			return nil
		},
	}
}
