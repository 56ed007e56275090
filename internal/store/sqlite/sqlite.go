// Package sqlite implements store.Store on SQLite (modernc.org/sqlite, no cgo): one file in the data
// directory, WAL mode, versioned migrations embedded in the binary.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/dbfile"
	"github.com/goldenpathidp/goldenpath/internal/store"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a store.Store backed by a SQLite file.
type Store struct {
	db *sql.DB
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database at path and applies pending migrations.
func Open(ctx context.Context, path string) (*Store, error) {
	// The store holds hashed tokens, encrypted secrets and the audit log: only goldenpath's user reads it.
	if err := dbfile.Prepare(path); err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(NORMAL)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	db.SetMaxOpenConns(8)
	s := &Store{db: db}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrating %s: %w", path, err)
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return err
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		version, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: name must start with a number", base)
		}
		if err := s.apply(ctx, version, name); err != nil {
			return fmt.Errorf("migration %s: %w", base, err)
		}
	}
	return nil
}

func (s *Store) apply(ctx context.Context, version int, name string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO schema_migrations(version, applied_at) VALUES (?, ?)`, version, time.Now().UnixNano())
		return err
	})
}

func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func ns(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNS(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func fromJSON[T any](s string) T {
	var v T
	_ = json.Unmarshal([]byte(s), &v)
	return v
}

func isUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return err
}

// --- users and tokens

func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO users(name, display_name, email, roles, teams, created_at) VALUES (?,?,?,?,?,?)`,
		u.Name, u.DisplayName, u.Email, toJSON(nonNil(u.Roles)), toJSON(nonNil(u.Teams)), ns(u.CreatedAt))
	if isUnique(err) {
		return fmt.Errorf("user %q: %w", u.Name, store.ErrExists)
	}
	return err
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

const userCols = `name, display_name, email, roles, teams, created_at`

func scanUser(row interface{ Scan(...any) error }) (store.User, error) {
	var u store.User
	var roles, teams string
	var created int64
	err := row.Scan(&u.Name, &u.DisplayName, &u.Email, &roles, &teams, &created)
	u.Roles, u.Teams, u.CreatedAt = fromJSON[[]string](roles), fromJSON[[]string](teams), fromNS(created)
	return u, err
}

func (s *Store) GetUser(ctx context.Context, name string) (store.User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE name = ?`, name))
	return u, notFound(err, "user "+strconv.Quote(name))
}

func (s *Store) ListUsers(ctx context.Context) ([]store.User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+userCols+` FROM users ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

func (s *Store) UpdateUser(ctx context.Context, u store.User) error {
	res, err := s.db.ExecContext(ctx, `UPDATE users SET display_name=?, email=?, roles=?, teams=? WHERE name=?`,
		u.DisplayName, u.Email, toJSON(nonNil(u.Roles)), toJSON(nonNil(u.Teams)), u.Name)
	return affected(res, err, "user "+strconv.Quote(u.Name))
}

func affected(res sql.Result, err error, what string) error {
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}

func (s *Store) CreateToken(ctx context.Context, t store.Token) error {
	var exp any
	if t.ExpiresAt != nil {
		exp = ns(*t.ExpiresAt)
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO tokens(id, user_name, hash, description, created_at, expires_at) VALUES (?,?,?,?,?,?)`,
		t.ID, t.User, t.Hash, t.Description, ns(t.CreatedAt), exp)
	if isUnique(err) {
		return fmt.Errorf("token %q: %w", t.ID, store.ErrExists)
	}
	return err
}

const tokenCols = `id, user_name, hash, description, created_at, last_used_at, expires_at`

func scanToken(row interface{ Scan(...any) error }) (store.Token, error) {
	var t store.Token
	var created, used int64
	var exp sql.NullInt64
	err := row.Scan(&t.ID, &t.User, &t.Hash, &t.Description, &created, &used, &exp)
	t.CreatedAt, t.LastUsedAt = fromNS(created), fromNS(used)
	if exp.Valid {
		e := fromNS(exp.Int64)
		t.ExpiresAt = &e
	}
	return t, err
}

func (s *Store) TokenByHash(ctx context.Context, hash []byte) (store.Token, error) {
	t, err := scanToken(s.db.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE hash = ?`, hash))
	return t, notFound(err, "token")
}

func (s *Store) TouchToken(ctx context.Context, id string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE tokens SET last_used_at = ? WHERE id = ?`, ns(at), id)
	return err
}

func (s *Store) DeleteToken(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM tokens WHERE id = ?`, id)
	return affected(res, err, "token "+strconv.Quote(id))
}

func (s *Store) ListTokens(ctx context.Context, user string) ([]store.Token, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE user_name = ? ORDER BY created_at`, user)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

func (s *Store) GetToken(ctx context.Context, id string) (store.Token, error) {
	t, err := scanToken(s.db.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE id = ?`, id))
	return t, notFound(err, "token "+strconv.Quote(id))
}

// usersTx reads user name and every other user inside tx.
func usersTx(ctx context.Context, tx *sql.Tx, name string) (store.User, []store.User, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+userCols+` FROM users ORDER BY name`)
	if err != nil {
		return store.User{}, nil, err
	}
	defer rows.Close()
	var u store.User
	found := false
	var others []store.User
	for rows.Next() {
		x, err := scanUser(rows)
		if err != nil {
			return store.User{}, nil, err
		}
		if x.Name == name {
			u, found = x, true
			continue
		}
		others = append(others, x)
	}
	if err := rows.Err(); err != nil {
		return store.User{}, nil, err
	}
	if !found {
		return store.User{}, nil, fmt.Errorf("user %q: %w", name, store.ErrNotFound)
	}
	return u, others, nil
}

func (s *Store) ChangeUser(ctx context.Context, name string, fn func(u *store.User, others []store.User) error) (store.User, error) {
	var out store.User
	err := s.tx(ctx, func(tx *sql.Tx) error {
		u, others, err := usersTx(ctx, tx, name)
		if err != nil {
			return err
		}
		if err := fn(&u, others); err != nil {
			return err
		}
		u.Name = name
		if _, err := tx.ExecContext(ctx, `UPDATE users SET display_name=?, email=?, roles=?, teams=? WHERE name=?`,
			u.DisplayName, u.Email, toJSON(nonNil(u.Roles)), toJSON(nonNil(u.Teams)), name); err != nil {
			return err
		}
		out = u
		return nil
	})
	return out, err
}

func (s *Store) DeleteUser(ctx context.Context, name string, check func(u store.User, others []store.User) error) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		u, others, err := usersTx(ctx, tx, name)
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(u, others); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE user_name = ?`, name)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		_, err = tx.ExecContext(ctx, `DELETE FROM users WHERE name = ?`, name)
		return err
	})
	return int(n), err
}

// --- meta and audit

func (s *Store) GetMeta(ctx context.Context, key string) (string, error) {
	var v string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	return v, notFound(err, "meta "+strconv.Quote(key))
}

func (s *Store) SetMeta(ctx context.Context, key, value string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}

func (s *Store) Audit(ctx context.Context, e store.AuditEntry) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO audit(time, actor, action, target, detail) VALUES (?,?,?,?,?)`,
		ns(e.Time), e.Actor, e.Action, e.Target, e.Detail)
	return err
}

func (s *Store) AuditLog(ctx context.Context, limit int) ([]store.AuditEntry, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.db.QueryContext(ctx, `SELECT time, actor, action, target, detail FROM audit ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.AuditEntry
	for rows.Next() {
		var e store.AuditEntry
		var t int64
		if err := rows.Scan(&t, &e.Actor, &e.Action, &e.Target, &e.Detail); err != nil {
			return nil, err
		}
		e.Time = fromNS(t)
		out = append(out, e)
	}
	return out, rows.Err()
}

// --- secrets

func (s *Store) PutSecret(ctx context.Context, sec store.Secret) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO secrets(name, ciphertext, version, updated_at, updated_by) VALUES (?,?,1,?,?)
		ON CONFLICT(name) DO UPDATE SET ciphertext = excluded.ciphertext, version = secrets.version + 1,
		updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
		sec.Name, sec.Ciphertext, ns(sec.UpdatedAt), sec.UpdatedBy)
	return err
}

func (s *Store) GetSecret(ctx context.Context, name string) (store.Secret, error) {
	sec := store.Secret{Name: name}
	var at int64
	err := s.db.QueryRowContext(ctx, `SELECT ciphertext, version, updated_at, updated_by FROM secrets WHERE name = ?`, name).
		Scan(&sec.Ciphertext, &sec.Version, &at, &sec.UpdatedBy)
	sec.UpdatedAt = fromNS(at)
	return sec, notFound(err, "secret "+strconv.Quote(name))
}

func (s *Store) DeleteSecret(ctx context.Context, name string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM secrets WHERE name = ?`, name)
	return err
}

func (s *Store) ListSecrets(ctx context.Context, prefix string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name FROM secrets WHERE substr(name, 1, length(?)) = ? ORDER BY name`, prefix, prefix)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}
