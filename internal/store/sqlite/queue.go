package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/store"
)

func (s *Store) Enqueue(ctx context.Context, requestID, action, specHash string, notBefore time.Time) error {
	now := time.Now().UnixNano()
	_, err := s.db.ExecContext(ctx, `INSERT INTO work_items(request_id, action, spec_hash, generation, attempts, not_before, created_at)
		VALUES (?, ?, ?, 1, 0, ?, ?)
		ON CONFLICT(request_id) DO UPDATE SET
			attempts = CASE WHEN work_items.action = excluded.action AND work_items.spec_hash = excluded.spec_hash
				THEN work_items.attempts ELSE 0 END,
			action = excluded.action, spec_hash = excluded.spec_hash, generation = work_items.generation + 1,
			not_before = excluded.not_before, last_error = ''`,
		requestID, action, specHash, ns(notBefore), now)
	return err
}

func (s *Store) Lease(ctx context.Context, owner string, now time.Time, leaseFor time.Duration) (store.WorkItem, bool, error) {
	var w store.WorkItem
	var notBefore, leaseUntil, created int64
	err := s.db.QueryRowContext(ctx, `UPDATE work_items SET lease_owner = ?, lease_until = ?, attempts = attempts + 1
		WHERE request_id = (SELECT request_id FROM work_items WHERE not_before <= ? AND lease_until <= ?
			ORDER BY not_before, request_id LIMIT 1)
		RETURNING request_id, action, spec_hash, generation, attempts, not_before, lease_owner, lease_until, last_error, created_at`,
		owner, ns(now.Add(leaseFor)), ns(now), ns(now)).
		Scan(&w.RequestID, &w.Action, &w.SpecHash, &w.Generation, &w.Attempts, &notBefore, &w.LeaseOwner, &leaseUntil, &w.LastError, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return store.WorkItem{}, false, nil
	}
	if err != nil {
		return store.WorkItem{}, false, err
	}
	w.NotBefore, w.LeaseUntil, w.CreatedAt = fromNS(notBefore), fromNS(leaseUntil), fromNS(created)
	return w, true, nil
}

func (s *Store) RenewLease(ctx context.Context, requestID, owner string, until time.Time) error {
	if owner == "" {
		return fmt.Errorf("renewing the lease of %s: no owner given", requestID)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE work_items SET lease_until = max(lease_until, ?)
		WHERE request_id = ? AND lease_owner = ?`, ns(until), requestID, owner)
	if err != nil {
		return fmt.Errorf("renewing the lease of %s: %w", requestID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("renewing the lease of %s: %w", requestID, err)
	} else if n == 0 {
		return fmt.Errorf("renewing %s's lease of %s: %w", owner, requestID, store.ErrLeaseLost)
	}
	return nil
}

func (s *Store) Complete(ctx context.Context, requestID string, gen int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM work_items WHERE request_id = ? AND generation = ?`, requestID, gen)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			// Newer work arrived while this generation ran: make it leasable now.
			_, err = tx.ExecContext(ctx, `UPDATE work_items SET lease_until = 0, lease_owner = '' WHERE request_id = ?`, requestID)
		}
		return err
	})
}

func (s *Store) Retry(ctx context.Context, requestID string, gen int64, notBefore time.Time, lastErr string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE work_items SET lease_until = 0, lease_owner = '', not_before = ?, last_error = ?
			WHERE request_id = ? AND generation = ?`, ns(notBefore), lastErr, requestID, gen)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			_, err = tx.ExecContext(ctx, `UPDATE work_items SET lease_until = 0, lease_owner = '' WHERE request_id = ?`, requestID)
		}
		return err
	})
}

func (s *Store) NextDue(ctx context.Context) (time.Time, error) {
	var t sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT min(max(not_before, lease_until)) FROM work_items`).Scan(&t)
	if err != nil || !t.Valid {
		return time.Time{}, err
	}
	return time.Unix(0, t.Int64), nil
}

func (s *Store) QueueLength(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM work_items`).Scan(&n)
	return n, err
}

func (s *Store) ReleaseLeases(ctx context.Context) error {
	_, err := s.db.ExecContext(ctx, `UPDATE work_items SET lease_until = 0, lease_owner = '' WHERE lease_until <> 0`)
	return err
}
