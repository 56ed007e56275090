package sqlite

import (
	"context"
	"database/sql"
	"strings"

	"github.com/goldenpathidp/goldenpath/internal/store"
)

const deploymentCols = `id, app, environment, image, previous, commit_sha, change, pushed_at, committed_at, deployed_at, status, message`

func scanDeployment(row interface{ Scan(...any) error }) (store.Deployment, error) {
	var d store.Deployment
	var pushed, committed, deployed int64
	err := row.Scan(&d.ID, &d.App, &d.Environment, &d.Image, &d.Previous, &d.Commit, &d.Change, &pushed, &committed, &deployed, &d.Status, &d.Message)
	d.Pushed, d.Committed, d.Deployed = fromNS(pushed), fromNS(committed), fromNS(deployed)
	return d, err
}

// AddDeployment inserts d and drops what falls past store.MaxDeployments, in one transaction.
func (s *Store) AddDeployment(ctx context.Context, d *store.Deployment) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO deployments(app, environment, image, previous, commit_sha, change, pushed_at, committed_at, deployed_at, status, message)
			VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
			d.App, d.Environment, d.Image, d.Previous, d.Commit, d.Change, ns(d.Pushed), ns(d.Committed), ns(d.Deployed), d.Status, d.Message)
		if err != nil {
			return err
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM deployments WHERE id <= ?`, id-store.MaxDeployments); err != nil {
			return err
		}
		d.ID = id
		return nil
	})
}

func (s *Store) ListDeployments(ctx context.Context, f store.DeploymentFilter) ([]store.Deployment, error) {
	var where []string
	var args []any
	for _, c := range []struct {
		col string
		v   any
		set bool
	}{
		{"app", f.App, f.App != ""},
		{"environment", f.Environment, f.Environment != ""},
		{"change", f.Change, f.Change != 0},
		{"status", f.Status, f.Status != ""},
	} {
		if c.set {
			where, args = append(where, c.col+" = ?"), append(args, c.v)
		}
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+deploymentCols+` FROM deployments`+cond+` ORDER BY id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Deployment
	for rows.Next() {
		d, err := scanDeployment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

func (s *Store) UpdateDeployment(ctx context.Context, id int64, fn func(d *store.Deployment) error) (store.Deployment, error) {
	var out store.Deployment
	err := s.tx(ctx, func(tx *sql.Tx) error {
		d, err := scanDeployment(tx.QueryRowContext(ctx, `SELECT `+deploymentCols+` FROM deployments WHERE id = ?`, id))
		if err != nil {
			return notFound(err, "deployment")
		}
		if err := fn(&d); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE deployments SET image=?, previous=?, commit_sha=?, change=?, committed_at=?, deployed_at=?, status=?, message=? WHERE id=?`,
			d.Image, d.Previous, d.Commit, d.Change, ns(d.Committed), ns(d.Deployed), d.Status, d.Message, id)
		out = d
		return err
	})
	return out, err
}
