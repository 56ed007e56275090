package local

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/goldenpathidp/goldenpath/internal/contract"
	"github.com/goldenpathidp/goldenpath/internal/plan"
	"github.com/goldenpathidp/goldenpath/internal/platform"
	"github.com/goldenpathidp/goldenpath/internal/reconcile"
	"github.com/goldenpathidp/goldenpath/internal/secrets"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// RDS provisions RDSRequests as a database plus a login role that owns it, on the PostgreSQL server named by
// platform.yaml (local.postgres.url) or by GOLDENPATH_POSTGRES_URL. The role's password is generated once,
// kept in the vault and handed only to the request's owners.
type RDS struct {
	Vault  Vault
	Getenv func(string) string
	// Installation identifies this goldenpath's data directory; it is part of every tag, so two
	// installations sharing a PostgreSQL server never take over each other's databases.
	Installation string
}

var _ reconcile.Provisioner = (*RDS)(nil)

// DatabaseName is the database (and role) of an RDSRequest: "<databaseName>_<environment>".
func DatabaseName(r *contract.Request) string { return r.PostgresName() }

func (p *RDS) serverURL(cfg *platform.Config) string {
	getenv := p.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	return cfg.PostgresURL(getenv)
}

func (p *RDS) Describe(r *contract.Request, cfg *platform.Config) []plan.Resource {
	size := cfg.SizeClasses.RDS[r.Spec.Size]
	server := "(no PostgreSQL server configured: set local.postgres.url in platform.yaml)"
	if u := p.serverURL(cfg); u != "" {
		server = platform.Redact(u)
	}
	name := DatabaseName(r)
	return []plan.Resource{
		{Type: "postgres database", Name: name, Settings: []plan.Setting{
			{Name: "server", Value: server},
			{Name: "engine", Value: r.Spec.Engine + " " + r.Spec.EngineVersion},
			{Name: "size", Value: fmt.Sprintf("%s (%s, %d GB on aws)", r.Spec.Size, size.InstanceClass, size.StorageGB)},
		}},
		{Type: "postgres role", Name: name, Settings: []plan.Setting{
			{Name: "connection limit", Value: strconv.Itoa(size.MaxConnections)},
			{Name: "password", Value: "generated; given only to " + r.Metadata.Owner + " and team " + r.Metadata.Team},
		}},
	}
}

func (p *RDS) ConfigKey(r *contract.Request, cfg *platform.Config) string {
	return p.serverURL(cfg) + "|" + strconv.Itoa(cfg.SizeClasses.RDS[r.Spec.Size].MaxConnections)
}

func (p *RDS) tag(r *contract.Request) string {
	return LabelRequestID + "=" + string(r.ID()) + " goldenpath.io/installation=" + p.Installation
}

func (p *RDS) connect(ctx context.Context, cfg *platform.Config) (*pgx.Conn, *url.URL, error) {
	raw := p.serverURL(cfg)
	if raw == "" {
		return nil, nil, reconcile.Waiting("PostgresNotConfigured",
			"no PostgreSQL server is configured for the local backend: set local.postgres.url in platform.yaml through a change request (and GOLDENPATH_POSTGRES_PASSWORD where goldenpath runs, if it needs one), or set GOLDENPATH_POSTGRES_URL")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, nil, reconcile.Permanent("InvalidPostgresURL", "the PostgreSQL URL is invalid: %v", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, raw)
	if err != nil {
		return nil, nil, reconcile.Transient("PostgresUnreachable", errors.New(scrub(err.Error(), u)),
			"connecting to PostgreSQL at %s", platform.Redact(raw))
	}
	return conn, u, nil
}

// scrub removes a password that a driver error might echo.
func scrub(msg string, u *url.URL) string {
	if pw, ok := u.User.Password(); ok && pw != "" {
		msg = strings.ReplaceAll(msg, pw, "xxxxx")
	}
	return msg
}

func (p *RDS) Apply(ctx context.Context, r *contract.Request, cfg *platform.Config, rec reconcile.Recorder) (reconcile.Outputs, error) {
	conn, server, err := p.connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	name := DatabaseName(r)
	rotated, err := revokeOnTransfer(ctx, p.Vault, r, rec, SecretPrefix(r.ID())+"password", SecretPrefix(r.ID())+"url")
	if err != nil {
		return nil, err
	}
	if err := rec.Step(ctx, "generate password"); err != nil {
		return nil, err
	}
	pw, err := getOrCreate(ctx, p.Vault, SecretPrefix(r.ID())+"password", func() secrets.Value { return secrets.Generate(32) })
	if err != nil {
		return nil, err
	}
	if err := rec.Step(ctx, "create role "+name); err != nil {
		return nil, err
	}
	if err := p.ensureRole(ctx, conn, r, name, pw, cfg.SizeClasses.RDS[r.Spec.Size].MaxConnections); err != nil {
		return nil, err
	}
	if err := rec.Step(ctx, "create database "+name); err != nil {
		return nil, err
	}
	if err := p.ensureDatabase(ctx, conn, r, name); err != nil {
		return nil, err
	}
	if rotated {
		// Sessions opened with the old password would outlive it.
		if _, err := conn.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`, name); err != nil {
			return nil, pgErr("disconnecting the previous owners' sessions of "+name, err)
		}
	}
	host, port := server.Hostname(), server.Port()
	if port == "" {
		port = "5432"
	}
	dsn := (&url.URL{Scheme: "postgres", User: url.UserPassword(name, pw.Reveal()), Host: net.JoinHostPort(host, port), Path: "/" + name}).String()
	if err := p.Vault.Put(ctx, SecretPrefix(r.ID())+"url", secrets.Value(dsn), "goldenpath"); err != nil {
		return nil, reconcile.Transient("VaultError", err, "storing the connection URL")
	}
	if err := recordHolder(ctx, p.Vault, r); err != nil {
		return nil, err
	}
	return reconcile.Outputs{"host": host, "port": port, "database": name, "username": name, "engine": "postgres"}, nil
}

func (p *RDS) ensureRole(ctx context.Context, conn *pgx.Conn, r *contract.Request, name string, pw secrets.Value, limit int) error {
	owner, exists, err := comment(ctx, conn, `SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = $1`, name)
	if err != nil {
		return pgErr("reading role "+name, err)
	}
	if exists && owner != p.tag(r) {
		return notManaged("postgres role", name, r, strings.TrimPrefix(owner, LabelRequestID+"="))
	}
	ident := pgx.Identifier{name}.Sanitize()
	verb := "ALTER"
	if !exists {
		verb = "CREATE"
	}
	// Role and tag in one transaction: an interrupted run never leaves an untagged role behind.
	tx, err := conn.Begin(ctx)
	if err != nil {
		return pgErr("starting a transaction", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	stmt := fmt.Sprintf("%s ROLE %s LOGIN PASSWORD %s CONNECTION LIMIT %d", verb, ident, literal(pw.Reveal()), limit)
	if _, err := tx.Exec(ctx, stmt); err != nil {
		return pgErr(strings.ToLower(verb)+" role "+name, err)
	}
	if _, err := tx.Exec(ctx, fmt.Sprintf("COMMENT ON ROLE %s IS %s", ident, literal(p.tag(r)))); err != nil {
		return pgErr("tagging role "+name, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return pgErr("committing role "+name, err)
	}
	return nil
}

func (p *RDS) ensureDatabase(ctx context.Context, conn *pgx.Conn, r *contract.Request, name string) error {
	owner, exists, err := comment(ctx, conn, `SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1`, name)
	if err != nil {
		return pgErr("reading database "+name, err)
	}
	if exists && owner != p.tag(r) && owner != "" {
		return notManaged("postgres database", name, r, strings.TrimPrefix(owner, LabelRequestID+"="))
	}
	ident := pgx.Identifier{name}.Sanitize()
	if !exists {
		if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s OWNER %s", ident, ident)); err != nil {
			return pgErr("creating database "+name, err)
		}
	} else if owner == "" {
		// Created by an interrupted run before it could be tagged: it must be owned by our role to be ours.
		var dbOwner string
		if err := conn.QueryRow(ctx, `SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1`, name).Scan(&dbOwner); err != nil {
			return pgErr("reading database "+name, err)
		}
		if dbOwner != name {
			return notManaged("postgres database", name, r, "")
		}
	}
	for _, stmt := range []string{
		fmt.Sprintf("COMMENT ON DATABASE %s IS %s", ident, literal(p.tag(r))),
		fmt.Sprintf("REVOKE ALL ON DATABASE %s FROM PUBLIC", ident),
		fmt.Sprintf("GRANT ALL ON DATABASE %s TO %s", ident, ident),
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return pgErr("configuring database "+name, err)
		}
	}
	return nil
}

func comment(ctx context.Context, conn *pgx.Conn, query, name string) (string, bool, error) {
	var c *string
	err := conn.QueryRow(ctx, query, name).Scan(&c)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	if c == nil {
		return "", true, nil
	}
	return *c, true, nil
}

// literal quotes a string as a SQL literal (utility statements take no parameters).
func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func pgErr(what string, err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "42501" || strings.HasPrefix(pe.Code, "42")) {
		return reconcile.Permanent("PostgresRefused", "%s: %s (SQLSTATE %s)", what, pe.Message, pe.Code)
	}
	return reconcile.Transient("PostgresError", err, "%s", what)
}

func (p *RDS) Delete(ctx context.Context, r *contract.Request, cfg *platform.Config, rec reconcile.Recorder) error {
	conn, _, err := p.connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	name := DatabaseName(r)
	ident := pgx.Identifier{name}.Sanitize()
	if owner, exists, err := comment(ctx, conn, `SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1`, name); err != nil {
		return pgErr("reading database "+name, err)
	} else if exists && owner == p.tag(r) {
		if err := rec.Step(ctx, "drop database "+name); err != nil {
			return err
		}
		if _, err := conn.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, name); err != nil {
			return pgErr("disconnecting clients of "+name, err)
		}
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident); err != nil {
			return pgErr("dropping database "+name, err)
		}
	}
	if owner, exists, err := comment(ctx, conn, `SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = $1`, name); err != nil {
		return pgErr("reading role "+name, err)
	} else if exists && owner == p.tag(r) {
		if err := rec.Step(ctx, "drop role "+name); err != nil {
			return err
		}
		if _, err := conn.Exec(ctx, "DROP ROLE IF EXISTS "+ident); err != nil {
			return pgErr("dropping role "+name, err)
		}
	}
	for _, n := range []string{SecretPrefix(r.ID()) + "password", SecretPrefix(r.ID()) + "url", holderName(r.ID())} {
		if err := p.Vault.Delete(ctx, n); err != nil {
			return reconcile.Transient("VaultError", err, "deleting %s", n)
		}
	}
	return nil
}
