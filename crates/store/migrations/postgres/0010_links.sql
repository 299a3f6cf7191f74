-- Links handed to the people who own the accounts an agency manages: connect accounts (for a client, or for
-- none), reconnect one account, or read a client's accounts. Only the token's SHA-256 is kept; the token
-- itself is shown once, to the link's creator. max_uses NULL means any number of uses; uses counts the
-- connections made through it and is raised by one guarded UPDATE, so two visitors of a single-use link
-- cannot both use it. A link dies with its workspace, its creator, the account it reconnects, or (for an
-- access link) its client.
CREATE TABLE links (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL CHECK (kind IN ('connect', 'reconnect', 'access')),
    token_hash   TEXT NOT NULL UNIQUE,
    client_id    TEXT REFERENCES clients(id) ON DELETE SET NULL,
    account_id   TEXT REFERENCES accounts(id) ON DELETE CASCADE,
    platforms    TEXT NOT NULL DEFAULT '[]',
    note         TEXT,
    max_uses     BIGINT CHECK (max_uses IS NULL OR max_uses > 0),
    uses         BIGINT NOT NULL DEFAULT 0 CHECK (uses >= 0),
    created_by   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    revoked_at   BIGINT
);
CREATE INDEX links_by_workspace ON links(workspace_id, created_at);

-- What happened through each link, for its creator: what was connected, what was refused and why, and
-- requests to remove an account.
CREATE TABLE link_uses (
    id         TEXT PRIMARY KEY,
    link_id    TEXT NOT NULL REFERENCES links(id) ON DELETE CASCADE,
    at         BIGINT NOT NULL,
    outcome    TEXT NOT NULL CHECK (outcome IN ('connected', 'wrong_account', 'removal_requested', 'expired', 'revoked', 'used_up')),
    platform   TEXT,
    accounts   TEXT NOT NULL DEFAULT '[]',
    detail     TEXT
);
CREATE INDEX link_uses_by_link ON link_uses(link_id, at);

-- A sign-in started from a link belongs to that link, not to a session; an account connected through one
-- names it.
ALTER TABLE connection_flows ADD COLUMN link_id TEXT REFERENCES links(id) ON DELETE CASCADE;
ALTER TABLE accounts ADD COLUMN connected_via_link TEXT REFERENCES links(id) ON DELETE SET NULL;
