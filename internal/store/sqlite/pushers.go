package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"
)

// pusherBatch bounds the parameters of one statement (SQLite allows 32,766).
const pusherBatch = 500

// RecordPushers inserts the commits not yet recorded, in one transaction.
func (s *Store) RecordPushers(ctx context.Context, repo, pusher string, shas []string, at time.Time) error {
	if len(shas) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO commit_pushers(repo, sha, pusher, pushed_at) VALUES (?,?,?,?) ON CONFLICT DO NOTHING`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, sha := range shas {
			if _, err := stmt.ExecContext(ctx, repo, sha, pusher, ns(at)); err != nil {
				return err
			}
		}
		return nil
	})
}

// Pushers looks the commits up in batches.
func (s *Store) Pushers(ctx context.Context, repo string, shas []string) (map[string]string, error) {
	out := map[string]string{}
	for start := 0; start < len(shas); start += pusherBatch {
		batch := shas[start:min(start+pusherBatch, len(shas))]
		args := []any{repo}
		for _, sha := range batch {
			args = append(args, sha)
		}
		q := `SELECT sha, pusher FROM commit_pushers WHERE repo = ? AND sha IN (?` + strings.Repeat(",?", len(batch)-1) + `)`
		rows, err := s.db.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var sha, pusher string
			if err := rows.Scan(&sha, &pusher); err != nil {
				rows.Close()
				return nil, err
			}
			out[sha] = pusher
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
