package contract

import (
	"encoding/json"
	"fmt"
	"sync"

	"github.com/goldenpathidp/goldenpath/internal/strictyaml"
)

// Name patterns. Names are DNS labels short enough that the names derived from them (a bucket
// "<name>-<environment>", a database "<name>_<environment>") stay within every backend's limits.
const (
	namePattern  = `^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$`
	ownerPattern = `^[a-z0-9]([a-z0-9._-]{0,62})$`
	teamPattern  = `^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`
	envPattern   = `^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$`
	k8sVersion   = `^1\.[0-9]{1,2}$`
	ttlPattern   = `^([0-9]+h)?([0-9]+m)?$`
	labelKey     = `^([a-z0-9.-]{1,253}/)?[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$`
)

var patternRules = map[string]string{
	namePattern:  "is not a valid name: a DNS label of 1-40 lowercase letters, digits and '-', starting with a letter and not ending with '-'",
	ownerPattern: "is not a valid user name: lowercase letters, digits, '.', '_' and '-', at most 63 characters",
	teamPattern:  "is not a valid team name: a DNS label of lowercase letters, digits and '-'",
	envPattern:   "is not a valid environment name: a lowercase DNS label",
	k8sVersion:   `is not a Kubernetes minor version such as "1.34"`,
	ttlPattern:   `is not a duration in hours and minutes such as "8h" or "1h30m"`,
	labelKey:     "is not a valid label key",
}

func obj(required []string, props map[string]any) map[string]any {
	m := map[string]any{"type": "object", "additionalProperties": false, "properties": props}
	if len(required) > 0 {
		m["required"] = required
	}
	return m
}

func str(desc string, extra ...any) map[string]any {
	m := map[string]any{"type": "string", "description": desc}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i].(string)] = extra[i+1]
	}
	return m
}

func boolean(desc string) map[string]any {
	return map[string]any{"type": "boolean", "description": desc}
}

func sizeProp() map[string]any {
	return str("Size class, mapped to concrete settings by sizeClasses in platform.yaml (small, medium, large, xlarge by default).",
		"pattern", `^[a-z][a-z0-9-]{0,30}$`)
}

func specSchema(k Kind) map[string]any {
	switch k {
	case ECR:
		return obj([]string{"size"}, map[string]any{
			"size":            sizeProp(),
			"tagImmutability": boolean("Once pushed, a tag can never point at another image."),
			"scanOnPush":      boolean("Scan images for vulnerabilities when pushed (recorded locally; performed by ECR on aws)."),
		})
	case RDS:
		return obj([]string{"engine", "size"}, map[string]any{
			"engine":        map[string]any{"enum": []string{"postgres"}, "description": "Database engine. Immutable."},
			"engineVersion": str("Major engine version, e.g. \"16\". Informational in the local backend.", "pattern", `^[0-9]{1,2}(\.[0-9]+)?$`),
			"size":          sizeProp(),
			"databaseName":  str("Name of the database inside the server. Defaults to the request name with '-' replaced by '_'. Immutable.", "pattern", `^[a-z_][a-z0-9_]{0,62}$`),
		})
	case S3:
		return obj([]string{"size"}, map[string]any{
			"size":       sizeProp(),
			"versioning": boolean("Keep every version of every object."),
			"encryption": map[string]any{"enum": []string{"AES256", "aws:kms"}, "description": "Server-side encryption. Defaults to AES256."},
		})
	case Secret:
		return obj(nil, map[string]any{
			"description":  str("What the secret is for. Its value is never stored in git: set it with `goldenpath secret set`.", "maxLength", 500),
			"rotationDays": map[string]any{"type": "integer", "minimum": 0, "maximum": 365, "description": "Rotation reminder period in days; 0 = none."},
		})
	case EKS:
		return obj([]string{"size", "ttl"}, map[string]any{
			"size":              sizeProp(),
			"kubernetesVersion": str("Kubernetes minor version, e.g. \"1.34\".", "pattern", k8sVersion),
			"ttl":               str("How long the ephemeral cluster lives, e.g. \"8h\" (at most 168h).", "pattern", ttlPattern, "minLength", 2),
		})
	}
	return nil
}

func kindSchema(info KindInfo) map[string]any {
	return map[string]any{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"$id":                  schemaURL(info.Kind),
		"title":                string(info.Kind),
		"description":          fmt.Sprintf("A request for a %s. Lives at %s.", info.Title, PathFor(info.Kind, "<name>")),
		"type":                 "object",
		"additionalProperties": false,
		"required":             []string{"apiVersion", "kind", "metadata", "spec"},
		"properties": map[string]any{
			"apiVersion": map[string]any{"const": APIVersion},
			"kind":       map[string]any{"const": string(info.Kind)},
			"metadata": obj([]string{"name", "owner", "team", "environment"}, map[string]any{
				"name":        str("Name of the request; unique per kind and environment.", "pattern", namePattern),
				"owner":       str("The goldenpath user who owns the resource and receives its credentials.", "pattern", ownerPattern),
				"team":        str("The team that owns the resource; its members share access.", "pattern", teamPattern),
				"environment": str("One of the environments in platform.yaml.", "pattern", envPattern),
				"description": str("Free text.", "maxLength", 500),
				"labels": map[string]any{
					"type": "object", "maxProperties": 32,
					"propertyNames":        map[string]any{"pattern": labelKey},
					"additionalProperties": map[string]any{"type": "string", "maxLength": 63},
				},
			}),
			"spec": specSchema(info.Kind),
		},
	}
}

func schemaURL(k Kind) string { return "https://goldenpath.io/schemas/v1/" + string(k) + ".json" }

// SchemaJSON returns the published JSON Schema of kind k, indented.
func SchemaJSON(k Kind) ([]byte, error) {
	info, ok := k.Info()
	if !ok {
		return nil, fmt.Errorf("unknown kind %q", k)
	}
	return json.MarshalIndent(kindSchema(info), "", "  ")
}

var compiledSchemas = sync.OnceValues(func() (map[Kind]*strictyaml.Schema, error) {
	out := map[Kind]*strictyaml.Schema{}
	for _, info := range kinds {
		raw, err := SchemaJSON(info.Kind)
		if err != nil {
			return nil, err
		}
		s, err := strictyaml.Compile(schemaURL(info.Kind), raw, patternRules)
		if err != nil {
			return nil, err
		}
		out[info.Kind] = s
	}
	return out, nil
})
