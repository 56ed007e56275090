package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/goldenpathidp/goldenpath/internal/store"
)

func (s *Store) CreateChange(ctx context.Context, c *store.Change) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO changes(repo, title, body, branch, base, head_sha, author, state, request_ids,
			merged_sha, closed_by, close_reason, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
			c.Repo, c.Title, c.Body, c.Branch, c.Base, c.HeadSHA, c.Author, c.State, toJSON(nonNil(c.RequestIDs)),
			c.MergedSHA, c.ClosedBy, c.CloseReason, ns(c.CreatedAt), ns(c.UpdatedAt))
		if err != nil {
			return err
		}
		if c.Number, err = res.LastInsertId(); err != nil {
			return err
		}
		return linkRequests(ctx, tx, c.Number, c.RequestIDs)
	})
}

func linkRequests(ctx context.Context, tx *sql.Tx, number int64, ids []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM change_requests WHERE change = ?`, number); err != nil {
		return err
	}
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO change_requests(change, request_id) VALUES (?, ?)`, number, id); err != nil {
			return err
		}
	}
	return nil
}

const changeCols = `number, repo, title, body, branch, base, head_sha, author, state, request_ids, merged_sha, closed_by,
	close_reason, created_at, updated_at`

func scanChange(row interface{ Scan(...any) error }) (store.Change, error) {
	var c store.Change
	var ids string
	var created, updated int64
	err := row.Scan(&c.Number, &c.Repo, &c.Title, &c.Body, &c.Branch, &c.Base, &c.HeadSHA, &c.Author, &c.State, &ids,
		&c.MergedSHA, &c.ClosedBy, &c.CloseReason, &created, &updated)
	c.RequestIDs, c.CreatedAt, c.UpdatedAt = fromJSON[[]string](ids), fromNS(created), fromNS(updated)
	return c, err
}

func (s *Store) GetChange(ctx context.Context, number int64) (store.Change, error) {
	c, err := scanChange(s.db.QueryRowContext(ctx, `SELECT `+changeCols+` FROM changes WHERE number = ?`, number))
	return c, notFound(err, fmt.Sprintf("change request #%d", number))
}

func (s *Store) ListChanges(ctx context.Context, f store.ChangeFilter) ([]store.Change, error) {
	var where []string
	var args []any
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if f.Repo != "" {
		add("repo = ?", f.Repo)
	}
	if f.State != "" {
		add("state = ?", f.State)
	}
	if f.Author != "" {
		add("author = ?", f.Author)
	}
	if f.RequestID != "" {
		add("number IN (SELECT change FROM change_requests WHERE request_id = ?)", f.RequestID)
	}
	q := `SELECT ` + changeCols + ` FROM changes`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY number DESC"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Change
	for rows.Next() {
		c, err := scanChange(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (s *Store) UpdateChange(ctx context.Context, c store.Change, fromState, fromHead string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE changes SET title=?, body=?, head_sha=?, state=?, request_ids=?, merged_sha=?,
			closed_by=?, close_reason=?, updated_at=? WHERE number=? AND state=? AND head_sha=?`,
			c.Title, c.Body, c.HeadSHA, c.State, toJSON(nonNil(c.RequestIDs)), c.MergedSHA, c.ClosedBy, c.CloseReason,
			ns(c.UpdatedAt), c.Number, fromState, fromHead)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			if _, err := scanChange(tx.QueryRowContext(ctx, `SELECT `+changeCols+` FROM changes WHERE number = ?`, c.Number)); err != nil {
				return notFound(err, fmt.Sprintf("change request #%d", c.Number))
			}
			return fmt.Errorf("change request #%d: %w", c.Number, store.ErrConflict)
		}
		return linkRequests(ctx, tx, c.Number, c.RequestIDs)
	})
}

func (s *Store) AddReview(ctx context.Context, r store.Review) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO reviews(change, reviewer, head_sha, verdict, comment, created_at) VALUES (?,?,?,?,?,?)`,
		r.Change, r.Reviewer, r.HeadSHA, r.Verdict, r.Comment, ns(r.CreatedAt))
	if isUnique(err) {
		return fmt.Errorf("review by %q of change request #%d: %w", r.Reviewer, r.Change, store.ErrExists)
	}
	return err
}

func (s *Store) Reviews(ctx context.Context, change int64) ([]store.Review, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT change, reviewer, head_sha, verdict, comment, created_at FROM reviews
		WHERE change = ? ORDER BY created_at, reviewer`, change)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Review
	for rows.Next() {
		var r store.Review
		var at int64
		if err := rows.Scan(&r.Change, &r.Reviewer, &r.HeadSHA, &r.Verdict, &r.Comment, &at); err != nil {
			return nil, err
		}
		r.CreatedAt = fromNS(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *Store) AddComment(ctx context.Context, c *store.Comment) error {
	res, err := s.db.ExecContext(ctx, `INSERT INTO comments(change, author, body, created_at) VALUES (?,?,?,?)`,
		c.Change, c.Author, c.Body, ns(c.CreatedAt))
	if err != nil {
		return err
	}
	c.ID, err = res.LastInsertId()
	return err
}

func (s *Store) Comments(ctx context.Context, change int64) ([]store.Comment, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, change, author, body, created_at FROM comments WHERE change = ? ORDER BY id`, change)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Comment
	for rows.Next() {
		var c store.Comment
		var at int64
		if err := rows.Scan(&c.ID, &c.Change, &c.Author, &c.Body, &at); err != nil {
			return nil, err
		}
		c.CreatedAt = fromNS(at)
		out = append(out, c)
	}
	return out, rows.Err()
}
