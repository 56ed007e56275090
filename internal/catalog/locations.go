package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// AddLocation registers a location and reads it at once, storing its entities and following the Location
// entities in it (spec.target/targets). It is idempotent by type and target: registering again returns the
// existing location, its stored entities and exists=true. With dryRun nothing is stored and the entities
// come back without uid or etag. Only type "url" can be registered.
//
// A location whose target cannot be read is not registered (the error wraps the Reader's). Problems with
// single entities (invalid, conflicting with another location) do not stop the others: the location is
// registered and the error is an EntityErrors listing them.
func (c *Catalog) AddLocation(ctx context.Context, typ, target string, dryRun bool) (Location, []*Entity, bool, error) {
	return c.addLocation(ctx, typ, target, dryRun, "")
}

// addLocation is AddLocation recording who registered the location ("" for goldenpath itself).
func (c *Catalog) addLocation(ctx context.Context, typ, target string, dryRun bool, by string) (Location, []*Entity, bool, error) {
	if typ != "url" {
		return Location{}, nil, false, fmt.Errorf("%w: location type %q is not supported; use url", ErrInvalidLocation, typ)
	}
	if strings.TrimSpace(target) == "" {
		return Location{}, nil, false, fmt.Errorf("%w: location target: must not be empty", ErrInvalidLocation)
	}
	if existing, err := c.locationBy(ctx, `type = ? AND target = ?`, typ, target); err == nil {
		entities, err := c.locationEntities(ctx, existing.ID)
		return existing, entities, true, err
	} else if !errors.Is(err, ErrLocationNotFound) {
		return Location{}, nil, false, err
	}
	loc := Location{ID: newUUID(), Type: typ, Target: target}
	res, err := c.crawl(ctx, loc)
	if err != nil {
		return Location{}, nil, false, fmt.Errorf("adding location %s:%s: %w", typ, target, err)
	}
	entities, _, err := c.store(ctx, loc, &res, by, claimNew, dryRun)
	if errors.Is(err, errLocationExists) {
		// Registered concurrently by someone else between our lookup and our insert.
		return c.addLocation(ctx, typ, target, dryRun, by)
	}
	if err != nil {
		return Location{}, nil, false, fmt.Errorf("adding location %s:%s: %w", typ, target, err)
	}
	if !dryRun {
		c.log.Info("location added", "location", loc.ID, "target", target, "entities", len(entities), "problems", len(res.errs))
	}
	return loc, entities, false, res.errs.orNil()
}

var errLocationExists = errors.New("location exists")

// claimMode is what store does with the location row before writing what was read from it.
type claimMode int

const (
	claimExisting claimMode = iota // the location is registered: check that it still is
	claimNew                       // insert it, registered by by
	claimMoved                     // change its type and target to loc's, registered by by
)

// store writes a crawl's result for loc in one transaction: the claims, then the orphaning of what the
// location no longer provides, after claiming the location row (see claimMode). It returns the entities
// as stored and how many entities the write created, changed or orphaned (with dryRun: would have).
func (c *Catalog) store(ctx context.Context, loc Location, res *crawlResult, by string, mode claimMode, dryRun bool) ([]*Entity, int, error) {
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("beginning transaction: %w", err)
	}
	defer tx.Rollback()
	ix := newIndexer(c, tx)
	defer ix.close()
	now := c.opts.Now().UnixNano()
	if err := c.claimLocation(ctx, tx, loc, by, mode, now); err != nil {
		return nil, 0, err
	}
	stored, orphaned, err := c.writeCrawl(ctx, ix, loc, res, now)
	if err != nil {
		return nil, 0, err
	}
	changes := ix.written + orphaned
	if dryRun {
		for _, e := range stored {
			e.Metadata.UID, e.Metadata.Etag = "", ""
		}
		return stored, changes, nil // the deferred rollback discards everything
	}
	if err := ix.flush(ctx); err != nil {
		return nil, 0, err
	}
	if err := tx.Commit(); err != nil {
		return nil, 0, fmt.Errorf("committing location %s: %w", loc.ID, err)
	}
	c.changed()
	if orphaned > 0 {
		c.log.Info("entities orphaned", "location", loc.ID, "count", orphaned, "removed", c.opts.OrphanGrace == 0)
	}
	return stored, changes, nil
}

// writeCrawl stores a crawl's claims for loc with ix, orphans what the location no longer provides and
// records its status; it returns the entities as stored and how many were orphaned.
func (c *Catalog) writeCrawl(ctx context.Context, ix *indexer, loc Location, res *crawlResult, now int64) ([]*Entity, int, error) {
	stored, kept, err := ix.apply(ctx, loc.ID, len(res.claims), func(i int) *prepared { return prepareClaim(res.claims[i]) },
		&res.errs, now)
	if err != nil {
		return nil, 0, err
	}
	for ref := range kept {
		res.keep[ref] = true
	}
	orphaned, err := c.orphanMissing(ctx, ix, loc.ID, res.keep, res.unread, now)
	if err != nil {
		return nil, 0, err
	}
	if err := recordStatus(ctx, ix.tx, loc.ID, res.errs, now); err != nil {
		return nil, 0, err
	}
	return stored, orphaned, nil
}

func (c *Catalog) claimLocation(ctx context.Context, tx *sql.Tx, loc Location, by string, mode claimMode, now int64) error {
	switch mode {
	case claimNew:
		_, err := tx.ExecContext(ctx, `INSERT INTO locations (id, type, target, created_at, registered_by) VALUES (?,?,?,?,?)`,
			loc.ID, loc.Type, loc.Target, now, by)
		if isUnique(err) {
			return errLocationExists
		}
		if err != nil {
			return fmt.Errorf("storing location: %w", err)
		}
		return nil
	case claimMoved:
		res, err := tx.ExecContext(ctx, `UPDATE locations SET type = ?, target = ?, registered_by = ? WHERE id = ?`,
			loc.Type, loc.Target, by, loc.ID)
		if isUnique(err) {
			return errLocationExists
		}
		if err != nil {
			return fmt.Errorf("moving location %s: %w", loc.ID, err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return fmt.Errorf("location %s: %w", loc.ID, ErrLocationNotFound)
		}
		return nil
	}
	// The location may have been removed while it was being read.
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM locations WHERE id = ?`, loc.ID).Scan(&n); err != nil {
		return fmt.Errorf("checking location %s: %w", loc.ID, err)
	}
	if n == 0 {
		return fmt.Errorf("location %s: %w", loc.ID, ErrLocationNotFound)
	}
	return nil
}

// Refresh re-reads a location now (the forge calls this on push, so registered entities never wait for a
// poll). Entities that changed get a new etag; entities gone from the files are orphaned. A location that
// cannot be read keeps its entities. Synthetic locations (from Upsert) have nothing to read: nil.
func (c *Catalog) Refresh(ctx context.Context, locationID string) error {
	loc, err := c.locationBy(ctx, `id = ?`, locationID)
	if err != nil {
		return err
	}
	if loc.Type != "url" {
		return nil
	}
	unlock := c.lockLocation(loc.ID)
	defer unlock()
	res, err := c.crawl(ctx, loc)
	if err != nil {
		c.log.Warn("location refresh failed", "location", loc.ID, "target", loc.Target, "err", err)
		if ctx.Err() == nil {
			if err := recordStatus(ctx, c.db, loc.ID, EntityErrors{err}, c.opts.Now().UnixNano()); err != nil {
				c.log.Warn("recording location status failed", "location", loc.ID, "err", err)
			}
		}
		return fmt.Errorf("refreshing location %s: %w", loc.ID, err)
	}
	if _, _, err := c.store(ctx, loc, &res, "", claimExisting, false); err != nil {
		return fmt.Errorf("refreshing location %s: %w", loc.ID, err)
	}
	if len(res.errs) > 0 {
		c.log.Warn("location has problems", "location", loc.ID, "target", loc.Target, "problems", len(res.errs), "first", res.errs[0].Error())
	}
	return res.errs.orNil()
}

// RefreshTarget re-reads every url location whose target starts with prefix (e.g. a repository's URL
// prefix) and returns the joined errors of those that failed.
func (c *Catalog) RefreshTarget(ctx context.Context, prefix string) error {
	if prefix == "" {
		return fmt.Errorf("refresh prefix: must not be empty")
	}
	locs, err := c.listLocations(ctx, `type = 'url' AND substr(target, 1, length(?)) = ?`, prefix, prefix)
	if err != nil {
		return err
	}
	var errs []error
	for _, loc := range locs {
		if err := c.Refresh(ctx, loc.ID); err != nil && !errors.Is(err, ErrLocationNotFound) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// RefreshAll re-reads every url location, as a periodic poll would; it returns the joined errors.
func (c *Catalog) RefreshAll(ctx context.Context) error {
	locs, err := c.listLocations(ctx, `type = 'url'`)
	if err != nil {
		return err
	}
	var errs []error
	for _, loc := range locs {
		if err := c.Refresh(ctx, loc.ID); err != nil && !errors.Is(err, ErrLocationNotFound) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// MoveLocation points a registered location at another target (Backstage's PUT /locations/{id}) and reads
// it at once, recording by as its registrant: what the new files provide is stored under the location,
// what only the old ones provided becomes an orphan. A target registered as another location is
// ErrLocationExists; one that cannot be read changes nothing. Problems with single entities are an
// EntityErrors, as for AddLocation.
func (c *Catalog) MoveLocation(ctx context.Context, id, typ, target, by string) (Location, []*Entity, error) {
	if typ != "url" {
		return Location{}, nil, fmt.Errorf("%w: location type %q is not supported; use url", ErrInvalidLocation, typ)
	}
	if strings.TrimSpace(target) == "" {
		return Location{}, nil, fmt.Errorf("%w: location target: must not be empty", ErrInvalidLocation)
	}
	unlock := c.lockLocation(id)
	defer unlock()
	if _, err := c.Location(ctx, id); err != nil {
		return Location{}, nil, err
	}
	if other, err := c.locationBy(ctx, `type = ? AND target = ? AND id <> ?`, typ, target, id); err == nil {
		return Location{}, nil, fmt.Errorf("location %s:%s: %w (%s)", typ, target, ErrLocationExists, other.ID)
	} else if !errors.Is(err, ErrLocationNotFound) {
		return Location{}, nil, err
	}
	loc := Location{ID: id, Type: typ, Target: target}
	res, err := c.crawl(ctx, loc)
	if err != nil {
		return Location{}, nil, fmt.Errorf("moving location %s to %s:%s: %w", id, typ, target, err)
	}
	entities, _, err := c.store(ctx, loc, &res, by, claimMoved, false)
	if errors.Is(err, errLocationExists) {
		err = fmt.Errorf("location %s:%s: %w", typ, target, ErrLocationExists) // registered meanwhile
	}
	if err != nil {
		return Location{}, nil, fmt.Errorf("moving location %s: %w", id, err)
	}
	c.log.Info("location moved", "location", id, "target", target, "by", by, "entities", len(entities), "problems", len(res.errs))
	return loc, entities, res.errs.orNil()
}

// ErrLocationExists is wrapped when a location's type and target are already registered as another one.
var ErrLocationExists = errors.New("location already exists")

// RemoveLocation unregisters a location. Its entities become orphans, and are removed at once or after
// Options.OrphanGrace.
func (c *Catalog) RemoveLocation(ctx context.Context, id string) error {
	unlock := c.lockLocation(id)
	defer unlock()
	err := c.update(ctx, func(ix *indexer) error {
		if c.opts.OrphanGrace > 0 {
			ids, err := selectIDs(ctx, ix.tx, `location_id = ? AND orphaned_at = 0`, id)
			if err == nil {
				err = ix.markOrphaned(ctx, ids, c.opts.Now().UnixNano())
			}
			if err != nil {
				return fmt.Errorf("orphaning entities: %w", err)
			}
		} else {
			ids, err := selectIDs(ctx, ix.tx, `location_id = ?`, id)
			if err == nil {
				err = ix.remove(ctx, ids)
			}
			if err != nil {
				return fmt.Errorf("removing entities: %w", err)
			}
		}
		if _, err := ix.tx.ExecContext(ctx, `UPDATE entities SET location_id = NULL WHERE location_id = ?`, id); err != nil {
			return fmt.Errorf("orphaning entities: %w", err)
		}
		res, err := ix.tx.ExecContext(ctx, `DELETE FROM locations WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if rows, _ := res.RowsAffected(); rows == 0 {
			return ErrLocationNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("removing location %s: %w", id, err)
	}
	c.log.Info("location removed", "location", id)
	return nil
}

// Locations lists every location, registered and synthetic, oldest first.
func (c *Catalog) Locations(ctx context.Context) ([]Location, error) {
	return c.listLocations(ctx, `1 = 1`)
}

// Location returns one location by id.
func (c *Catalog) Location(ctx context.Context, id string) (Location, error) {
	return c.locationBy(ctx, `id = ?`, id)
}

func (c *Catalog) locationBy(ctx context.Context, where string, args ...any) (Location, error) {
	locs, err := c.listLocations(ctx, where, args...)
	if err != nil {
		return Location{}, err
	}
	if len(locs) == 0 {
		return Location{}, fmt.Errorf("location %v: %w", args[0], ErrLocationNotFound)
	}
	return locs[0], nil
}

// listLocations runs a query whose WHERE clause is a constant of this package; values go in args.
func (c *Catalog) listLocations(ctx context.Context, where string, args ...any) ([]Location, error) {
	rows, err := c.db.QueryContext(ctx, `SELECT id, type, target FROM locations WHERE `+where+` ORDER BY created_at, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("listing locations: %w", err)
	}
	defer rows.Close()
	var out []Location
	for rows.Next() {
		var l Location
		if err := rows.Scan(&l.ID, &l.Type, &l.Target); err != nil {
			return nil, fmt.Errorf("listing locations: %w", err)
		}
		out = append(out, l)
	}
	return out, rows.Err()
}
