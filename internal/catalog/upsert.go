package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// Upsert stores entities produced by goldenpath itself under a synthetic location named by source, written
// "type:target" (e.g. "goldenpath:requests"); that string becomes their managed-by-location annotation.
// Entities are validated with ParseEntities' rules; the call is all-or-nothing, and an invalid entity, or one
// another synthetic source holds, fails it with an EntityErrors. An entity a registered (url) location holds
// is taken over: goldenpath's own state decides what its entities say. Entities of the source that are not in the call are left alone (see
// Delete and ReplaceSource).
func (c *Catalog) Upsert(ctx context.Context, source string, entities []*Entity) error {
	return c.upsert(ctx, source, entities, false)
}

// ReplaceSource makes entities the complete set of the synthetic location source: entities it provided
// before and no longer does are orphaned (removed at once, or after Options.OrphanGrace).
func (c *Catalog) ReplaceSource(ctx context.Context, source string, entities []*Entity) error {
	return c.upsert(ctx, source, entities, true)
}

func (c *Catalog) upsert(ctx context.Context, source string, entities []*Entity, replace bool) error {
	typ, target, err := splitSource(source)
	if err != nil {
		return err
	}
	var errs EntityErrors
	orphaned := 0
	var taken []string
	err = c.update(ctx, func(ix *indexer) error {
		ix.authoritative = true
		defer func() { taken = ix.taken }()
		now := c.opts.Now().UnixNano()
		locID, err := syntheticLocation(ctx, ix.tx, typ, target, now)
		if err != nil {
			return err
		}
		_, kept, err := ix.apply(ctx, locID, len(entities), func(i int) *prepared { return sourceClaim(source, i, entities[i]) }, &errs, now)
		if err != nil {
			return err
		}
		if err := recordStatus(ctx, ix.tx, locID, nil, now); err != nil {
			return err
		}
		if len(errs) > 0 {
			return errs
		}
		if replace {
			orphaned, err = c.orphanMissing(ctx, ix, locID, kept, nil, now)
		}
		return err
	})
	if err != nil {
		if errs != nil {
			return errs
		}
		return fmt.Errorf("upserting into %s: %w", source, err)
	}
	if orphaned > 0 {
		c.log.Info("entities orphaned", "source", source, "count", orphaned, "removed", c.opts.OrphanGrace == 0)
	}
	if len(taken) > 0 {
		c.log.Warn("registered locations claimed entities goldenpath states itself; goldenpath's version replaced them",
			"source", source, "entities", taken)
	}
	return nil
}

func splitSource(source string) (string, string, error) {
	typ, target, ok := strings.Cut(source, ":")
	switch {
	case !ok || typ == "" || target == "":
		return "", "", fmt.Errorf("source %q: must be written type:target, e.g. goldenpath:requests", source)
	case typ == "url":
		return "", "", fmt.Errorf("source %q: type url is for registered locations (AddLocation); pick another type", source)
	}
	return typ, target, nil
}

// sourceClaim validates and copies entity i of an Upsert call (the catalog never aliases the caller's
// maps) and prepares it; an invalid entity comes back with its problems as the prepared claim's error.
func sourceClaim(source string, i int, e *Entity) *prepared {
	cp, err := validatedCopy(e)
	if err != nil {
		var list EntityErrors
		if errors.As(err, &list) {
			for _, one := range list {
				if ee, ok := one.(*EntityError); ok {
					ee.File, ee.Document = source, i+1
				}
			}
		} else {
			err = &EntityError{File: source, Document: i + 1, Rule: err.Error()}
		}
		return &prepared{err: err}
	}
	cp.Metadata.UID, cp.Metadata.Etag, cp.Relations = "", "", nil
	annotate(cp, source, source)
	p := prepareClaim(claim{entity: cp, file: source})
	p.document = i + 1
	return p
}

func syntheticLocation(ctx context.Context, tx *sql.Tx, typ, target string, now int64) (string, error) {
	id := newUUID()
	err := tx.QueryRowContext(ctx, `INSERT INTO locations (id, type, target, created_at) VALUES (?,?,?,?)
		ON CONFLICT (type, target) DO UPDATE SET type = excluded.type RETURNING id`, id, typ, target, now).Scan(&id)
	if err != nil {
		return "", fmt.Errorf("storing location %s:%s: %w", typ, target, err)
	}
	return id, nil
}
