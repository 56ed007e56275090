CREATE TABLE tasks (
    id                TEXT PRIMARY KEY,
    template_ref      TEXT NOT NULL,
    spec              TEXT NOT NULL,
    status            TEXT NOT NULL,
    created_by        TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    last_heartbeat_at INTEGER NOT NULL DEFAULT 0,
    state             TEXT NOT NULL DEFAULT '{}',
    attempts          INTEGER NOT NULL DEFAULT 0,
    cancel_requested  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX tasks_status ON tasks(status, created_at);
CREATE INDEX tasks_created_by ON tasks(created_by, created_at);

CREATE TABLE task_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id    TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    type       TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX task_events_task ON task_events(task_id, id);
