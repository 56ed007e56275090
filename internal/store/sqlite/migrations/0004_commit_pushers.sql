-- Who pushed each commit first: git's author fields are whatever the client wrote, so the forge records the
-- authenticated pusher of every commit a push introduces. Four-eyes review reads it.
CREATE TABLE commit_pushers (
    repo      TEXT NOT NULL,
    sha       TEXT NOT NULL,
    pusher    TEXT NOT NULL,
    pushed_at INTEGER NOT NULL,
    PRIMARY KEY (repo, sha)
) WITHOUT ROWID;
