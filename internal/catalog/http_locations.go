package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strings"

	"github.com/goldenpathidp/goldenpath/internal/auth"
)

type locationInput struct {
	Type     string `json:"type"`
	Target   string `json:"target"`
	Presence string `json:"presence,omitempty"` // Backstage's optional|required; every goldenpath location is read at once
}

// GET /locations → [{data: {id, type, target}}].
func (c *Catalog) httpLocations(w http.ResponseWriter, r *http.Request) error {
	locs, err := c.Locations(r.Context())
	if err != nil {
		return err
	}
	out := make([]map[string]Location, len(locs))
	for i, l := range locs {
		out[i] = map[string]Location{"data": l}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// addLocationResponse is Backstage's answer to POST /locations. Problems (invalid or conflicting
// entities, which do not stop the others from being registered) is goldenpath's addition.
type addLocationResponse struct {
	Location Location  `json:"location"`
	Entities []*Entity `json:"entities"`
	Exists   *bool     `json:"exists,omitempty"`
	Problems []string  `json:"problems,omitempty"`
}

// POST /locations {type, target} (?dryRun=true, ?onConflict=reject|refresh) → 201 {location, entities}.
// A registered location is a 409, or with onConflict=refresh is read again (a refresh, with its rights).
// A dry run whose entities have problems fails as Backstage's does: 400 InputError naming them.
func (c *Catalog) httpAddLocation(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var in locationInput
	if err := decodeBody(r, &in); err != nil {
		return err
	}
	if err := in.validate(); err != nil {
		return err
	}
	q := r.URL.Query()
	dryRun := isYes(q.Get("dryRun"))
	onConflict := q.Get("onConflict")
	if onConflict != "" && onConflict != "reject" && onConflict != "refresh" {
		return inputErrorf("onConflict: must be reject or refresh, got %q", onConflict)
	}
	loc, entities, exists, err := c.AddLocationAs(r.Context(), p, in.Type, in.Target, dryRun)
	var problems EntityErrors
	if err != nil && !errors.As(err, &problems) {
		return err
	}
	if exists && !dryRun {
		if onConflict != "refresh" {
			return &apiError{status: http.StatusConflict, name: "ConflictError",
				message: fmt.Sprintf("Location %s:%s already exists", in.Type, in.Target)}
		}
		if err := c.RefreshAs(r.Context(), p, loc.ID); err != nil && !errors.As(err, &problems) {
			return err
		}
		if entities, err = c.locationEntities(r.Context(), loc.ID); err != nil {
			return err
		}
	}
	if dryRun && len(problems) > 0 {
		return inputErrorf("%s:%s would not register cleanly: %v", in.Type, in.Target, problems)
	}
	out := addLocationResponse{Location: loc, Entities: entities}
	if out.Entities == nil {
		out.Entities = []*Entity{}
	}
	if dryRun {
		out.Exists = &exists
	}
	for _, p := range problems {
		out.Problems = append(out.Problems, p.Error())
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (in locationInput) validate() error {
	if in.Type == "" || in.Target == "" {
		return inputErrorf("type and target: both are required, e.g. {\"type\": \"url\", \"target\": \"https://host/repo/catalog-info.yaml\"}")
	}
	if in.Presence != "" && in.Presence != "optional" && in.Presence != "required" {
		return inputErrorf("presence: must be optional or required, got %q", in.Presence)
	}
	return nil
}

// PUT /locations/{id} {type, target} → 200 the location, moved to the new target and read at once. It
// needs the rights to remove the location and to register the new target.
func (c *Catalog) httpUpdateLocation(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var in locationInput
	if err := decodeBody(r, &in); err != nil {
		return err
	}
	if err := in.validate(); err != nil {
		return err
	}
	id := r.PathValue("id")
	loc, _, err := c.MoveLocationAs(r.Context(), p, id, in.Type, in.Target)
	var problems EntityErrors
	switch {
	case errors.Is(err, ErrLocationNotFound):
		return notFound("Found no location with ID %s", id)
	case errors.Is(err, ErrLocationExists):
		return &apiError{status: http.StatusConflict, name: "ConflictError",
			message: fmt.Sprintf("Location %s:%s already exists", in.Type, in.Target), cause: err}
	case err != nil && !errors.As(err, &problems):
		return err
	}
	writeJSON(w, http.StatusOK, loc)
	return nil
}

// POST /locations/by-query {query, limit, cursor} → {items, totalItems, pageInfo: {nextCursor}}: the
// locations matching a filter predicate on id, type and target, by id.
func (c *Catalog) httpQueryLocations(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Cursor *string         `json:"cursor"`
		Limit  *int            `json:"limit"`
		Query  json.RawMessage `json:"query"`
	}
	if err := decodeOptionalBody(r, &body); err != nil {
		return err
	}
	var q LocationQuery
	if body.Cursor != nil {
		if *body.Cursor == "" {
			return inputErrorf("cursor: must not be empty; leave it out for the first page")
		}
		q.Cursor = *body.Cursor
	} else {
		q.Query = body.Query
		if body.Limit != nil {
			if *body.Limit < 1 {
				return inputErrorf("limit: must be at least 1, got %d", *body.Limit)
			}
			q.Limit = *body.Limit
		}
	}
	res, err := c.QueryLocations(r.Context(), q)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// isYes reads a boolean query parameter the way Backstage's yn does.
func isYes(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "y", "1", "on":
		return true
	}
	return false
}

func (c *Catalog) httpLocation(w http.ResponseWriter, r *http.Request) error {
	loc, err := c.Location(r.Context(), r.PathValue("id"))
	if errors.Is(err, ErrLocationNotFound) {
		return notFound("Found no location with ID %s", r.PathValue("id"))
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, loc)
	return nil
}

func (c *Catalog) httpRemoveLocation(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	err := c.RemoveLocationAs(r.Context(), p, r.PathValue("id"))
	if errors.Is(err, ErrLocationNotFound) {
		return notFound("Found no location with ID %s", r.PathValue("id"))
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (c *Catalog) httpLocationByEntity(w http.ResponseWriter, r *http.Request) error {
	ref, err := nameRef(r)
	if err != nil {
		return err
	}
	loc, err := c.LocationOf(r.Context(), ref)
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrLocationNotFound) {
		return notFound("found no location for entity %s", ref)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, loc)
	return nil
}

// POST /refresh {entityRef}: reads the entity's location again now. Problems with single entities are
// recorded on the location (see Status) and do not fail the request.
func (c *Catalog) httpRefresh(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var body struct {
		EntityRef          string `json:"entityRef"`
		AuthorizationToken string `json:"authorizationToken,omitempty"`
	}
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	ref, err := ParseRef(body.EntityRef, "", "")
	if err != nil {
		return inputErrorf("entityRef: %v", err)
	}
	loc, err := c.LocationOf(r.Context(), ref)
	if errors.Is(err, ErrNotFound) {
		return notFound("No entity %s", ref)
	}
	if errors.Is(err, ErrLocationNotFound) {
		w.WriteHeader(http.StatusOK) // an orphan: nothing to read
		return nil
	}
	if err != nil {
		return err
	}
	var problems EntityErrors
	if err := c.RefreshAs(r.Context(), p, loc.ID); err != nil && !errors.As(err, &problems) {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// serializedError is an error as Backstage's validate-entity lists them.
type serializedError struct {
	Name    string `json:"name"`
	Message string `json:"message"`
}

// POST /validate-entity {entity, location} → 200, or 400 {errors: [{name, message}]}.
func (c *Catalog) httpValidateEntity(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Entity   any    `json:"entity"`
		Location string `json:"location"`
	}
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	invalid := func(msgs ...string) error {
		out := struct {
			Errors []serializedError `json:"errors"`
		}{}
		for _, m := range msgs {
			out.Errors = append(out.Errors, serializedError{Name: "InputError", Message: m})
		}
		writeJSON(w, http.StatusBadRequest, out)
		return nil
	}
	if typ, target, ok := strings.Cut(body.Location, ":"); !ok || typ != "url" || target == "" {
		return invalid(fmt.Sprintf("Invalid location ref %q, only 'url:<target>' is supported, e.g. url:https://host/path", body.Location))
	}
	doc, ok := body.Entity.(map[string]any)
	if !ok {
		return invalid("entity: must be an object (an entity), not " + jsonTypeName(body.Entity))
	}
	problems := validateDoc(doc)
	if len(problems) == 0 {
		w.WriteHeader(http.StatusOK)
		return nil
	}
	msgs := make([]string, len(problems))
	for i, p := range problems {
		msgs[i] = (&EntityError{File: body.Location, Ref: refOf(doc), Field: p.field, Rule: p.rule}).Error()
	}
	return invalid(msgs...)
}

// POST /analyze-location {location: {type, target}, catalogFilename} → the entity files found at the
// target (or at target/catalogFilename), or a Component to create when there are none.
func (c *Catalog) httpAnalyzeLocation(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Location        locationInput `json:"location"`
		CatalogFilename string        `json:"catalogFilename,omitempty"`
	}
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	if body.Location.Type != "url" || body.Location.Target == "" {
		return inputErrorf("location: only {\"type\": \"url\", \"target\": ...} can be analyzed")
	}
	res, err := c.AnalyzeLocation(r.Context(), body.Location.Target, body.CatalogFilename)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// AnalyzeResult is Backstage's answer to /analyze-location.
type AnalyzeResult struct {
	ExistingEntityFiles []ExistingEntityFile `json:"existingEntityFiles"`
	GenerateEntities    []GenerateEntity     `json:"generateEntities"`
}

// ExistingEntityFile is an entity found in a file at the analyzed location.
type ExistingEntityFile struct {
	Location     Location `json:"location"`
	IsRegistered bool     `json:"isRegistered"`
	Entity       *Entity  `json:"entity"`
}

// GenerateEntity is an entity to create at a location that has none, with the fields a user must fill.
type GenerateEntity struct {
	Entity map[string]any  `json:"entity"`
	Fields []GenerateField `json:"fields"`
}

// GenerateField is one field of a GenerateEntity.
type GenerateField struct {
	Field       string `json:"field"`
	State       string `json:"state"`
	Value       any    `json:"value"`
	Description string `json:"description"`
}

// AnalyzeLocation reads a url target (or target/catalogFilename, default catalog-info.yaml) and reports
// the entities it holds and whether the file is registered; when there are none it suggests a Component
// named after the repository. A folder's URL (.../tree/<ref>/...) names its file by the file's own URL
// (.../blob/<ref>/...), which is what registering it records.
func (c *Catalog) AnalyzeLocation(ctx context.Context, target, catalogFilename string) (*AnalyzeResult, error) {
	if catalogFilename == "" {
		catalogFilename = "catalog-info.yaml"
	}
	out := &AnalyzeResult{ExistingEntityFiles: []ExistingEntityFile{}, GenerateEntities: []GenerateEntity{}}
	file := strings.TrimSuffix(target, "/") + "/" + catalogFilename
	if repo, rest, ok := strings.Cut(file, "/tree/"); ok {
		file = repo + "/blob/" + rest
	}
	for _, t := range []string{target, file} {
		data, err := c.read(ctx, t)
		if err != nil {
			continue
		}
		entities, _ := ParseEntities(t, data)
		if len(entities) == 0 {
			continue
		}
		_, regErr := c.locationBy(ctx, `type = 'url' AND target = ?`, t)
		for _, e := range entities {
			out.ExistingEntityFiles = append(out.ExistingEntityFiles, ExistingEntityFile{
				Location: Location{Type: "url", Target: t}, IsRegistered: regErr == nil, Entity: e})
		}
		return out, nil
	}
	repo := target
	for _, sep := range []string{"/tree/", "/blob/"} {
		repo, _, _ = strings.Cut(repo, sep)
	}
	name := path.Base(strings.TrimSuffix(strings.TrimSuffix(repo, "/"), ".git"))
	if nameProblem(name) != "" {
		name = "my-component"
	}
	out.GenerateEntities = append(out.GenerateEntities, GenerateEntity{
		Entity: map[string]any{"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
			"metadata": map[string]any{"name": name}, "spec": map[string]any{"type": "other", "lifecycle": "unknown"}},
		Fields: []GenerateField{{Field: "spec.owner", State: "needsUserInput", Value: nil,
			Description: "Entity owner is recommended; the group or user that owns the component"}},
	})
	return out, nil
}
