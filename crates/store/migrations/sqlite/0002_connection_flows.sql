-- An OAuth connection in progress: from "Add New Account" through consent to the selection of targets.
-- The state is stored as a SHA-256 digest; the PKCE verifier and the candidates' tokens are sealed by the
-- vault (associated data: the flow id).
CREATE TABLE connection_flows (
    id                   TEXT PRIMARY KEY,
    state_hash           TEXT NOT NULL UNIQUE,
    workspace_id         TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    user_id              TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- The session that started it, when one did: the callback must come back in that same session.
    session_hash         TEXT,
    platform             TEXT NOT NULL,
    reconnect_account_id TEXT,
    verifier_key_id      TEXT,
    verifier_blob        BLOB,
    stage                TEXT NOT NULL CHECK (stage IN ('authorizing', 'selecting', 'done', 'failed')),
    candidates_key_id    TEXT,
    candidates_blob      BLOB,
    error                TEXT,
    connected            TEXT NOT NULL DEFAULT '[]',
    created_at           INTEGER NOT NULL,
    expires_at           INTEGER NOT NULL,
    state_used_at        INTEGER
);
CREATE INDEX connection_flows_by_workspace ON connection_flows(workspace_id, created_at);
