-- The PostgreSQL schema: the same tables and columns as the SQLite one (its migrations 0001-0008), so one
-- row mapping reads both. Times are BIGINT microseconds since the Unix epoch (UTC); ids are UUID v7 text.
-- Columns that lists are sorted by use the "C" collation: code-point order, as in SQLite, whatever the
-- database's locale.

-- Trigram indexes let a search of any fragment use an index. Trusted since PostgreSQL 13: a database owner
-- may create it without being a superuser.
CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

CREATE TABLE workspaces (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    plan       TEXT NOT NULL CHECK (plan IN ('free', 'starter', 'professional', 'enterprise')),
    created_at BIGINT NOT NULL
);

CREATE TABLE memberships (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role         TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);
CREATE INDEX memberships_by_user ON memberships(user_id, created_at);

-- Session ids and API tokens are stored as SHA-256 digests: the database never holds a usable credential.
CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    token_hash   TEXT NOT NULL UNIQUE,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT
);

CREATE TABLE invitations (
    id           TEXT PRIMARY KEY,
    token_hash   TEXT NOT NULL UNIQUE,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    role         TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    email        TEXT,
    invited_by   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    accepted_at  BIGINT,
    accepted_by  TEXT REFERENCES users(id) ON DELETE SET NULL
);

CREATE TABLE login_failures (
    key TEXT NOT NULL,
    at  BIGINT NOT NULL
);
CREATE INDEX login_failures_by_key ON login_failures(key, at);

CREATE TABLE accounts (
    id                    TEXT COLLATE "C" PRIMARY KEY,
    workspace_id          TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    platform              TEXT COLLATE "C" NOT NULL CHECK (platform IN ('facebook', 'instagram', 'x', 'linkedin', 'tiktok')),
    kind                  TEXT NOT NULL CHECK (kind IN ('profile', 'page', 'business', 'creator', 'organization')),
    platform_account_id   TEXT NOT NULL,
    platform_display_name TEXT NOT NULL,
    display_name_override TEXT,
    display_name          TEXT GENERATED ALWAYS AS (COALESCE(display_name_override, platform_display_name)) STORED,
    -- Written by the store on every change, lower-cased by Rust in full Unicode, so both backends agree:
    -- the shown name for sorting, and the shown name with the handle for searching.
    sort_name             TEXT COLLATE "C" NOT NULL,
    search_text           TEXT NOT NULL,
    handle                TEXT,
    avatar_url            TEXT,
    status                TEXT COLLATE "C" NOT NULL CHECK (status IN ('active', 'inactive', 'failed')),
    status_reason         TEXT,
    status_message        TEXT,
    status_since          BIGINT NOT NULL,
    scopes                TEXT NOT NULL DEFAULT '[]',
    labels                TEXT NOT NULL DEFAULT '[]',
    -- The labels lower-cased by the store (in Rust, as for sort_name), for the label filter.
    label_keys            TEXT NOT NULL DEFAULT '[]',
    created_at            BIGINT NOT NULL,
    connected_by          TEXT REFERENCES users(id) ON DELETE SET NULL,
    token_expires_at      BIGINT,
    last_refreshed_at     BIGINT,
    last_checked_at       BIGINT,
    last_used_at          BIGINT,
    sandbox               BOOLEAN NOT NULL DEFAULT FALSE,
    next_refresh_at       BIGINT,
    next_check_at         BIGINT,
    failure_count         BIGINT NOT NULL DEFAULT 0,
    failing_since         BIGINT,
    refresh_lease_owner   TEXT,
    refresh_lease_until   BIGINT,
    followers             BIGINT,
    -- What the search's trigram probe answers with, so the list can fetch those few accounts by key.
    search_key            BIGINT GENERATED ALWAYS AS IDENTITY,
    UNIQUE (workspace_id, platform, platform_account_id)
);
CREATE INDEX accounts_by_created ON accounts(workspace_id, created_at, id);
CREATE INDEX accounts_by_name ON accounts(workspace_id, sort_name, id);
CREATE INDEX accounts_by_platform ON accounts(workspace_id, platform, id);
CREATE INDEX accounts_by_status ON accounts(workspace_id, status, id);
CREATE INDEX accounts_by_owner ON accounts(workspace_id, connected_by, created_at);
CREATE INDEX accounts_search ON accounts USING gin (search_text public.gin_trgm_ops);
CREATE UNIQUE INDEX accounts_by_search_key ON accounts(search_key);
CREATE INDEX accounts_refresh_due ON accounts(next_refresh_at) WHERE next_refresh_at IS NOT NULL;
CREATE INDEX accounts_check_due ON accounts(next_check_at) WHERE next_check_at IS NOT NULL;
-- The engine looks every few seconds for tokens about to end that nothing will renew.
CREATE INDEX accounts_unrenewable_expiry ON accounts(token_expires_at)
    WHERE token_expires_at IS NOT NULL AND next_refresh_at IS NULL;

-- Per-workspace counts kept by a trigger, so the summary costs the same at 10 accounts or 1,000,000.
CREATE TABLE account_counts (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    platform     TEXT NOT NULL,
    status       TEXT NOT NULL,
    count        BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, platform, status)
);

CREATE FUNCTION account_counts_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE account_counts SET count = count - 1
        WHERE workspace_id = OLD.workspace_id AND platform = OLD.platform AND status = OLD.status;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO account_counts (workspace_id, platform, status, count)
        VALUES (NEW.workspace_id, NEW.platform, NEW.status, 1)
        ON CONFLICT (workspace_id, platform, status) DO UPDATE SET count = account_counts.count + 1;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER account_counts_insert_delete AFTER INSERT OR DELETE ON accounts
    FOR EACH ROW EXECUTE FUNCTION account_counts_follow();
CREATE TRIGGER account_counts_update AFTER UPDATE OF status, platform ON accounts
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.platform IS DISTINCT FROM NEW.platform)
    EXECUTE FUNCTION account_counts_follow();

-- Sealed with AES-256-GCM by the vault, the account id as associated data.
CREATE TABLE account_credentials (
    account_id TEXT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    key_id     TEXT NOT NULL,
    blob       BYTEA NOT NULL,
    updated_at BIGINT NOT NULL
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
    at           BIGINT NOT NULL
);
CREATE INDEX audit_events_by_account ON audit_events(workspace_id, account_id, at);
CREATE INDEX audit_events_by_workspace ON audit_events(workspace_id, at);

-- An OAuth connection in progress. The state is stored as a SHA-256 digest; the PKCE verifier and the
-- candidates' tokens are sealed by the vault (associated data: the flow id).
CREATE TABLE connection_flows (
    id                   TEXT PRIMARY KEY,
    state_hash           TEXT NOT NULL UNIQUE,
    workspace_id         TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    user_id              TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    session_hash         TEXT,
    platform             TEXT NOT NULL,
    reconnect_account_id TEXT,
    verifier_key_id      TEXT,
    verifier_blob        BYTEA,
    stage                TEXT NOT NULL CHECK (stage IN ('authorizing', 'selecting', 'done', 'failed')),
    candidates_key_id    TEXT,
    candidates_blob      BYTEA,
    error                TEXT,
    connected            TEXT NOT NULL DEFAULT '[]',
    created_at           BIGINT NOT NULL,
    expires_at           BIGINT NOT NULL,
    state_used_at        BIGINT
);
CREATE INDEX connection_flows_by_workspace ON connection_flows(workspace_id, created_at);

-- A job is claimed by setting a lease (rows being claimed by another instance are skipped); a worker that
-- dies lets its lease run out and another takes the job over. At most one unfinished job of a kind per account.
CREATE TABLE jobs (
    id             TEXT PRIMARY KEY,
    kind           TEXT NOT NULL CHECK (kind IN ('refresh', 'health_check', 'revoke')),
    account_id     TEXT NOT NULL,
    workspace_id   TEXT NOT NULL,
    platform       TEXT NOT NULL,
    payload_key_id TEXT,
    payload_blob   BYTEA,
    run_at         BIGINT NOT NULL,
    attempts       BIGINT NOT NULL DEFAULT 0,
    lease_owner    TEXT,
    lease_until    BIGINT,
    last_error     TEXT,
    created_at     BIGINT NOT NULL,
    done_at        BIGINT
);
CREATE UNIQUE INDEX jobs_one_open_per_account ON jobs(kind, account_id) WHERE done_at IS NULL;
CREATE INDEX jobs_due ON jobs(run_at) WHERE done_at IS NULL;
CREATE INDEX jobs_by_account ON jobs(account_id, created_at);

CREATE TABLE alerts (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    account_id   TEXT,
    kind         TEXT NOT NULL,
    dedupe_key   TEXT UNIQUE,
    payload      TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    read_at      BIGINT
);
CREATE INDEX alerts_by_workspace ON alerts(workspace_id, created_at);

CREATE TABLE webhooks (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    url           TEXT NOT NULL,
    secret_key_id TEXT NOT NULL,
    secret_blob   BYTEA NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX webhooks_by_workspace ON webhooks(workspace_id);

CREATE TABLE webhook_deliveries (
    id           TEXT PRIMARY KEY,
    webhook_id   TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    alert_id     TEXT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    state        TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts     BIGINT NOT NULL DEFAULT 0,
    run_at       BIGINT NOT NULL,
    lease_owner  TEXT,
    lease_until  BIGINT,
    last_status  BIGINT,
    last_error   TEXT,
    created_at   BIGINT NOT NULL,
    delivered_at BIGINT,
    UNIQUE (webhook_id, alert_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(run_at) WHERE state = 'pending';

-- A target is taken for publishing by moving it to 'publishing' (with a lease) before the platform is
-- called, so a crash mid-call can never lead to a blind second publish.
CREATE TABLE posts (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    author_id     TEXT REFERENCES users(id) ON DELETE SET NULL,
    text          TEXT NOT NULL,
    link          TEXT,
    media         TEXT NOT NULL DEFAULT '[]',
    privacy_level TEXT,
    publish_at    BIGINT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX posts_by_workspace ON posts(workspace_id, created_at);

CREATE TABLE post_targets (
    id               TEXT PRIMARY KEY,
    post_id          TEXT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    workspace_id     TEXT NOT NULL,
    account_id       TEXT NOT NULL,
    platform         TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('scheduled', 'publishing', 'published', 'failed', 'cancelled')),
    run_at           BIGINT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    lease_owner      TEXT,
    lease_until      BIGINT,
    platform_post_id TEXT,
    url              TEXT,
    error_class      TEXT,
    error_message    TEXT,
    published_at     BIGINT,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX post_targets_due ON post_targets(run_at) WHERE state = 'scheduled';
CREATE INDEX post_targets_publishing ON post_targets(lease_until) WHERE state = 'publishing';
CREATE INDEX post_targets_by_account ON post_targets(account_id, state);
CREATE INDEX post_targets_by_post ON post_targets(post_id);
