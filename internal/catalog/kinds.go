package catalog

// The kinds goldenpath's catalog understands, with the spec fields Backstage's kind schemas define
// (packages/catalog-model/src/schema/kinds) and the relations its BuiltinKindsEntityProcessor derives
// from them. One table drives both validation and relation derivation, so they cannot drift apart.

type fieldShape int

const (
	shapeString fieldShape = iota // a non-empty string
	shapeList                     // an array of non-empty strings (may be empty)
	shapeObject                   // a mapping
	shapeSteps                    // a Template's steps: an array of mappings with an action
	shapeParams                   // a Template's parameters: a mapping or an array of mappings
)

type specField struct {
	name     string
	shape    fieldShape
	required bool
	// Fields that hold entity refs: isRef is set, defaultKind applies to refs without a kind ("" means the
	// ref must name its kind), and rel/inverse are the relation pair the field produces.
	isRef        bool
	defaultKind  string
	rel, inverse string
}

type kindSchema struct {
	name        string // as written in descriptors, e.g. "Component"
	apiVersions []string
	fields      []specField
	// needsOneOf lists fields of which at least one must be present (Location: target or targets).
	needsOneOf []string
}

// Relation types, as Backstage names them.
const (
	RelationOwnedBy       = "ownedBy"
	RelationOwnerOf       = "ownerOf"
	RelationPartOf        = "partOf"
	RelationHasPart       = "hasPart"
	RelationDependsOn     = "dependsOn"
	RelationDependencyOf  = "dependencyOf"
	RelationProvidesAPI   = "providesApi"
	RelationAPIProvidedBy = "apiProvidedBy"
	RelationConsumesAPI   = "consumesApi"
	RelationAPIConsumedBy = "apiConsumedBy"
	RelationParentOf      = "parentOf"
	RelationChildOf       = "childOf"
	RelationMemberOf      = "memberOf"
	RelationHasMember     = "hasMember"
)

func backstageVersions() []string { return []string{"backstage.io/v1alpha1", "backstage.io/v1beta1"} }

func scaffolderVersions() []string {
	return []string{"scaffolder.backstage.io/v1beta3", "scaffolder.backstage.io/v1beta2"}
}

func str(name string, required bool) specField {
	return specField{name: name, shape: shapeString, required: required}
}

func ref(name string, shape fieldShape, required bool, defaultKind, rel, inverse string) specField {
	return specField{name: name, shape: shape, required: required, isRef: true, defaultKind: defaultKind, rel: rel, inverse: inverse}
}

func owner() specField {
	return ref("owner", shapeString, true, "group", RelationOwnedBy, RelationOwnerOf)
}

func partOf(name, defaultKind string) specField {
	return ref(name, shapeString, false, defaultKind, RelationPartOf, RelationHasPart)
}

func dependencies() []specField {
	return []specField{
		ref("dependsOn", shapeList, false, "", RelationDependsOn, RelationDependencyOf),
		ref("dependencyOf", shapeList, false, "", RelationDependencyOf, RelationDependsOn),
	}
}

// kindSchemaFor returns the schema of a kind by its exact (case-sensitive) name, as Backstage matches it.
func kindSchemaFor(kind string) (kindSchema, bool) {
	switch kind {
	case "Component":
		return kindSchema{name: kind, apiVersions: backstageVersions(), fields: append([]specField{
			str("type", true), str("lifecycle", true), owner(),
			partOf("system", "system"), partOf("subcomponentOf", "component"),
			ref("providesApis", shapeList, false, "api", RelationProvidesAPI, RelationAPIProvidedBy),
			ref("consumesApis", shapeList, false, "api", RelationConsumesAPI, RelationAPIConsumedBy),
		}, dependencies()...)}, true
	case "API":
		return kindSchema{name: kind, apiVersions: backstageVersions(), fields: []specField{
			str("type", true), str("lifecycle", true), owner(), str("definition", true), partOf("system", "system"),
		}}, true
	case "Resource":
		return kindSchema{name: kind, apiVersions: backstageVersions(), fields: append([]specField{
			str("type", true), owner(), partOf("system", "system"),
		}, dependencies()...)}, true
	case "System":
		return kindSchema{name: kind, apiVersions: backstageVersions(), fields: []specField{
			owner(), partOf("domain", "domain"),
		}}, true
	case "Domain":
		return kindSchema{name: kind, apiVersions: backstageVersions(), fields: []specField{
			owner(), partOf("subdomainOf", "domain"),
		}}, true
	case "Group":
		return kindSchema{name: kind, apiVersions: backstageVersions(), fields: []specField{
			str("type", true),
			ref("children", shapeList, true, "group", RelationParentOf, RelationChildOf),
			ref("parent", shapeString, false, "group", RelationChildOf, RelationParentOf),
			ref("members", shapeList, false, "user", RelationHasMember, RelationMemberOf),
			{name: "profile", shape: shapeObject},
		}}, true
	case "User":
		return kindSchema{name: kind, apiVersions: backstageVersions(), fields: []specField{
			ref("memberOf", shapeList, true, "group", RelationMemberOf, RelationHasMember),
			{name: "profile", shape: shapeObject},
		}}, true
	case "Location":
		return kindSchema{name: kind, apiVersions: backstageVersions(), fields: []specField{
			str("type", false), str("target", false), {name: "targets", shape: shapeList},
		}, needsOneOf: []string{"target", "targets"}}, true
	case "Template":
		return kindSchema{name: kind, apiVersions: scaffolderVersions(), fields: []specField{
			str("type", true), {name: "steps", shape: shapeSteps, required: true},
			{name: "parameters", shape: shapeParams}, {name: "output", shape: shapeObject},
			ref("owner", shapeString, false, "group", RelationOwnedBy, RelationOwnerOf),
		}}, true
	}
	return kindSchema{}, false
}

// Kinds lists the kinds the catalog accepts, in Backstage's spelling.
func Kinds() []string {
	return []string{"API", "Component", "Domain", "Group", "Location", "Resource", "System", "Template", "User"}
}
