CREATE TABLE users (
    name         TEXT PRIMARY KEY,
    display_name TEXT NOT NULL DEFAULT '',
    email        TEXT NOT NULL DEFAULT '',
    roles        TEXT NOT NULL DEFAULT '[]',
    teams        TEXT NOT NULL DEFAULT '[]',
    created_at   INTEGER NOT NULL
);

CREATE TABLE tokens (
    id           TEXT PRIMARY KEY,
    user_name    TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    hash         BLOB NOT NULL UNIQUE,
    description  TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL DEFAULT 0,
    expires_at   INTEGER
);
CREATE INDEX tokens_user ON tokens(user_name);

CREATE TABLE changes (
    number       INTEGER PRIMARY KEY AUTOINCREMENT,
    repo         TEXT NOT NULL,
    title        TEXT NOT NULL,
    body         TEXT NOT NULL DEFAULT '',
    branch       TEXT NOT NULL,
    base         TEXT NOT NULL,
    head_sha     TEXT NOT NULL,
    author       TEXT NOT NULL,
    state        TEXT NOT NULL,
    request_ids  TEXT NOT NULL DEFAULT '[]',
    merged_sha   TEXT NOT NULL DEFAULT '',
    closed_by    TEXT NOT NULL DEFAULT '',
    close_reason TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX changes_state ON changes(state);

CREATE TABLE change_requests (
    change     INTEGER NOT NULL REFERENCES changes(number) ON DELETE CASCADE,
    request_id TEXT NOT NULL,
    PRIMARY KEY (change, request_id)
);
CREATE INDEX change_requests_request ON change_requests(request_id);

CREATE TABLE reviews (
    change     INTEGER NOT NULL REFERENCES changes(number) ON DELETE CASCADE,
    reviewer   TEXT NOT NULL,
    head_sha   TEXT NOT NULL,
    verdict    TEXT NOT NULL,
    comment    TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    PRIMARY KEY (change, reviewer, head_sha)
);

CREATE TABLE comments (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    change     INTEGER NOT NULL REFERENCES changes(number) ON DELETE CASCADE,
    author     TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE requests (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    environment   TEXT NOT NULL,
    name          TEXT NOT NULL,
    owner         TEXT NOT NULL,
    team          TEXT NOT NULL,
    phase         TEXT NOT NULL,
    conditions    TEXT NOT NULL DEFAULT '[]',
    spec          TEXT NOT NULL DEFAULT '',
    spec_hash     TEXT NOT NULL DEFAULT '',
    observed_hash TEXT NOT NULL DEFAULT '',
    outputs       TEXT NOT NULL DEFAULT '{}',
    change        INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX requests_owner ON requests(owner);
CREATE INDEX requests_team ON requests(team);

CREATE TABLE events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT NOT NULL,
    time       INTEGER NOT NULL,
    type       TEXT NOT NULL,
    reason     TEXT NOT NULL,
    message    TEXT NOT NULL,
    actor      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_request ON events(request_id, id);

CREATE TABLE work_items (
    request_id  TEXT PRIMARY KEY,
    action      TEXT NOT NULL,
    spec_hash   TEXT NOT NULL,
    generation  INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    not_before  INTEGER NOT NULL,
    lease_owner TEXT NOT NULL DEFAULT '',
    lease_until INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL
);
CREATE INDEX work_items_due ON work_items(not_before, lease_until);

CREATE TABLE secrets (
    name       TEXT PRIMARY KEY,
    ciphertext BLOB NOT NULL,
    version    INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL DEFAULT ''
);

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE audit (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    time   INTEGER NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
