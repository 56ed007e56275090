package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/goldenpathidp/goldenpath/internal/auth"
)

// GET /entities: filter, fields, order (asc:field), offset, limit, after; a JSON array, and a Link header
// to the next page when there is one.
func (c *Catalog) httpEntities(w http.ResponseWriter, r *http.Request) error {
	req, err := entitiesRequest(r)
	if err != nil {
		return err
	}
	if req.Limit == 0 && req.After == "" {
		// No limit: the whole listing is streamed as it is read.
		var out *arrayWriter
		_, err := c.Entities(r.Context(), req, func(item json.RawMessage) error {
			if out == nil {
				out = newArrayWriter(w)
			}
			return out.add(item)
		})
		if err != nil {
			if out != nil {
				panic(http.ErrAbortHandler) // the status is sent; a truncated array must not look complete
			}
			return err
		}
		if out == nil {
			out = newArrayWriter(w)
		}
		return out.close()
	}
	items := []json.RawMessage{}
	next, err := c.Entities(r.Context(), req, func(item json.RawMessage) error {
		items = append(items, item)
		return nil
	})
	if err != nil {
		return err
	}
	if next != "" {
		u := *r.URL
		q := u.Query()
		q.Del("offset")
		q.Set("after", next)
		w.Header().Set("Link", fmt.Sprintf("<%s>; rel=\"next\"", linkTo(u.Path, q)))
	}
	writeJSON(w, http.StatusOK, items)
	return nil
}

func entitiesRequest(r *http.Request) (EntitiesRequest, error) {
	var req EntitiesRequest
	var err error
	if req.Filter, err = filterParam(r); err != nil {
		return req, err
	}
	if req.Fields, err = fieldsParam(r); err != nil {
		return req, err
	}
	for _, o := range r.URL.Query()["order"] {
		dir, field, ok := strings.Cut(o, ":")
		if !ok || (dir != "asc" && dir != "desc") || field == "" {
			return req, inputErrorf("order: %q: expected <asc or desc>:<field name>, e.g. asc:metadata.name", o)
		}
		req.Order = append(req.Order, OrderField{Field: field, Desc: dir == "desc"})
	}
	if req.Offset, err = intParam(r, "offset", 0); err != nil {
		return req, err
	}
	if req.Limit, err = intParam(r, "limit", 0); err != nil {
		return req, err
	}
	req.After = r.URL.Query().Get("after")
	return req, nil
}

// GET /entities/by-query: filter, fields, limit (20), offset, orderField (field,asc|desc),
// fullTextFilterTerm, fullTextFilterFields, totalItems (include|exclude), cursor.
func (c *Catalog) httpQuery(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var req QueryRequest
	var err error
	if req.Fields, err = fieldsParam(r); err != nil {
		return err
	}
	if req.Limit, err = intParam(r, "limit", DefaultQueryLimit); err != nil {
		return err
	}
	if req.Cursor = q.Get("cursor"); req.Cursor == "" {
		if req.Filter, err = filterParam(r); err != nil {
			return err
		}
		if req.Offset, err = intParam(r, "offset", 0); err != nil {
			return err
		}
		if req.OrderField, err = orderFieldParam(q["orderField"]); err != nil {
			return err
		}
		if req.NoTotal, err = totalItemsParam("totalItems", q["totalItems"]...); err != nil {
			return err
		}
		req.FullText.Term = q.Get("fullTextFilterTerm")
		req.FullText.Fields, _ = ParseFields(q["fullTextFilterFields"])
	}
	return c.respondQuery(w, r, req)
}

// totalItemsParam reads Backstage's totalItems mode (include, the default, or exclude) and tells whether
// the count is to be skipped.
func totalItemsParam(name string, values ...string) (bool, error) {
	if len(values) == 0 {
		return false, nil
	}
	switch values[0] {
	case "include":
		return false, nil
	case "exclude":
		return true, nil
	}
	return false, inputErrorf("%s: %q: expected include or exclude", name, values[0])
}

// orderFieldParam reads orderField values ("metadata.name,asc"); like Backstage, only the first orders.
func orderFieldParam(values []string) (*OrderField, error) {
	if len(values) == 0 {
		return nil, nil
	}
	field, dir, _ := strings.Cut(values[0], ",")
	if strings.TrimSpace(field) == "" {
		return nil, inputErrorf("orderField: %q: expected <field>,<asc or desc>", values[0])
	}
	if dir != "" && dir != "asc" && dir != "desc" {
		return nil, inputErrorf("orderField: %q: the order must be asc or desc", values[0])
	}
	return &OrderField{Field: strings.TrimSpace(field), Desc: dir == "desc"}, nil
}

func (c *Catalog) respondQuery(w http.ResponseWriter, r *http.Request, req QueryRequest) error {
	res, err := c.QueryEntities(r.Context(), req)
	if err != nil {
		if errors.Is(err, ErrInvalidCursor) {
			return inputError(err)
		}
		return err
	}
	if res.Items == nil {
		res.Items = []json.RawMessage{}
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// predicateQuery is the body of POST /entities/by-query, as Backstage's client sends it.
type predicateQuery struct {
	Cursor         string          `json:"cursor"`
	Limit          *int            `json:"limit"`
	Offset         *int            `json:"offset"`
	OrderBy        []orderBy       `json:"orderBy"`
	OrderField     []string        `json:"orderField"` // "field,asc|desc" as in the GET form (goldenpath's earlier spelling)
	FullTextFilter *FullTextFilter `json:"fullTextFilter"`
	Fields         []string        `json:"fields"`
	TotalItems     *string         `json:"totalItems"`
	Query          json.RawMessage `json:"query"`
}

// orderBy is one order of a predicate query; like Backstage, only the first orders.
type orderBy struct {
	Field string `json:"field"`
	Order string `json:"order"`
}

// POST /entities/by-query: the same query with a filter predicate ($all, $any, $not, $exists, $in,
// $hasPrefix, $contains) in the body. With a cursor, only fields and limit count besides it.
func (c *Catalog) httpQueryByPredicate(w http.ResponseWriter, r *http.Request) error {
	var body predicateQuery
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	req := QueryRequest{Cursor: body.Cursor, Limit: DefaultQueryLimit}
	if body.Limit != nil {
		if *body.Limit < 0 {
			return inputErrorf("limit: must not be negative, got %d", *body.Limit)
		}
		req.Limit = *body.Limit
	}
	var err error
	if req.Fields, err = ParseFields(body.Fields); err != nil {
		return inputError(err)
	}
	if req.Cursor != "" {
		return c.respondQuery(w, r, req)
	}
	if req.Filter, err = predicateParam(body.Query); err != nil {
		return err
	}
	if body.Offset != nil {
		if *body.Offset < 0 {
			return inputErrorf("offset: must not be negative, got %d", *body.Offset)
		}
		req.Offset = *body.Offset
	}
	if req.OrderField, err = orderByParam(body.OrderBy, body.OrderField); err != nil {
		return err
	}
	if body.TotalItems != nil {
		if req.NoTotal, err = totalItemsParam("totalItems", *body.TotalItems); err != nil {
			return err
		}
	}
	if body.FullTextFilter != nil {
		req.FullText = *body.FullTextFilter
	}
	return c.respondQuery(w, r, req)
}

// predicateParam parses the "query" of a request body: a filter predicate, or nothing.
func predicateParam(raw json.RawMessage) (*Filter, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	f, err := ParsePredicate(raw)
	if err != nil {
		return nil, inputError(err)
	}
	return f, nil
}

// orderByParam reads a predicate query's order: Backstage's orderBy, or goldenpath's earlier orderField.
func orderByParam(list []orderBy, legacy []string) (*OrderField, error) {
	if len(list) > 0 && len(legacy) > 0 {
		return nil, inputErrorf("orderBy and orderField: give one of them; orderBy is Backstage's, e.g. [{\"field\": \"metadata.name\", \"order\": \"asc\"}]")
	}
	for i, o := range list {
		if strings.TrimSpace(o.Field) == "" {
			return nil, inputErrorf("orderBy[%d].field: must not be empty", i)
		}
		if o.Order != "asc" && o.Order != "desc" {
			return nil, inputErrorf("orderBy[%d].order: must be asc or desc, got %q", i, o.Order)
		}
	}
	if len(list) > 0 {
		return &OrderField{Field: strings.TrimSpace(list[0].Field), Desc: list[0].Order == "desc"}, nil
	}
	return orderFieldParam(legacy)
}

func (c *Catalog) httpByUID(w http.ResponseWriter, r *http.Request) error {
	raw, err := c.GetJSONByUID(r.Context(), r.PathValue("uid"))
	if errors.Is(err, ErrNotFound) {
		return notFound("No entity with uid %s", r.PathValue("uid"))
	}
	if err != nil {
		return err
	}
	writeRaw(w, http.StatusOK, raw)
	return nil
}

func (c *Catalog) httpDeleteByUID(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	uid := r.PathValue("uid")
	ref, err := c.DeleteAs(r.Context(), p, uid)
	if errors.Is(err, ErrNotFound) {
		return notFound("No entity with uid %s", uid)
	}
	if err != nil {
		return err
	}
	c.log.Info("entity deleted", "entity", ref.String(), "by", p.Name)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// nameRef reads the {kind}/{namespace}/{name} path values as a ref.
func nameRef(r *http.Request) (Ref, error) {
	kind, ns, name := r.PathValue("kind"), r.PathValue("namespace"), r.PathValue("name")
	ref, err := ParseRef(kind+":"+ns+"/"+name, "", "")
	if err != nil {
		return Ref{}, notFound("No entity named '%s' found, with kind '%s' in namespace '%s'", name, kind, ns)
	}
	return ref, nil
}

func (c *Catalog) httpByName(w http.ResponseWriter, r *http.Request) error {
	ref, err := nameRef(r)
	if err != nil {
		return err
	}
	raw, err := c.GetJSON(r.Context(), ref)
	if errors.Is(err, ErrNotFound) {
		return notFound("No entity named '%s' found, with kind '%s' in namespace '%s'", r.PathValue("name"),
			r.PathValue("kind"), r.PathValue("namespace"))
	}
	if err != nil {
		return err
	}
	writeRaw(w, http.StatusOK, raw)
	return nil
}

func (c *Catalog) httpAncestry(w http.ResponseWriter, r *http.Request) error {
	ref, err := nameRef(r)
	if err != nil {
		return err
	}
	a, err := c.Ancestry(r.Context(), ref)
	if errors.Is(err, ErrNotFound) {
		return notFound("No such entity %s", ref)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

// POST /entities/by-refs {entityRefs, fields, query} (and filter, fields query parameters) → {items} in
// the order asked, null where there is no such entity or it matches neither the filter nor the query.
func (c *Catalog) httpByRefs(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		EntityRefs []string        `json:"entityRefs"`
		Fields     []string        `json:"fields"`
		Query      json.RawMessage `json:"query"`
	}
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	if body.EntityRefs == nil {
		return inputErrorf("entityRefs: must be an array of entity refs")
	}
	f, err := filterParam(r)
	if err != nil {
		return err
	}
	query, err := predicateParam(body.Query)
	if err != nil {
		return err
	}
	f = and(f, query)
	fields, err := fieldsParam(r, body.Fields...)
	if err != nil {
		return err
	}
	items, err := c.EntitiesByRefs(r.Context(), body.EntityRefs, f, fields)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
	return nil
}

// GET /entity-facets?facet=spec.type&facet=kind&filter=... → {facets: {<facet>: [{value, count}]}}.
func (c *Catalog) httpFacets(w http.ResponseWriter, r *http.Request) error {
	facets := r.URL.Query()["facet"]
	if len(facets) == 0 {
		return inputErrorf("facet: at least one facet parameter is required, e.g. facet=spec.type")
	}
	for _, f := range facets {
		if strings.TrimSpace(f) == "" {
			return inputErrorf("facet: must not be empty")
		}
	}
	f, err := filterParam(r)
	if err != nil {
		return err
	}
	return c.respondFacets(w, r, f, facets)
}

// POST /entity-facets {facets, query} → the same answer, with a filter predicate. Empty facet names are
// dropped, as in Backstage.
func (c *Catalog) httpFacetsByPredicate(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Facets []string        `json:"facets"`
		Query  json.RawMessage `json:"query"`
	}
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	facets := slices.DeleteFunc(body.Facets, func(f string) bool { return strings.TrimSpace(f) == "" })
	if len(facets) == 0 {
		return inputErrorf("facets: at least one facet is required, e.g. {\"facets\": [\"spec.type\"]}")
	}
	f, err := predicateParam(body.Query)
	if err != nil {
		return err
	}
	return c.respondFacets(w, r, f, facets)
}

func (c *Catalog) respondFacets(w http.ResponseWriter, r *http.Request, f *Filter, facets []string) error {
	counts, err := c.Facets(r.Context(), f, facets)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"facets": counts})
	return nil
}

func writeRaw(w http.ResponseWriter, status int, raw []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(raw)
}

// linkTo returns a path with query parameters, for Link headers.
func linkTo(path string, q url.Values) string { return path + "?" + q.Encode() }
