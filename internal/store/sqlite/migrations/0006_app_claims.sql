-- Which forge repository holds each app name: the first to claim it keeps it.
CREATE TABLE app_claims (
    name       TEXT PRIMARY KEY,
    repo       TEXT NOT NULL,
    claimed_at INTEGER NOT NULL
);
CREATE INDEX app_claims_repo ON app_claims(repo);
