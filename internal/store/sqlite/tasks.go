package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/store"
)

const taskCols = `id, template_ref, spec, status, created_by, created_at, last_heartbeat_at, state, attempts, cancel_requested, teams`

func scanTask(row interface{ Scan(...any) error }) (store.Task, error) {
	var t store.Task
	var created, beat int64
	var cancel int
	var teams string
	err := row.Scan(&t.ID, &t.TemplateRef, &t.Spec, &t.Status, &t.CreatedBy, &created, &beat, &t.State, &t.Attempts, &cancel, &teams)
	t.CreatedAt, t.LastHeartbeatAt, t.CancelRequested = fromNS(created), fromNS(beat), cancel != 0
	if err == nil {
		err = json.Unmarshal([]byte(teams), &t.Teams)
	}
	return t, err
}

func (s *Store) CreateTask(ctx context.Context, t store.Task) error {
	teams, err := json.Marshal(nonNilStrings(t.Teams))
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO tasks(`+taskCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
		t.ID, t.TemplateRef, t.Spec, t.Status, t.CreatedBy, ns(t.CreatedAt), ns(t.LastHeartbeatAt), nonEmpty(t.State, "{}"), t.Attempts, boolInt(t.CancelRequested), string(teams))
	if isUnique(err) {
		return fmt.Errorf("task %s: %w", t.ID, store.ErrExists)
	}
	return err
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (s *Store) GetTask(ctx context.Context, id string) (store.Task, error) {
	t, err := scanTask(s.db.QueryRowContext(ctx, `SELECT `+taskCols+` FROM tasks WHERE id = ?`, id))
	return t, notFound(err, "task "+id)
}

func (s *Store) ListTasks(ctx context.Context, f store.TaskFilter) ([]store.Task, int, error) {
	var where []string
	var args []any
	if f.CreatedBy != "" {
		where, args = append(where, "created_by = ?"), append(args, f.CreatedBy)
	}
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, f.Status)
	}
	if r := f.ReadableBy; r != nil {
		cond := "created_by = ?"
		args = append(args, r.Ref)
		if len(r.Teams) > 0 {
			cond += " OR EXISTS (SELECT 1 FROM json_each(tasks.teams) WHERE json_each.value IN (?" + strings.Repeat(",?", len(r.Teams)-1) + "))"
			for _, t := range r.Teams {
				args = append(args, t)
			}
		}
		where = append(where, "("+cond+")")
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var total int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM tasks`+cond, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	order := "DESC"
	if f.Ascending {
		order = "ASC"
	}
	limit := f.Limit
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+taskCols+` FROM tasks`+cond+` ORDER BY created_at `+order+`, id LIMIT ? OFFSET ?`,
		append(args, limit, f.Offset)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []store.Task
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, t)
	}
	return out, total, rows.Err()
}

func (s *Store) UpdateTask(ctx context.Context, id string, fn func(t *store.Task) error) (store.Task, error) {
	var out store.Task
	err := s.tx(ctx, func(tx *sql.Tx) error {
		t, err := scanTask(tx.QueryRowContext(ctx, `SELECT `+taskCols+` FROM tasks WHERE id = ?`, id))
		if err != nil {
			return notFound(err, "task "+id)
		}
		if err := fn(&t); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE tasks SET spec=?, status=?, last_heartbeat_at=?, state=?, attempts=?, cancel_requested=? WHERE id=?`,
			t.Spec, t.Status, ns(t.LastHeartbeatAt), nonEmpty(t.State, "{}"), t.Attempts, boolInt(t.CancelRequested), id)
		out = t
		return err
	})
	return out, err
}

func (s *Store) ClaimTask(ctx context.Context, now time.Time) (store.Task, bool, error) {
	t, err := scanTask(s.db.QueryRowContext(ctx, `UPDATE tasks SET status = 'processing', last_heartbeat_at = ?, attempts = attempts + 1
		WHERE id = (SELECT id FROM tasks WHERE status = 'open' ORDER BY created_at, id LIMIT 1)
		RETURNING `+taskCols, ns(now)))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Task{}, false, nil
	}
	return t, err == nil, err
}

func (s *Store) AddTaskEvent(ctx context.Context, e *store.TaskEvent) error {
	if e.CreatedAt.IsZero() {
		e.CreatedAt = time.Now().UTC()
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO task_events(task_id, type, body, created_at) VALUES (?,?,?,?)`,
		e.TaskID, e.Type, e.Body, ns(e.CreatedAt))
	if err != nil {
		return err
	}
	e.ID, err = res.LastInsertId()
	return err
}

func (s *Store) TaskEvents(ctx context.Context, taskID string, after int64) ([]store.TaskEvent, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, task_id, type, body, created_at FROM task_events WHERE task_id = ? AND id > ? ORDER BY id`, taskID, after)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.TaskEvent
	for rows.Next() {
		var e store.TaskEvent
		var at int64
		if err := rows.Scan(&e.ID, &e.TaskID, &e.Type, &e.Body, &at); err != nil {
			return nil, err
		}
		e.CreatedAt = fromNS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}
