package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/goldenpathidp/goldenpath/internal/auth"
	"github.com/goldenpathidp/goldenpath/internal/store"
)

// Who may change what through the catalog API (the *As methods; the API's handlers call them, the
// scaffolder's catalog:register too). Reading is open to every user, as in Backstage.
//
//   - A url location belongs to the team (or user) owning the repository it points at (Options.Owner), or,
//     when no one owns that repository, to whoever registered it. Its owner and admins may register it,
//     remove it, and refresh it; anyone may refresh it when that changes nothing.
//   - An entity may be deleted by its owner (spec.owner: group:default/<team> for the team's members,
//     user:default/<name> for that user), by whoever may change the location providing it, and by admins.
//   - Entities goldenpath states itself (synthetic locations: users and groups, requests, templates) and
//     those locations cannot be deleted through the API at all, not even by an admin: goldenpath would
//     state them again at once. They change when what they are built from changes.
//
// Together with "the first location keeps an entity" (write.go) this means no one can take over a name
// another team's location provides: they can neither delete it nor claim it from their own files.

// ErrNotAllowed is wrapped by the *As methods when the caller may not make the change.
var ErrNotAllowed = errors.New("not allowed")

// notAllowed is a refusal as Backstage words it (NotAllowedError, 403).
func notAllowed(format string, args ...any) *apiError {
	msg := fmt.Sprintf(format, args...)
	return &apiError{status: http.StatusForbidden, name: "NotAllowedError", message: msg, cause: fmt.Errorf("%w: %s", ErrNotAllowed, msg)}
}

// managedByGoldenpath is the refusal for goldenpath's own entities and locations.
func managedByGoldenpath(what, source string) *apiError {
	return notAllowed("%s is kept by goldenpath itself (%s): goldenpath states it from its own users, requests and templates "+
		"and would state it again at once, so it cannot be deleted through the API, not even by an admin; change what it is built from instead",
		what, source)
}

// AddLocationAs is AddLocation for a user: registering (not a dry run) needs the rights over the target's
// repository (see above), and the user is recorded as the location's registrant.
func (c *Catalog) AddLocationAs(ctx context.Context, p auth.Principal, typ, target string, dryRun bool) (Location, []*Entity, bool, error) {
	if !dryRun && typ == "url" {
		if err := c.mayChange(p, Location{Type: typ, Target: target}, p.Name, "register"); err != nil {
			return Location{}, nil, false, err
		}
	}
	return c.addLocation(ctx, typ, target, dryRun, p.Name)
}

// RemoveLocationAs is RemoveLocation for a user who may change the location.
func (c *Catalog) RemoveLocationAs(ctx context.Context, p auth.Principal, id string) error {
	loc, by, err := c.locationAndRegistrant(ctx, id)
	if err != nil {
		return err
	}
	if err := c.mayChange(p, loc, by, "remove"); err != nil {
		return err
	}
	return c.RemoveLocation(ctx, id)
}

// MoveLocationAs is MoveLocation for a user: it needs the rights to remove the location and to register
// its new target (see above), and records the user as the registrant.
func (c *Catalog) MoveLocationAs(ctx context.Context, p auth.Principal, id, typ, target string) (Location, []*Entity, error) {
	loc, by, err := c.locationAndRegistrant(ctx, id)
	if err != nil {
		return Location{}, nil, err
	}
	if err := c.mayChange(p, loc, by, "change"); err != nil {
		return Location{}, nil, err
	}
	if typ == "url" {
		if err := c.mayChange(p, Location{Type: typ, Target: target}, p.Name, "register"); err != nil {
			return Location{}, nil, err
		}
	}
	return c.MoveLocation(ctx, id, typ, target, p.Name)
}

// RefreshAs is Refresh for a user. Whoever may change the location refreshes it; anyone else may too, as
// long as the refresh would change nothing (a Backstage page's refresh button), and is refused otherwise:
// the location's owner decides when its files are read (a push to the repository refreshes it anyway).
func (c *Catalog) RefreshAs(ctx context.Context, p auth.Principal, id string) error {
	loc, by, err := c.locationAndRegistrant(ctx, id)
	if err != nil {
		return err
	}
	if loc.Type != "url" {
		return nil // synthetic: nothing to read
	}
	refused := c.mayChange(p, loc, by, "refresh")
	if refused == nil {
		return c.Refresh(ctx, id)
	}
	unlock := c.lockLocation(loc.ID)
	defer unlock()
	res, err := c.crawl(ctx, loc)
	if err != nil {
		return fmt.Errorf("refreshing location %s: %w", loc.ID, err)
	}
	_, changes, err := c.store(ctx, loc, &res, "", claimExisting, true)
	if err != nil {
		return fmt.Errorf("refreshing location %s: %w", loc.ID, err)
	}
	if changes > 0 {
		what := "entities"
		if changes == 1 {
			what = "entity"
		}
		return notAllowed("%s: the refresh would change %d %s (a push to the repository refreshes it anyway)", refused.message, changes, what)
	}
	return nil
}

// DeleteAs deletes the entity with uid for a user who may (see above). An entity its location still
// provides comes back when that location is read, as in Backstage; here the location is read again in the
// same transaction as the delete, so no other location can claim the freed name in between.
func (c *Catalog) DeleteAs(ctx context.Context, p auth.Principal, uid string) (Ref, error) {
	// Read the providing location's files first, outside the write.
	var reread *crawlResult
	loc, err := c.entityLocation(ctx, uid)
	if err != nil {
		return Ref{}, err
	}
	if loc.Type == "url" {
		unlock := c.lockLocation(loc.ID)
		defer unlock()
		if res, err := c.crawl(ctx, loc); err == nil {
			reread = &res
		}
	}
	var ref Ref
	err = c.update(ctx, func(ix *indexer) error {
		var id, orphanedAt int64
		var key, source string
		var locID sql.NullString
		var body []byte
		err := ix.tx.QueryRowContext(ctx, `SELECT id, ref, location_id, source, orphaned_at, body FROM entities WHERE uid = ?`, uid).
			Scan(&id, &key, &locID, &source, &orphanedAt, &body)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("uid %s: %w", uid, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("looking up uid %s: %w", uid, err)
		}
		var e Entity
		if err := json.Unmarshal(body, &e); err != nil {
			return fmt.Errorf("decoding %s: %w", key, err)
		}
		ref = e.Ref()
		var current *Location
		var by string
		if locID.Valid {
			l := Location{ID: locID.String}
			err := ix.tx.QueryRowContext(ctx, `SELECT type, target, registered_by FROM locations WHERE id = ?`, locID.String).Scan(&l.Type, &l.Target, &by)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("looking up the location of %s: %w", key, err)
			}
			if err == nil {
				current = &l
			}
		}
		if err := c.mayDelete(p, &e, source, orphanedAt != 0, current, by); err != nil {
			return err
		}
		if err := ix.remove(ctx, []int64{id}); err != nil {
			return err
		}
		if reread == nil || current == nil || current.ID != loc.ID || orphanedAt != 0 {
			return nil
		}
		_, _, err = c.writeCrawl(ctx, ix, loc, reread, c.opts.Now().UnixNano())
		return err
	})
	return ref, err
}

// entityLocation returns the location providing the entity with uid; a zero Location when it has none.
func (c *Catalog) entityLocation(ctx context.Context, uid string) (Location, error) {
	var loc Location
	var id sql.NullString
	err := c.db.QueryRowContext(ctx, `SELECT location_id FROM entities WHERE uid = ?`, uid).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return loc, fmt.Errorf("uid %s: %w", uid, ErrNotFound)
	}
	if err != nil {
		return loc, fmt.Errorf("looking up uid %s: %w", uid, err)
	}
	if !id.Valid {
		return loc, nil
	}
	loc, err = c.Location(ctx, id.String)
	if errors.Is(err, ErrLocationNotFound) {
		return Location{}, nil
	}
	return loc, err
}

// mayChange decides whether p may register, remove or refresh loc (registered by by).
func (c *Catalog) mayChange(p auth.Principal, loc Location, by, verb string) *apiError {
	name := loc.Type + ":" + loc.Target
	if loc.Type != "url" {
		return managedByGoldenpath("location "+name, name)
	}
	if p.Is(store.RoleAdmin) {
		return nil
	}
	if !p.Is(store.RoleDeveloper) {
		return notAllowed("you may not %s location %s: changing the catalog needs the developer role", verb, name)
	}
	if owner := c.opts.Owner(loc.Target); owner != "" {
		if p.Owns(owner, owner) {
			return nil
		}
		return notAllowed("you may not %s location %s: it is in a repository of %s; only %s and admins may %s it",
			verb, name, owner, owner, verb)
	}
	if by != "" && by == p.Name {
		return nil
	}
	if by == "" {
		return notAllowed("you may not %s location %s: it is in a repository no team owns and has no recorded registrant; only admins may %s it",
			verb, name, verb)
	}
	return notAllowed("you may not %s location %s: it is in a repository no team owns and was registered by %s; only they and admins may %s it",
		verb, name, by, verb)
}

// mayDelete decides whether p may delete e, provided by source and (unless it is an orphan of a removed
// location) by loc, registered by by.
func (c *Catalog) mayDelete(p auth.Principal, e *Entity, source string, orphan bool, loc *Location, by string) *apiError {
	ref := e.Ref().String()
	if typ, _, _ := strings.Cut(source, ":"); typ != "url" && !orphan {
		return managedByGoldenpath(ref, source)
	}
	if p.Is(store.RoleAdmin) {
		return nil
	}
	if !p.Is(store.RoleDeveloper) {
		return notAllowed("you may not delete %s: changing the catalog needs the developer role", ref)
	}
	owner := ownerRef(e)
	if ownedBy(p, owner) {
		return nil
	}
	if loc != nil && loc.Type == "url" && c.mayChange(p, *loc, by, "remove") == nil {
		return nil // the owner of the file it comes from
	}
	if owner == "" {
		return notAllowed("you may not delete %s: it has no owner (spec.owner); only admins and whoever may change its location may delete it", ref)
	}
	return notAllowed("you may not delete %s: it is owned by %s; only %s and admins may delete it", ref, owner, ownerWho(owner))
}

// ownerRef is the canonical ref of e's spec.owner, "" when it has none.
func ownerRef(e *Entity) string {
	own, _ := Relations(e)
	for _, r := range own {
		if r.Type == RelationOwnedBy {
			return r.TargetRef
		}
	}
	return ""
}

// ownedBy tells whether p is, or is a member of, the owner named by ref: goldenpath's teams are the groups
// of the default namespace, its users the users there.
func ownedBy(p auth.Principal, owner string) bool {
	kind, rest, _ := strings.Cut(owner, ":")
	ns, name, _ := strings.Cut(rest, "/")
	if ns != defaultNS || name == "" {
		return false
	}
	switch kind {
	case "group":
		return slices.Contains(p.Teams, name)
	case "user":
		return p.Name == name
	}
	return false
}

// ownerWho words who an owner ref stands for.
func ownerWho(owner string) string {
	kind, rest, _ := strings.Cut(owner, ":")
	_, name, _ := strings.Cut(rest, "/")
	switch kind {
	case "group":
		return "members of " + name
	case "user":
		return name
	}
	return "its owner"
}

// locationAndRegistrant reads a location and who registered it.
func (c *Catalog) locationAndRegistrant(ctx context.Context, id string) (Location, string, error) {
	loc := Location{ID: id}
	var by string
	err := c.db.QueryRowContext(ctx, `SELECT type, target, registered_by FROM locations WHERE id = ?`, id).Scan(&loc.Type, &loc.Target, &by)
	if errors.Is(err, sql.ErrNoRows) {
		return loc, "", fmt.Errorf("location %s: %w", id, ErrLocationNotFound)
	}
	if err != nil {
		return loc, "", fmt.Errorf("reading location %s: %w", id, err)
	}
	return loc, by, nil
}
