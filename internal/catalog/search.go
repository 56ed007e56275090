package catalog

import (
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Search terms are Backstage's search table, kept per entity: every leaf of the entity's document as a
// lower-case dotted key and its value (arrays contribute one term per element, plus "key.element" = true
// for string elements), so filters can match any field the way Backstage's do. They are stored with the
// entity as one compact text column instead of a row per term: a row per term is what makes Backstage's
// ingest slow, and a filter is evaluated against the few terms of each entity it looks at. What has to be
// fast over a whole catalog (counts and facets) is kept as maintained counts instead (see facets.go).

// Backstage's limits on indexed keys and values: longer values are indexed as null (the key still exists).
const (
	maxTermKey   = 200
	maxTermValue = 200
)

// nullValue stands for a null (or over-long) value: the key exists but matches no value.
const nullValue = "\x00"

// Separators of the stored terms text; neither can appear in YAML- or JSON-decoded keys or values that
// matter (control characters), and a value containing one is indexed as null.
const (
	termSep   = '\x1f' // between the fields of a term
	recordSep = '\x1e' // after each term
)

// term is one search term of an entity.
type term struct {
	key      string // lower-case dotted path
	value    string // lower-case value, or nullValue
	original string // the value as written (what facets show)
	counted  bool   // kept in the facet counts
	// element marks a string in an array. Backstage also indexes each as "key.element" = true (so several
	// tags can be required at once); those terms are implied by this flag instead of stored.
	element bool
}

// entityTerms returns the search terms of an entity's own document (its relations are terms too, but they
// live in the relations table because other entities' writes change them).
func entityTerms(e *Entity) []term {
	terms, _ := entityIndex(e)
	return terms
}

// entityIndex returns the entity's terms and the keys of its arrays of strings (whose elements also make
// "key.element" terms).
func entityIndex(e *Entity) ([]term, []string) {
	t := termCollector{seen: map[[2]string]bool{}}
	t.add("apiVersion", e.APIVersion, false)
	t.add("kind", e.Kind, false)
	t.add("metadata.name", e.Metadata.Name, false)
	ns := e.Metadata.Namespace
	if ns == "" {
		ns = defaultNS
	}
	t.add("metadata.namespace", ns, false)
	md := e.Metadata
	t.scalar("metadata.title", md.Title)
	t.scalar("metadata.description", md.Description)
	for _, k := range slices.Sorted(maps.Keys(md.Labels)) {
		t.add("metadata.labels."+k, md.Labels[k], false)
	}
	for _, k := range slices.Sorted(maps.Keys(md.Annotations)) {
		t.add("metadata.annotations."+k, md.Annotations[k], false)
	}
	if md.Tags != nil {
		tags := make([]any, len(md.Tags))
		for i, tag := range md.Tags {
			tags[i] = tag
		}
		t.visit("metadata.tags", tags)
	}
	for _, l := range md.Links {
		t.add("metadata.links.url", l.URL, false)
		t.scalar("metadata.links.title", l.Title)
		t.scalar("metadata.links.icon", l.Icon)
		t.scalar("metadata.links.type", l.Type)
	}
	for _, k := range slices.Sorted(maps.Keys(md.Extra)) {
		if !isMetadataKey(k) && k != "generation" {
			t.visit("metadata."+k, md.Extra[k])
		}
	}
	if e.Spec != nil {
		t.visit("spec", e.Spec)
	}
	return t.terms, t.arrays
}

type termCollector struct {
	terms  []term
	seen   map[[2]string]bool
	arrays []string
}

func (t *termCollector) array(path string) {
	path = strings.ToLower(path)
	if !slices.Contains(t.arrays, path) {
		t.arrays = append(t.arrays, path)
	}
}

// scalar adds an optional string field: Backstage indexes what is present, and omitted fields are absent.
func (t *termCollector) scalar(key, v string) {
	if v != "" {
		t.add(key, v, false)
	}
}

func (t *termCollector) visit(path string, v any) {
	switch x := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			t.visit(path+"."+k, x[k])
		}
	case []any:
		for _, item := range x {
			if s, ok := item.(string); ok {
				t.array(path)
				t.add(path, s, true)
				continue
			}
			t.visit(path, item)
		}
	case []string:
		for _, s := range x {
			t.array(path)
			t.add(path, s, true)
		}
	case map[string]string:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			t.add(path+"."+k, x[k], false)
		}
	default:
		if s, ok := scalarString(v); ok {
			t.add(path, s, false)
		} else {
			t.addNull(path)
		}
	}
}

// scalarString renders a scalar the way JavaScript's String() does, which is what Backstage indexes.
func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case int:
		return strconv.Itoa(x), true
	}
	return "", false
}

// add records key = value; element marks a string of an array.
func (t *termCollector) add(key, value string, element bool) {
	key = strings.ToLower(key)
	if len(key) > maxTermKey || strings.ContainsFunc(key, isControl) {
		return // control bytes are the stored text's separators and key prefixes
	}
	lower := strings.ToLower(value)
	if len(lower) > maxTermValue || strings.ContainsAny(value, "\x00\x1e\x1f") {
		t.addNull(key)
		return
	}
	k := [2]string{key, lower}
	if t.seen[k] {
		return
	}
	t.seen[k] = true
	t.terms = append(t.terms, term{key: key, value: lower, original: value, counted: countedKey(key), element: element})
}

func isControl(r rune) bool { return r < 0x20 }

func (t *termCollector) addNull(key string) {
	key = strings.ToLower(key)
	if strings.ContainsFunc(key, isControl) {
		return
	}
	k := [2]string{key, nullValue}
	if len(key) > maxTermKey || t.seen[k] {
		return
	}
	t.seen[k] = true
	t.terms = append(t.terms, term{key: key, value: nullValue, original: nullValue, counted: countedKey(key)})
}

// countedKey tells whether a key's values are kept in the facet counts. Keys whose values are unique to
// (almost) every entity are left out: counting them would cost a row per entity and answer nothing a
// facet picker asks; counts and facets over them are computed when asked.
func countedKey(key string) bool {
	switch key {
	case "metadata.name", "metadata.title", "metadata.description", "metadata.uid", "metadata.etag":
		return false
	}
	for _, p := range []string{"metadata.annotations.", "metadata.links.", "spec.profile."} {
		if strings.HasPrefix(key, p) {
			return false
		}
	}
	return true
}

// countedRelation tells whether relations of this type are kept in the facet counts: the ones that point
// "up" at a small set of targets (owners, systems, groups), which is what owner and system pickers facet on.
func countedRelation(typ string) bool {
	switch typ {
	case RelationOwnedBy, RelationPartOf, RelationMemberOf, RelationChildOf:
		return true
	}
	return false
}

// singleStater tells whether only one entity can state relations of this type: the source of an own
// relation (ownedBy, partOf, providesApi, consumesApi) or the entity whose own relation it is the inverse
// of. Such a relation's row exists exactly while that entity states it. Membership, hierarchy and
// dependencies can be stated from both ends.
func singleStater(typ string) bool {
	switch typ {
	case RelationOwnedBy, RelationOwnerOf, RelationPartOf, RelationHasPart, RelationProvidesAPI, RelationAPIProvidedBy,
		RelationConsumesAPI, RelationAPIConsumedBy:
		return true
	}
	return false
}

// relationKey is the search key of a relation type, e.g. "relations.ownedby".
func relationKey(typ string) string { return "relations." + strings.ToLower(typ) }

// relationTypeOf maps a lower-case search key back to its relation type ("" if it is not one).
func relationTypeOf(key string) string {
	name, ok := strings.CutPrefix(key, "relations.")
	if !ok {
		return ""
	}
	for _, t := range relationTypes() {
		if strings.ToLower(t) == name {
			return t
		}
	}
	return ""
}

func relationTypes() []string {
	return []string{RelationOwnedBy, RelationOwnerOf, RelationPartOf, RelationHasPart, RelationDependsOn,
		RelationDependencyOf, RelationProvidesAPI, RelationAPIProvidedBy, RelationConsumesAPI, RelationAPIConsumedBy,
		RelationParentOf, RelationChildOf, RelationMemberOf, RelationHasMember}
}

// inverseRelation returns the type paired with typ (ownedBy ↔ ownerOf, ...). Every relation is stored with
// its inverse, so "entities with ownedBy X" are the targets of X's ownerOf relations.
func inverseRelation(typ string) string {
	pairs := relationTypes()
	i := slices.Index(pairs, typ)
	if i < 0 {
		return ""
	}
	return pairs[i^1]
}

// Stored terms are compact: a flag, the key with a common prefix replaced by one control byte, the value,
// and the original only when it differs. Half a row's bytes were terms before, and a row's size is what a
// bulk load pays for.
var keyPrefixes = [...]string{1: "metadata.annotations.", 2: "metadata.labels.", 3: "metadata.", 4: "spec."}

// compressKey replaces a key's common prefix by its byte; keys are compared compressed.
func compressKey(key string) string {
	for i := 1; i < len(keyPrefixes); i++ {
		if rest, ok := strings.CutPrefix(key, keyPrefixes[i]); ok {
			return string(rune(i)) + rest
		}
	}
	return key
}

func expandKey(key string) string {
	if key != "" && int(key[0]) < len(keyPrefixes) && key[0] != 0 {
		return keyPrefixes[key[0]] + key[1:]
	}
	return key
}

// Term flags: whether the term is counted, and whether it is an element of an array of strings.
const (
	flagCounted        = 'c'
	flagUncounted      = 'x'
	flagCountedElement = 'a'
	flagElement        = 'b'
)

func termFlag(t term) byte {
	switch {
	case t.counted && t.element:
		return flagCountedElement
	case t.element:
		return flagElement
	case t.counted:
		return flagCounted
	}
	return flagUncounted
}

// encodeTerms writes terms as the stored text.
func encodeTerms(terms []term) string {
	var b strings.Builder
	for _, t := range terms {
		b.WriteByte(termFlag(t))
		b.WriteString(compressKey(t.key))
		b.WriteByte(termSep)
		b.WriteString(t.value)
		b.WriteByte(termSep)
		if t.original != t.value {
			b.WriteString(t.original)
		}
		b.WriteByte(recordSep)
	}
	return b.String()
}

// termIter walks stored terms text without allocating; the keys it returns are compressed.
type termIter struct{ s string }

func (it *termIter) next() (term, bool) {
	end := strings.IndexByte(it.s, recordSep)
	if end < 1 {
		return term{}, false
	}
	rec := it.s[:end]
	it.s = it.s[end+1:]
	f := rec[0]
	t := term{counted: f == flagCounted || f == flagCountedElement, element: f == flagCountedElement || f == flagElement}
	rec = rec[1:]
	i := strings.IndexByte(rec, termSep)
	t.key, rec = rec[:i], rec[i+1:]
	j := strings.IndexByte(rec, termSep)
	t.value, t.original = rec[:j], rec[j+1:]
	if t.original == "" {
		t.original = t.value
	}
	return t, true
}

// isElementKey tells whether the compressed key ckey is the "key.element" term an element term implies.
func (t term) isElementKey(ckey string) bool {
	return t.element && len(ckey) == len(t.key)+1+len(t.value) && strings.HasPrefix(ckey, t.key) &&
		ckey[len(t.key)] == '.' && strings.HasSuffix(ckey, t.value)
}

// decodeTerms reads stored terms back, with their keys expanded.
func decodeTerms(s string) []term {
	var out []term
	it := termIter{s}
	for t, ok := it.next(); ok; t, ok = it.next() {
		t.key = expandKey(t.key)
		out = append(out, t)
	}
	return out
}

// multiValued returns the keys for which terms hold more than one value (tags, lists): counts over such a
// key cannot be added up across values.
func multiValued(terms []term) []string {
	keys := make([]string, len(terms))
	for i, t := range terms {
		keys[i] = t.key
	}
	slices.Sort(keys)
	var out []string
	for i := 1; i < len(keys); i++ {
		if keys[i] == keys[i-1] && (len(out) == 0 || out[len(out)-1] != keys[i]) {
			out = append(out, keys[i])
		}
	}
	return out
}
