package catalog

import (
	"cmp"
	"slices"
)

// Relations derives Backstage's relation pairs from an entity's spec fields: ownedBy/ownerOf (spec.owner,
// default kind Group), partOf/hasPart (spec.system, spec.domain, spec.subdomainOf, spec.subcomponentOf),
// dependsOn/dependencyOf, providesApi/apiProvidedBy, consumesApi/apiConsumedBy, parentOf/childOf (Group
// parent/children), memberOf/hasMember (User memberOf, Group members). Refs without a namespace take the
// entity's own. It returns the entity's own relations and, per target, the inverse relations that point back
// at the entity. Malformed refs are skipped: validation reports them.
func Relations(e *Entity) (own []Relation, inverse map[Ref][]Relation) {
	schema, ok := kindSchemaFor(e.Kind)
	if !ok {
		return nil, nil
	}
	self := e.Ref()
	selfRef := self.String()
	inverse = map[Ref][]Relation{}
	seen := map[Relation]bool{}
	for _, f := range schema.fields {
		if !f.isRef {
			continue
		}
		for _, s := range refValues(e.Spec[f.name]) {
			target, err := ParseRef(s, f.defaultKind, self.Namespace)
			if err != nil {
				continue
			}
			r := Relation{Type: f.rel, TargetRef: target.String()}
			if seen[r] {
				continue
			}
			seen[r] = true
			own = append(own, r)
			inverse[target] = append(inverse[target], Relation{Type: f.inverse, TargetRef: selfRef})
		}
	}
	sortRelations(own)
	return own, inverse
}

func refValues(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []string:
		return t
	case []any:
		out := make([]string, 0, len(t))
		for _, item := range t {
			if s, ok := item.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func sortRelations(rs []Relation) {
	slices.SortFunc(rs, func(a, b Relation) int {
		return cmp.Or(cmp.Compare(a.Type, b.Type), cmp.Compare(a.TargetRef, b.TargetRef))
	})
}
