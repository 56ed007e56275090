package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/store"
)

const requestCols = `id, kind, environment, name, owner, team, phase, conditions, spec, spec_hash, observed_hash, outputs,
	change, created_at, updated_at`

func scanRequest(row interface{ Scan(...any) error }) (store.Request, error) {
	var r store.Request
	var conds, outputs string
	var created, updated int64
	err := row.Scan(&r.ID, &r.Kind, &r.Environment, &r.Name, &r.Owner, &r.Team, &r.Phase, &conds, &r.Spec, &r.SpecHash,
		&r.ObservedHash, &outputs, &r.Change, &created, &updated)
	r.Conditions = fromJSON[[]store.Condition](conds)
	r.Outputs = fromJSON[map[string]string](outputs)
	r.CreatedAt, r.UpdatedAt = fromNS(created), fromNS(updated)
	return r, err
}

func (s *Store) GetRequest(ctx context.Context, id string) (store.Request, error) {
	r, err := scanRequest(s.db.QueryRowContext(ctx, `SELECT `+requestCols+` FROM requests WHERE id = ?`, id))
	return r, notFound(err, "request "+id)
}

func (s *Store) ListRequests(ctx context.Context, f store.RequestFilter) ([]store.Request, error) {
	var where []string
	var args []any
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if f.Kind != "" {
		add("kind = ?", f.Kind)
	}
	if f.Environment != "" {
		add("environment = ?", f.Environment)
	}
	if f.Owner != "" {
		add("owner = ?", f.Owner)
	}
	if f.Team != "" {
		add("team = ?", f.Team)
	}
	if f.Phase != "" {
		add("phase = ?", f.Phase)
	}
	if f.Active {
		where = append(where, "phase NOT IN ('Deleted', 'Rejected')")
	}
	q := `SELECT ` + requestCols + ` FROM requests`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := s.db.QueryContext(ctx, q+" ORDER BY id", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Request
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *Store) UpdateRequest(ctx context.Context, id string, fn func(r *store.Request) ([]store.Event, error)) (store.Request, error) {
	var out store.Request
	err := s.tx(ctx, func(tx *sql.Tx) error {
		r, err := scanRequest(tx.QueryRowContext(ctx, `SELECT `+requestCols+` FROM requests WHERE id = ?`, id))
		exists := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if !exists {
			r = store.Request{ID: id}
		}
		events, err := fn(&r)
		if err != nil {
			return err
		}
		now := time.Now().UTC()
		if r.CreatedAt.IsZero() {
			r.CreatedAt = now
		}
		r.UpdatedAt = now
		if _, err := tx.ExecContext(ctx, `INSERT INTO requests(`+requestCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
			ON CONFLICT(id) DO UPDATE SET kind=excluded.kind, environment=excluded.environment, name=excluded.name,
			owner=excluded.owner, team=excluded.team, phase=excluded.phase, conditions=excluded.conditions, spec=excluded.spec,
			spec_hash=excluded.spec_hash, observed_hash=excluded.observed_hash, outputs=excluded.outputs, change=excluded.change,
			updated_at=excluded.updated_at`,
			r.ID, r.Kind, r.Environment, r.Name, r.Owner, r.Team, r.Phase, toJSON(r.Conditions), r.Spec, r.SpecHash,
			r.ObservedHash, toJSON(r.Outputs), r.Change, ns(r.CreatedAt), ns(r.UpdatedAt)); err != nil {
			return err
		}
		for _, e := range events {
			if e.Time.IsZero() {
				e.Time = now
			}
			if e.Type == "" {
				e.Type = store.EventNormal
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO events(request_id, time, type, reason, message, actor) VALUES (?,?,?,?,?,?)`,
				id, ns(e.Time), e.Type, e.Reason, e.Message, e.Actor); err != nil {
				return err
			}
		}
		out = r
		return nil
	})
	return out, err
}

func (s *Store) Events(ctx context.Context, requestID string, limit int) ([]store.Event, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, request_id, time, type, reason, message, actor FROM
		(SELECT * FROM events WHERE request_id = ? ORDER BY id DESC LIMIT ?) ORDER BY id`, requestID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Event
	for rows.Next() {
		var e store.Event
		var t int64
		if err := rows.Scan(&e.ID, &e.RequestID, &t, &e.Type, &e.Reason, &e.Message, &e.Actor); err != nil {
			return nil, err
		}
		e.Time = fromNS(t)
		out = append(out, e)
	}
	return out, rows.Err()
}
