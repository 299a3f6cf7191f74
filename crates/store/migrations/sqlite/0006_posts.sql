-- Posts and their per-account targets. A target is taken for publishing by moving it to 'publishing' (with a
-- lease) before the platform is called, so a crash mid-call can never lead to a blind second publish.
CREATE TABLE posts (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    author_id     TEXT REFERENCES users(id) ON DELETE SET NULL,
    text          TEXT NOT NULL,
    link          TEXT,
    media         TEXT NOT NULL DEFAULT '[]',
    privacy_level TEXT,
    publish_at    INTEGER NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX posts_by_workspace ON posts(workspace_id, created_at);

CREATE TABLE post_targets (
    id               TEXT PRIMARY KEY,
    post_id          TEXT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    workspace_id     TEXT NOT NULL,
    account_id       TEXT NOT NULL,
    platform         TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('scheduled', 'publishing', 'published', 'failed', 'cancelled')),
    run_at           INTEGER NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    lease_owner      TEXT,
    lease_until      INTEGER,
    platform_post_id TEXT,
    url              TEXT,
    error_class      TEXT,
    error_message    TEXT,
    published_at     INTEGER,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX post_targets_due ON post_targets(run_at) WHERE state = 'scheduled';
CREATE INDEX post_targets_by_account ON post_targets(account_id, state);
CREATE INDEX post_targets_by_post ON post_targets(post_id);
