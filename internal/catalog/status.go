package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// maxProblems bounds what is kept of a location's problems: enough to fix the first ones, not a second copy
// of a broken ten-thousand-entity file.
const maxProblems = 100

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func recordStatus(ctx context.Context, db execer, id string, errs EntityErrors, now int64) error {
	msgs := make([]string, 0, min(len(errs), maxProblems))
	for _, err := range errs[:min(len(errs), maxProblems)] {
		msgs = append(msgs, err.Error())
	}
	b, err := json.Marshal(msgs)
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `UPDATE locations SET refreshed_at = ?, problems = ? WHERE id = ?`, now, string(b), id); err != nil {
		return fmt.Errorf("recording status of location %s: %w", id, err)
	}
	return nil
}

// LocationStatus is a location with what its latest read found.
type LocationStatus struct {
	Location
	RefreshedAt time.Time `json:"refreshedAt"`
	Entities    int       `json:"entities"`           // entities it currently provides
	Problems    []string  `json:"problems,omitempty"` // of the latest read (at most 100)
}

// Status returns a location's status: when it was last read, how many entities it provides and the
// problems of that read, so a user can see why an entity did not appear.
func (c *Catalog) Status(ctx context.Context, id string) (LocationStatus, error) {
	var st LocationStatus
	var refreshed int64
	var problems string
	err := c.db.QueryRowContext(ctx, `SELECT id, type, target, refreshed_at, problems,
		(SELECT count(*) FROM entities WHERE location_id = locations.id AND orphaned_at = 0)
		FROM locations WHERE id = ?`, id).Scan(&st.ID, &st.Type, &st.Target, &refreshed, &problems, &st.Entities)
	if errors.Is(err, sql.ErrNoRows) {
		return st, fmt.Errorf("location %s: %w", id, ErrLocationNotFound)
	}
	if err != nil {
		return st, fmt.Errorf("reading location %s: %w", id, err)
	}
	if refreshed != 0 {
		st.RefreshedAt = time.Unix(0, refreshed).UTC()
	}
	if err := json.Unmarshal([]byte(problems), &st.Problems); err != nil {
		return st, fmt.Errorf("decoding problems of location %s: %w", id, err)
	}
	return st, nil
}

// LocationOf returns the location that provides an entity (Backstage's /locations/by-entity).
func (c *Catalog) LocationOf(ctx context.Context, ref Ref) (Location, error) {
	var id sql.NullString
	err := c.db.QueryRowContext(ctx, `SELECT location_id FROM entities WHERE ref = ?`, strings.ToLower(ref.String())).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return Location{}, fmt.Errorf("%s: %w", ref, ErrNotFound)
	}
	if err != nil {
		return Location{}, fmt.Errorf("looking up %s: %w", ref, err)
	}
	if !id.Valid {
		return Location{}, fmt.Errorf("%s is an orphan: %w", ref, ErrLocationNotFound)
	}
	return c.locationBy(ctx, `id = ?`, id.String)
}

// LocationEntities returns the entities a location currently provides, ordered by ref.
func (c *Catalog) LocationEntities(ctx context.Context, id string) ([]*Entity, error) {
	if _, err := c.locationBy(ctx, `id = ?`, id); err != nil {
		return nil, err
	}
	return c.locationEntities(ctx, id)
}

// Run re-reads every url location each interval and removes orphans whose grace period is over, until ctx
// ends. Pushes to the forge already refresh through RefreshTarget; this catches everything else.
func (c *Catalog) Run(ctx context.Context, every time.Duration) error {
	if every <= 0 {
		return fmt.Errorf("refresh interval: must be positive, got %s", every)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		_ = c.RefreshAll(ctx) // each location logs its own problems

		if _, err := c.PurgeOrphans(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("purging orphans failed", "err", err)
		}
	}
}
