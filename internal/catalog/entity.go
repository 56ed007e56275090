// Package catalog is goldenpath's software catalog: Backstage's entity model (catalog-info.yaml descriptors,
// entity refs, validation rules and derived relations), an index of registered locations and their
// entities kept in its own SQLite file, and Backstage's catalog API over it (Handler), so Backstage
// frontends and clients work against goldenpath.
//
// The scaffolder's catalog:register, catalog:fetch and catalog:write actions talk to it, and the forge calls
// Refresh/RefreshTarget on every push, so a registered entity reflects its file as soon as the push lands
// instead of after a poll interval.
//
// It is laid out to stay fast at a million entities. Each entity row carries its search terms (Backstage's
// search table, as one compact text column instead of a row per term: rows per term are what make
// Backstage's ingest slow). One table holds every relation and its inverse, so both directions are
// primary-key ranges. How many entities of each kind hold each value of each facet key is counted as
// entities are written (index.go), so counts and facet pickers never scan (facets.go). Queries walk an
// index in the requested order, or collect candidates from an index when a filter pins entities down, and
// evaluate filters in Go against the stored terms (plan.go). Writes are batched into large transactions,
// with the CPU-bound preparation of each chunk running on other cores while the previous one is written.
package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Well-known annotations the catalog maintains on every stored entity (Backstage's names).
const (
	AnnotationManagedByLocation       = "backstage.io/managed-by-location"
	AnnotationManagedByOriginLocation = "backstage.io/managed-by-origin-location"
	AnnotationOrphan                  = "backstage.io/orphan"
)

// ErrNotFound is returned (wrapped) when an entity does not exist.
var ErrNotFound = errors.New("entity not found")

// ErrLocationNotFound is returned (wrapped) when a location does not exist.
var ErrLocationNotFound = errors.New("location not found")

// ErrInvalidLocation is returned (wrapped) for a location that cannot be registered as given.
var ErrInvalidLocation = errors.New("invalid location")

// ErrUnreadable is returned (wrapped, with the Reader's error) when a location's target cannot be read.
var ErrUnreadable = errors.New("the location's target cannot be read")

// ErrConflict marks an entity that another location already provides; the first location keeps it.
var ErrConflict = errors.New("entity conflict")

// Entity is one catalog entity in Backstage's envelope format.
type Entity struct {
	APIVersion string         `json:"apiVersion" yaml:"apiVersion"`
	Kind       string         `json:"kind" yaml:"kind"`
	Metadata   Metadata       `json:"metadata" yaml:"metadata"`
	Spec       map[string]any `json:"spec,omitempty" yaml:"spec,omitempty"`
	Relations  []Relation     `json:"relations,omitempty" yaml:"relations,omitempty"` // derived, never read from files
}

// Metadata is the metadata block common to all kinds.
type Metadata struct {
	UID         string            `json:"uid,omitempty" yaml:"uid,omitempty"`
	Etag        string            `json:"etag,omitempty" yaml:"etag,omitempty"`
	Name        string            `json:"name" yaml:"name"`
	Namespace   string            `json:"namespace,omitempty" yaml:"namespace,omitempty"`
	Title       string            `json:"title,omitempty" yaml:"title,omitempty"`
	Description string            `json:"description,omitempty" yaml:"description,omitempty"`
	Labels      map[string]string `json:"labels,omitempty" yaml:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty" yaml:"annotations,omitempty"`
	Tags        []string          `json:"tags,omitempty" yaml:"tags,omitempty"`
	Links       []Link            `json:"links,omitempty" yaml:"links,omitempty"`
	// Extra keeps metadata fields Backstage does not define: its schema allows them and plugins use them.
	Extra map[string]any `json:"-" yaml:",inline"`
}

// Link is an external hyperlink of an entity.
type Link struct {
	URL   string `json:"url" yaml:"url"`
	Title string `json:"title,omitempty" yaml:"title,omitempty"`
	Icon  string `json:"icon,omitempty" yaml:"icon,omitempty"`
	Type  string `json:"type,omitempty" yaml:"type,omitempty"`
}

// Relation is one directed relation from an entity to the entity named by TargetRef.
type Relation struct {
	Type      string `json:"type" yaml:"type"`
	TargetRef string `json:"targetRef" yaml:"targetRef"`
}

// Location is a registered place the catalog reads entities from. Type "url" is read through the Reader;
// other types are synthetic locations created by Upsert and are never read.
type Location struct {
	ID     string `json:"id" yaml:"id"`
	Type   string `json:"type" yaml:"type"`
	Target string `json:"target" yaml:"target"`
}

// Ref returns the entity's canonical reference. The namespace defaults to "default".
func (e *Entity) Ref() Ref {
	ns := e.Metadata.Namespace
	if ns == "" {
		ns = defaultNS
	}
	return Ref{Kind: strings.ToLower(e.Kind), Namespace: strings.ToLower(ns), Name: strings.ToLower(e.Metadata.Name)}
}

// isMetadataKey reports whether Metadata declares the field; everything else goes to Extra.
func isMetadataKey(k string) bool {
	switch k {
	case "uid", "etag", "name", "namespace", "title", "description", "labels", "annotations", "tags", "links":
		return true
	}
	return false
}

// metadataAlias has Metadata's fields without its methods, so the JSON methods can use the default encoding.
type metadataAlias Metadata

// MarshalJSON writes the declared fields and the Extra ones side by side, as they appear in a descriptor.
func (m Metadata) MarshalJSON() ([]byte, error) {
	known, err := json.Marshal(metadataAlias(m))
	if err != nil || len(m.Extra) == 0 {
		return known, err
	}
	merged := make(map[string]any, len(m.Extra)+8)
	for k, v := range m.Extra {
		if !isMetadataKey(k) {
			merged[k] = v
		}
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(known, &fields); err != nil {
		return nil, err
	}
	for k, v := range fields {
		merged[k] = v
	}
	return json.Marshal(merged)
}

// UnmarshalJSON reads the declared fields and keeps the others in Extra. It walks the object once with a
// token decoder: listing a page of entities is mostly this decoding, so a second pass would show.
func (m *Metadata) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return fmt.Errorf("metadata: must be an object")
	}
	var out Metadata
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("metadata: %w", err)
		}
		key, _ := tok.(string)
		if err := out.decodeField(dec, key); err != nil {
			return fmt.Errorf("metadata.%s: %w", key, err)
		}
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("metadata: %w", err)
	}
	*m = out
	return nil
}

func (m *Metadata) decodeField(dec *json.Decoder, key string) error {
	var dst any
	switch key {
	case "uid":
		dst = &m.UID
	case "etag":
		dst = &m.Etag
	case "name":
		dst = &m.Name
	case "namespace":
		dst = &m.Namespace
	case "title":
		dst = &m.Title
	case "description":
		dst = &m.Description
	case "labels":
		dst = &m.Labels
	case "annotations":
		dst = &m.Annotations
	case "tags":
		dst = &m.Tags
	case "links":
		dst = &m.Links
	default:
		var v any
		if err := dec.Decode(&v); err != nil {
			return err
		}
		if m.Extra == nil {
			m.Extra = map[string]any{}
		}
		m.Extra[key] = v
		return nil
	}
	return dec.Decode(dst)
}
