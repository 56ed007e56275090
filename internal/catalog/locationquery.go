package catalog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// LocationQuery is a request of POST /locations/by-query: a filter predicate on the locations' id, type
// and target, and a page size. A Cursor (from a previous response) carries the rest.
type LocationQuery struct {
	Query json.RawMessage // a filter predicate; nil for every location
	Limit int             // page size, at least 1; 0 means DefaultLocationQueryLimit
	// Cursor continues a previous query; it overrides Query and Limit.
	Cursor string
}

// DefaultLocationQueryLimit is Backstage's page size for /locations/by-query.
const DefaultLocationQueryLimit = 1000

// LocationQueryResponse is Backstage's answer to /locations/by-query.
type LocationQueryResponse struct {
	Items      []Location `json:"items"`
	TotalItems int        `json:"totalItems"`
	PageInfo   struct {
		NextCursor string `json:"nextCursor,omitempty"`
	} `json:"pageInfo"`
}

// locationCursor is what a location query's cursor carries (Backstage's shape).
type locationCursor struct {
	Limit   int             `json:"limit"`
	AfterID string          `json:"afterId,omitempty"`
	Query   json.RawMessage `json:"query,omitempty"`
}

// QueryLocations answers Backstage's /locations/by-query: the locations matching the predicate, ordered by
// id, a page at a time, with the number of matches.
func (c *Catalog) QueryLocations(ctx context.Context, q LocationQuery) (*LocationQueryResponse, error) {
	cur := locationCursor{Limit: q.Limit, Query: q.Query}
	if q.Cursor != "" {
		cur = locationCursor{}
		if err := decodeCursor(q.Cursor, &cur); err != nil {
			return nil, fmt.Errorf("cursor: %w", err)
		}
		if cur.Limit < 1 {
			return nil, fmt.Errorf("cursor: %w: no page size", ErrInvalidCursor)
		}
	}
	if cur.Limit == 0 {
		cur.Limit = DefaultLocationQueryLimit
	}
	if cur.Limit < 0 {
		return nil, fmt.Errorf("%w: limit: must be at least 1, got %d", ErrInvalidLocationQuery, cur.Limit)
	}
	match, err := parseLocationPredicate(cur.Query)
	if err != nil {
		return nil, err
	}
	locs, err := c.Locations(ctx)
	if err != nil {
		return nil, err
	}
	locs = slices.DeleteFunc(locs, func(l Location) bool { return !match(l) })
	slices.SortFunc(locs, func(a, b Location) int { return strings.Compare(a.ID, b.ID) })
	out := &LocationQueryResponse{TotalItems: len(locs), Items: []Location{}}
	start, _ := slices.BinarySearchFunc(locs, cur.AfterID, func(l Location, id string) int {
		if l.ID <= id {
			return -1
		}
		return 1
	})
	out.Items = append(out.Items, locs[start:min(start+cur.Limit, len(locs))]...)
	if start+cur.Limit < len(locs) {
		next := cur
		next.AfterID = out.Items[len(out.Items)-1].ID
		out.PageInfo.NextCursor = encodeCursor(next)
	}
	return out, nil
}

// ErrInvalidLocationQuery is wrapped by QueryLocations for a predicate or page size it cannot use.
var ErrInvalidLocationQuery = errors.New("invalid location query")

// locationKeys are the fields a location predicate may test, by their lower-case names.
var locationKeys = map[string]func(Location) (string, bool){
	"id":     func(l Location) (string, bool) { return l.ID, true },
	"type":   func(l Location) (string, bool) { return l.Type, true },
	"target": func(l Location) (string, bool) { return l.Target, true },
	// goldenpath creates no Location entity per registered location (see docs/catalog.md), so a
	// location has no entityRef: it never equals a value and does not exist.
	"entityref": func(Location) (string, bool) { return "", false },
}

// parseLocationPredicate reads a filter predicate on locations the way Backstage's location store applies
// one: keys are id, type, target and entityRef (in any case); values compare case-insensitively (ids in
// $in exactly); $contains matches nothing, as a location's fields are not arrays.
func parseLocationPredicate(raw json.RawMessage) (func(Location) bool, error) {
	if len(raw) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return func(Location) bool { return true }, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: query: not valid JSON: %v", ErrInvalidLocationQuery, err)
	}
	return locationPredicate(v, "query")
}

func locationPredicate(v any, path string) (func(Location) bool, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: %s: must be an object such as {\"type\": \"url\"}, not %s", ErrInvalidLocationQuery, path, jsonTypeName(v))
	}
	if err := loneOperator(obj, path); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidLocationQuery, err)
	}
	if sub, ok := obj["$not"]; ok {
		f, err := locationPredicate(sub, path+".$not")
		if err != nil {
			return nil, err
		}
		return func(l Location) bool { return !f(l) }, nil
	}
	for _, op := range []string{"$all", "$any"} {
		raw, ok := obj[op]
		if !ok {
			continue
		}
		list, ok := raw.([]any)
		if !ok {
			return nil, fmt.Errorf("%w: %s.%s: must be an array of predicates", ErrInvalidLocationQuery, path, op)
		}
		subs, err := parsePredicates(list, path, op, locationPredicate)
		if err != nil {
			return nil, err
		}
		if op == "$all" {
			// An empty $all matches nothing, as in Backstage.
			return func(l Location) bool {
				return len(subs) > 0 && !slices.ContainsFunc(subs, func(f func(Location) bool) bool { return !f(l) })
			}, nil
		}
		return func(l Location) bool {
			return slices.ContainsFunc(subs, func(f func(Location) bool) bool { return f(l) })
		}, nil
	}
	var conds []func(Location) bool
	for _, key := range slices.Sorted(maps.Keys(obj)) {
		get, ok := locationKeys[strings.ToLower(key)]
		if !ok {
			return nil, fmt.Errorf("%w: %s: unknown key %q: locations are queried by id, type, target or entityRef", ErrInvalidLocationQuery, path, key)
		}
		f, err := locationValuePredicate(get, strings.EqualFold(key, "id"), obj[key], path+"."+key)
		if err != nil {
			return nil, err
		}
		conds = append(conds, f)
	}
	return func(l Location) bool {
		return !slices.ContainsFunc(conds, func(f func(Location) bool) bool { return !f(l) })
	}, nil
}

func locationValuePredicate(get func(Location) (string, bool), exactIn bool, v any, path string) (func(Location) bool, error) {
	if want, ok := primitiveString(v); ok {
		return func(l Location) bool { got, ok := get(l); return ok && strings.EqualFold(got, want) }, nil
	}
	obj, ok := v.(map[string]any)
	if !ok || len(obj) != 1 {
		return nil, fmt.Errorf("%w: %s: must be a string, number or boolean, or one of {\"$exists\": bool}, {\"$in\": [...]}, {\"$hasPrefix\": \"...\"}, {\"$contains\": ...}",
			ErrInvalidLocationQuery, path)
	}
	for op, arg := range obj {
		switch op {
		case "$exists":
			want, ok := arg.(bool)
			if !ok {
				return nil, fmt.Errorf("%w: %s.$exists: must be true or false", ErrInvalidLocationQuery, path)
			}
			return func(l Location) bool { _, ok := get(l); return ok == want }, nil
		case "$in":
			list, ok := arg.([]any)
			if !ok {
				return nil, fmt.Errorf("%w: %s.$in: must be an array of strings, numbers or booleans", ErrInvalidLocationQuery, path)
			}
			values := make([]string, len(list))
			for i, item := range list {
				if values[i], ok = primitiveString(item); !ok {
					return nil, fmt.Errorf("%w: %s.$in[%d]: must be a string, number or boolean", ErrInvalidLocationQuery, path, i)
				}
			}
			return func(l Location) bool {
				got, ok := get(l)
				return ok && slices.ContainsFunc(values, func(v string) bool { return got == v || (!exactIn && strings.EqualFold(got, v)) })
			}, nil
		case "$hasPrefix":
			prefix, ok := arg.(string)
			if !ok {
				return nil, fmt.Errorf("%w: %s.$hasPrefix: must be a string", ErrInvalidLocationQuery, path)
			}
			return func(l Location) bool {
				got, ok := get(l)
				return ok && strings.HasPrefix(strings.ToLower(got), strings.ToLower(prefix))
			}, nil
		case "$contains":
			return func(Location) bool { return false }, nil
		}
		return nil, fmt.Errorf("%w: %s: unknown operator %s (supported: $exists, $in, $hasPrefix, $contains)", ErrInvalidLocationQuery, path, op)
	}
	panic("unreachable")
}
