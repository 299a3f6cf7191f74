-- Times are INTEGER microseconds since the Unix epoch (UTC): compact, and they sort and compare exactly.
-- Ids are UUID v7 text.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);

CREATE TABLE workspaces (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    plan       TEXT NOT NULL CHECK (plan IN ('free', 'starter', 'professional', 'enterprise')),
    created_at INTEGER NOT NULL
);

CREATE TABLE memberships (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role         TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);
CREATE INDEX memberships_by_user ON memberships(user_id, created_at);

-- Session ids and API tokens are stored as SHA-256 digests: the database never holds a usable credential.
CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    token_hash   TEXT NOT NULL UNIQUE,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
);

CREATE TABLE invitations (
    id           TEXT PRIMARY KEY,
    token_hash   TEXT NOT NULL UNIQUE,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    role         TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    email        TEXT,
    invited_by   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    accepted_at  INTEGER,
    accepted_by  TEXT REFERENCES users(id) ON DELETE SET NULL
);

CREATE TABLE login_failures (
    key TEXT NOT NULL,
    at  INTEGER NOT NULL
);
CREATE INDEX login_failures_by_key ON login_failures(key, at);

CREATE TABLE accounts (
    id                    TEXT PRIMARY KEY,
    workspace_id          TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    platform              TEXT NOT NULL CHECK (platform IN ('facebook', 'instagram', 'x', 'linkedin', 'tiktok')),
    kind                  TEXT NOT NULL CHECK (kind IN ('profile', 'page', 'business', 'creator', 'organization')),
    platform_account_id   TEXT NOT NULL,
    platform_display_name TEXT NOT NULL,
    display_name_override TEXT,
    display_name          TEXT GENERATED ALWAYS AS (COALESCE(display_name_override, platform_display_name)) VIRTUAL,
    -- Written by the store on every change, lower-cased in full Unicode (SQLite's lower() is ASCII-only):
    -- the shown name for sorting, and the shown name with the handle for searching.
    sort_name             TEXT NOT NULL,
    search_text           TEXT NOT NULL,
    handle                TEXT,
    avatar_url            TEXT,
    status                TEXT NOT NULL CHECK (status IN ('active', 'inactive', 'failed')),
    status_reason         TEXT,
    status_message        TEXT,
    status_since          INTEGER NOT NULL,
    scopes                TEXT NOT NULL DEFAULT '[]',
    labels                TEXT NOT NULL DEFAULT '[]',
    created_at            INTEGER NOT NULL,
    connected_by          TEXT REFERENCES users(id) ON DELETE SET NULL,
    token_expires_at      INTEGER,
    last_refreshed_at     INTEGER,
    last_checked_at       INTEGER,
    last_used_at          INTEGER,
    sandbox               INTEGER NOT NULL DEFAULT 0,
    UNIQUE (workspace_id, platform, platform_account_id)
);
CREATE INDEX accounts_by_created ON accounts(workspace_id, created_at, id);
CREATE INDEX accounts_by_name ON accounts(workspace_id, sort_name, id);
CREATE INDEX accounts_by_platform ON accounts(workspace_id, platform, id);
CREATE INDEX accounts_by_status ON accounts(workspace_id, status, id);
CREATE INDEX accounts_by_owner ON accounts(workspace_id, connected_by, created_at);

-- Per-workspace counts kept by triggers, so the summary costs the same at 10 accounts or 1,000,000.
CREATE TABLE account_counts (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    platform     TEXT NOT NULL,
    status       TEXT NOT NULL,
    count        INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, platform, status)
) WITHOUT ROWID;

CREATE TRIGGER account_counts_insert AFTER INSERT ON accounts BEGIN
    INSERT INTO account_counts (workspace_id, platform, status, count)
    VALUES (NEW.workspace_id, NEW.platform, NEW.status, 1)
    ON CONFLICT (workspace_id, platform, status) DO UPDATE SET count = count + 1;
END;

CREATE TRIGGER account_counts_delete AFTER DELETE ON accounts BEGIN
    UPDATE account_counts SET count = count - 1
    WHERE workspace_id = OLD.workspace_id AND platform = OLD.platform AND status = OLD.status;
END;

CREATE TRIGGER account_counts_update AFTER UPDATE OF status, platform ON accounts
WHEN OLD.status IS NOT NEW.status OR OLD.platform IS NOT NEW.platform BEGIN
    UPDATE account_counts SET count = count - 1
    WHERE workspace_id = OLD.workspace_id AND platform = OLD.platform AND status = OLD.status;
    INSERT INTO account_counts (workspace_id, platform, status, count)
    VALUES (NEW.workspace_id, NEW.platform, NEW.status, 1)
    ON CONFLICT (workspace_id, platform, status) DO UPDATE SET count = count + 1;
END;

-- Sealed with AES-256-GCM by the vault, the account id as associated data. Deleting the row shreds it
-- (secure_delete is on, so the freed pages are zeroed).
CREATE TABLE account_credentials (
    account_id TEXT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    key_id     TEXT NOT NULL,
    blob       BLOB NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX account_credentials_by_key ON account_credentials(key_id);

-- No foreign key to accounts: the history of a removed account outlives it.
CREATE TABLE audit_events (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    account_id   TEXT,
    actor_id     TEXT,
    kind         TEXT NOT NULL,
    details      TEXT NOT NULL DEFAULT '{}',
    at           INTEGER NOT NULL
);
CREATE INDEX audit_events_by_account ON audit_events(workspace_id, account_id, at);
