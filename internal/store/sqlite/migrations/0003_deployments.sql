CREATE TABLE deployments (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    app          TEXT NOT NULL,
    environment  TEXT NOT NULL,
    image        TEXT NOT NULL,
    previous     TEXT NOT NULL DEFAULT '',
    commit_sha   TEXT NOT NULL DEFAULT '',
    change       INTEGER NOT NULL DEFAULT 0,
    pushed_at    INTEGER NOT NULL,
    committed_at INTEGER NOT NULL DEFAULT 0,
    deployed_at  INTEGER NOT NULL DEFAULT 0,
    status       TEXT NOT NULL,
    message      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX deployments_app ON deployments(app, environment, id);
CREATE INDEX deployments_change ON deployments(change) WHERE change != 0;
