package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Filter selects entities the way Backstage's catalog does: conditions on search keys (lower-case dotted
// paths such as "kind", "spec.type", "metadata.annotations.backstage.io/techdocs-ref" or
// "relations.ownedby"), compared case-insensitively, combined with all, any and not. An array field
// matches when any element does. A nil *Filter matches every entity.
type Filter struct {
	op     filterOp
	subs   []*Filter
	key    string   // opField: lower-case search key
	match  matchOp  // opField
	values []string // opField: lower-case values (matchIn), the prefix (matchPrefix) or the term (matchText)
	keys   []string // opField with matchText: the keys searched
}

type filterOp int

const (
	opField filterOp = iota
	opAll
	opAny
	opNot
)

type matchOp int

const (
	matchIn     matchOp = iota // the value is one of values
	matchExists                // the key is present (with any value, even null)
	matchPrefix                // the value starts with values[0]
	matchText                  // a value of one of keys contains values[0] (full-text filter)
)

// Where matches entities whose key has one of the values (case-insensitively).
func Where(key string, values ...string) *Filter {
	lower := make([]string, len(values))
	for i, v := range values {
		lower[i] = strings.ToLower(v)
	}
	return &Filter{op: opField, key: strings.ToLower(key), match: matchIn, values: lower}
}

// Exists matches entities that have key.
func Exists(key string) *Filter {
	return &Filter{op: opField, key: strings.ToLower(key), match: matchExists}
}

// HasPrefix matches entities whose key has a value starting with prefix (case-insensitively).
func HasPrefix(key, prefix string) *Filter {
	return &Filter{op: opField, key: strings.ToLower(key), match: matchPrefix, values: []string{strings.ToLower(prefix)}}
}

// AllOf matches entities every filter matches (a nil filter matches everything, so it is dropped; none at
// all matches nothing, as Backstage's $all: [] does).
func AllOf(fs ...*Filter) *Filter {
	return &Filter{op: opAll, subs: slices.DeleteFunc(slices.Clone(fs), isNilFilter)}
}

// AnyOf matches entities one of the filters matches (none matches nothing; a nil one matches everything).
func AnyOf(fs ...*Filter) *Filter {
	if slices.ContainsFunc(fs, isNilFilter) {
		return everything()
	}
	return &Filter{op: opAny, subs: slices.Clone(fs)}
}

// Not matches entities f does not match.
func Not(f *Filter) *Filter { return &Filter{op: opNot, subs: []*Filter{f}} }

func isNilFilter(f *Filter) bool { return f == nil }

// fullText matches entities where a value of one of keys contains term (case-insensitively).
func fullText(term string, keys []string) *Filter {
	lower := make([]string, len(keys))
	for i, k := range keys {
		lower[i] = strings.ToLower(k)
	}
	return &Filter{op: opField, match: matchText, keys: lower, values: []string{strings.ToLower(term)}}
}

// and combines filters that may be nil.
func and(fs ...*Filter) *Filter {
	fs = slices.DeleteFunc(slices.Clone(fs), isNilFilter)
	switch len(fs) {
	case 0:
		return nil
	case 1:
		return fs[0]
	}
	return &Filter{op: opAll, subs: fs}
}

// ParseFilterParams parses Backstage's filter query parameters: within one parameter, comma-separated
// conditions ("kind=component,spec.type=service") must all hold; of several parameters one must hold. A bare
// key means the key exists; the same key twice in one parameter means either value. No parameters (or only
// empty ones) mean no filter.
func ParseFilterParams(params []string) (*Filter, error) {
	var branches []*Filter
	for _, p := range params {
		f, err := parseFilterString(p)
		if err != nil {
			return nil, err
		}
		if f != nil {
			branches = append(branches, f)
		}
	}
	switch len(branches) {
	case 0:
		return nil, nil
	case 1:
		return branches[0], nil
	}
	return AnyOf(branches...), nil
}

func parseFilterString(s string) (*Filter, error) {
	var order []string
	values := map[string][]string{}
	for _, statement := range strings.Split(s, ",") {
		statement = strings.TrimSpace(statement)
		if statement == "" {
			continue
		}
		key, value, hasValue := strings.Cut(statement, "=")
		key = strings.ToLower(strings.TrimSpace(key))
		if key == "" {
			return nil, fmt.Errorf("filter: %q is not a valid statement (expected a string on the form a=b or a= or a)", statement)
		}
		if _, seen := values[key]; !seen {
			order = append(order, key)
			values[key] = nil
		}
		if hasValue {
			values[key] = append(values[key], strings.TrimSpace(value))
		}
	}
	var conds []*Filter
	for _, key := range order {
		if vs := values[key]; len(vs) > 0 {
			conds = append(conds, Where(key, vs...))
		} else {
			conds = append(conds, Exists(key))
		}
	}
	switch len(conds) {
	case 0:
		return nil, nil
	case 1:
		return conds[0], nil
	}
	return AllOf(conds...), nil
}

// ParsePredicate parses Backstage's filter predicate (the "query" of POST /entities/by-query): $all, $any
// and $not combine predicates; any other key is a search key whose value is a string, number or boolean,
// or one of {"$exists": bool}, {"$in": [...]}, {"$hasPrefix": "..."} and {"$contains": ...}. $contains
// matches an element of an array field; on "relations" it takes {"type": ..., "targetRef": ...}. JSON
// null means no filter.
func ParsePredicate(data []byte) (*Filter, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("query: not valid JSON: %w", err)
	}
	if v == nil {
		return nil, nil
	}
	return parsePredicate(v, "query")
}

// loneOperator fails when $all, $any or $not shares its object with another key.
func loneOperator(obj map[string]any, path string) error {
	for _, op := range []string{"$all", "$any", "$not"} {
		if _, has := obj[op]; has && len(obj) != 1 {
			return fmt.Errorf("%s: %s must be the only key of its object; wrap it in $all to combine it with other conditions", path, op)
		}
	}
	return nil
}

// parsePredicates parses each predicate of list, the array of $all or $any (op) at path, with parse.
func parsePredicates[T any](list []any, path, op string, parse func(any, string) (T, error)) ([]T, error) {
	subs := make([]T, len(list))
	for i, item := range list {
		f, err := parse(item, fmt.Sprintf("%s.%s[%d]", path, op, i))
		if err != nil {
			return nil, err
		}
		subs[i] = f
	}
	return subs, nil
}

func parsePredicate(v any, path string) (*Filter, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: must be an object such as {\"kind\": \"component\"}, not %s", path, jsonTypeName(v))
	}
	if err := loneOperator(obj, path); err != nil {
		return nil, err
	}
	if sub, ok := obj["$not"]; ok {
		f, err := parsePredicate(sub, path+".$not")
		if err != nil {
			return nil, err
		}
		return Not(f), nil
	}
	for _, op := range []string{"$all", "$any"} {
		raw, ok := obj[op]
		if !ok {
			continue
		}
		list, ok := raw.([]any)
		if !ok {
			return nil, fmt.Errorf("%s.%s: must be an array of predicates", path, op)
		}
		subs, err := parsePredicates(list, path, op, parsePredicate)
		if err != nil {
			return nil, err
		}
		if op == "$all" {
			return AllOf(subs...), nil
		}
		return AnyOf(subs...), nil
	}
	var conds []*Filter
	for _, key := range slices.Sorted(maps.Keys(obj)) {
		if strings.HasPrefix(key, "$") {
			return nil, fmt.Errorf("%s: unknown operator %s (supported: $all, $any, $not, and on a field $exists, $in, $hasPrefix, $contains)", path, key)
		}
		f, err := parseFieldPredicate(key, obj[key], path+"."+key)
		if err != nil {
			return nil, err
		}
		conds = append(conds, f)
	}
	switch len(conds) {
	case 0:
		return everything(), nil // {} has no conditions, where an empty $all has no way to hold
	case 1:
		return conds[0], nil
	}
	return AllOf(conds...), nil
}

// everything matches every entity.
func everything() *Filter { return Not(AnyOf()) }

func parseFieldPredicate(key string, v any, path string) (*Filter, error) {
	if s, ok := primitiveString(v); ok {
		return Where(key, s), nil
	}
	obj, ok := v.(map[string]any)
	if !ok || len(obj) != 1 {
		return nil, fmt.Errorf("%s: must be a string, number or boolean, or one of {\"$exists\": bool}, {\"$in\": [...]}, {\"$hasPrefix\": \"...\"}, {\"$contains\": ...}", path)
	}
	for op, arg := range obj {
		switch op {
		case "$exists":
			b, ok := arg.(bool)
			if !ok {
				return nil, fmt.Errorf("%s.$exists: must be true or false", path)
			}
			if b {
				return Exists(key), nil
			}
			return Not(Exists(key)), nil
		case "$in":
			list, ok := arg.([]any)
			if !ok {
				return nil, fmt.Errorf("%s.$in: must be an array of strings, numbers or booleans", path)
			}
			values := make([]string, len(list))
			for i, item := range list {
				if values[i], ok = primitiveString(item); !ok {
					return nil, fmt.Errorf("%s.$in[%d]: must be a string, number or boolean", path, i)
				}
			}
			return Where(key, values...), nil
		case "$hasPrefix":
			s, ok := arg.(string)
			if !ok {
				return nil, fmt.Errorf("%s.$hasPrefix: must be a string", path)
			}
			return HasPrefix(key, s), nil
		case "$contains":
			return parseContains(key, arg, path+".$contains")
		}
		return nil, fmt.Errorf("%s: unknown operator %s (supported: $exists, $in, $hasPrefix, $contains)", path, op)
	}
	panic("unreachable")
}

// parseContains handles $contains: an array field's elements are indexed like single values, so a
// primitive is an equality; on relations, {type, targetRef} is the relation's search key and value.
func parseContains(key string, arg any, path string) (*Filter, error) {
	if s, ok := primitiveString(arg); ok {
		return Where(key, s), nil
	}
	obj, ok := arg.(map[string]any)
	if ok && strings.EqualFold(key, "relations") {
		typ, _ := obj["type"].(string)
		target, hasTarget := obj["targetRef"].(string)
		extra := len(obj) - 1
		if hasTarget {
			extra--
		}
		if typ != "" && extra == 0 {
			if hasTarget {
				return Where(relationKey(typ), target), nil
			}
			return Exists(relationKey(typ)), nil
		}
	}
	return nil, fmt.Errorf("%s: only a string, number or boolean (an element of an array field), or {\"type\": ..., \"targetRef\": ...} on relations, is supported", path)
}

// primitiveString renders a predicate primitive as Backstage compares it (String(value)).
func primitiveString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case json.Number:
		if f, err := x.Float64(); err == nil {
			return strconv.FormatFloat(f, 'f', -1, 64), true
		}
		return x.String(), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	}
	return "", false
}

func jsonTypeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number, float64:
		return "a number"
	}
	return "an object"
}

// MarshalJSON writes the filter as a Backstage filter predicate (what ParsePredicate reads); cursors carry
// their filter this way.
func (f *Filter) MarshalJSON() ([]byte, error) { return json.Marshal(f.predicate()) }

func (f *Filter) predicate() any {
	switch f.op {
	case opAll, opAny:
		subs := make([]any, len(f.subs))
		for i, s := range f.subs {
			subs[i] = s.predicate()
		}
		if f.op == opAll {
			return map[string]any{"$all": subs}
		}
		return map[string]any{"$any": subs}
	case opNot:
		return map[string]any{"$not": f.subs[0].predicate()}
	}
	switch f.match {
	case matchExists:
		return map[string]any{f.key: map[string]any{"$exists": true}}
	case matchPrefix:
		return map[string]any{f.key: map[string]any{"$hasPrefix": f.values[0]}}
	case matchText:
		return map[string]any{"$text": map[string]any{"term": f.values[0], "keys": f.keys}} // cache keys only
	}
	if len(f.values) == 1 {
		return map[string]any{f.key: f.values[0]}
	}
	return map[string]any{f.key: map[string]any{"$in": f.values}}
}

// String is a canonical form, used as a cache key.
func (f *Filter) String() string {
	if f == nil {
		return "*"
	}
	b, _ := json.Marshal(f.predicate())
	return string(b)
}

// needsRelations tells whether evaluating f looks at relations.
func (f *Filter) needsRelations() bool {
	if f == nil {
		return false
	}
	if f.op != opField {
		return slices.ContainsFunc(f.subs, (*Filter).needsRelations)
	}
	if f.match == matchText {
		return slices.ContainsFunc(f.keys, func(k string) bool { return strings.HasPrefix(k, "relations.") })
	}
	return strings.HasPrefix(f.key, "relations.")
}

// candidate is an entity as filters, sorting and facets see it: its identity columns, its stored terms and,
// when asked for, its relations.
type candidate struct {
	id    int64
	ref   string
	uid   string
	name  string
	terms string
	rels  []Relation
}

// matches evaluates f against an entity.
func (f *Filter) matches(c *candidate) bool {
	if f == nil {
		return true
	}
	switch f.op {
	case opAll:
		for _, s := range f.subs {
			if !s.matches(c) {
				return false
			}
		}
		return len(f.subs) > 0
	case opAny:
		return slices.ContainsFunc(f.subs, func(s *Filter) bool { return s.matches(c) })
	case opNot:
		return !f.subs[0].matches(c)
	}
	if f.match == matchText {
		return slices.ContainsFunc(f.keys, func(k string) bool { return c.anyValue(k, f.test) })
	}
	return c.anyValue(f.key, f.test)
}

// test tells whether one value (lower-case, or nullValue) satisfies a field condition.
func (f *Filter) test(v string) bool {
	switch f.match {
	case matchExists:
		return true
	case matchIn:
		return v != nullValue && slices.Contains(f.values, v)
	case matchPrefix:
		return v != nullValue && strings.HasPrefix(v, f.values[0])
	case matchText:
		return v != nullValue && strings.Contains(v, f.values[0])
	}
	return false
}

// anyValue reports whether one of the entity's values for key satisfies fn.
func (c *candidate) anyValue(key string, fn func(string) bool) bool {
	if key == "metadata.uid" {
		return fn(c.uid)
	}
	if strings.HasPrefix(key, "relations.") {
		for _, r := range c.rels {
			if relationKey(r.Type) == key && fn(r.TargetRef) {
				return true
			}
		}
		return false
	}
	ckey := compressKey(key)
	it := termIter{c.terms}
	for t, ok := it.next(); ok; t, ok = it.next() {
		if (t.key == ckey && fn(t.value)) || (t.isElementKey(ckey) && fn("true")) {
			return true
		}
	}
	return false
}

// values returns the entity's values for key: lower-case for comparing, and as written.
func (c *candidate) values(key string) (lower, original []string) {
	if key == "metadata.uid" {
		return []string{c.uid}, []string{c.uid}
	}
	if strings.HasPrefix(key, "relations.") {
		for _, r := range c.rels {
			if relationKey(r.Type) == key {
				lower, original = append(lower, r.TargetRef), append(original, r.TargetRef)
			}
		}
		return lower, original
	}
	ckey := compressKey(key)
	it := termIter{c.terms}
	for t, ok := it.next(); ok; t, ok = it.next() {
		switch {
		case t.key == ckey:
			lower, original = append(lower, t.value), append(original, t.original)
		case t.isElementKey(ckey):
			lower, original = append(lower, "true"), append(original, "true")
		}
	}
	return lower, original
}
