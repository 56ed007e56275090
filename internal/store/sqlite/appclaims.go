package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/store"
)

// ClaimAppName inserts the claim unless the name is held, then reads the holder, in one transaction.
func (s *Store) ClaimAppName(ctx context.Context, name, repo string, at time.Time) (store.AppClaim, error) {
	var c store.AppClaim
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO app_claims(name, repo, claimed_at) VALUES (?, ?, ?) ON CONFLICT(name) DO NOTHING`,
			name, repo, ns(at)); err != nil {
			return err
		}
		var claimed int64
		if err := tx.QueryRowContext(ctx, `SELECT name, repo, claimed_at FROM app_claims WHERE name = ?`, name).Scan(&c.Name, &c.Repo, &claimed); err != nil {
			return err
		}
		c.ClaimedAt = fromNS(claimed)
		return nil
	})
	return c, err
}

func (s *Store) ReleaseAppName(ctx context.Context, name, repo string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM app_claims WHERE name = ? AND repo = ?`, name, repo)
	return err
}

func (s *Store) ListAppClaims(ctx context.Context) ([]store.AppClaim, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, repo, claimed_at FROM app_claims ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.AppClaim
	for rows.Next() {
		var c store.AppClaim
		var claimed int64
		if err := rows.Scan(&c.Name, &c.Repo, &claimed); err != nil {
			return nil, err
		}
		c.ClaimedAt = fromNS(claimed)
		out = append(out, c)
	}
	return out, rows.Err()
}
