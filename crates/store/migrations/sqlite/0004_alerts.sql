-- Alerts: one per incident (a connection, a status change, a recovery, an expiry ahead, a removal), shown in
-- the app and delivered to the workspace's webhooks.
CREATE TABLE alerts (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    account_id   TEXT,
    kind         TEXT NOT NULL,
    -- Set for alerts that must happen once per cause (e.g. one "expiring" per expiry date).
    dedupe_key   TEXT UNIQUE,
    payload      TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    read_at      INTEGER
);
CREATE INDEX alerts_by_workspace ON alerts(workspace_id, created_at);

-- The secret signs deliveries, so it is kept sealed (the vault, the webhook id as associated data).
CREATE TABLE webhooks (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    url          TEXT NOT NULL,
    secret_key_id TEXT NOT NULL,
    secret_blob  BLOB NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX webhooks_by_workspace ON webhooks(workspace_id);

CREATE TABLE webhook_deliveries (
    id            TEXT PRIMARY KEY,
    webhook_id    TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    alert_id      TEXT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    state         TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    run_at        INTEGER NOT NULL,
    lease_owner   TEXT,
    lease_until   INTEGER,
    last_status   INTEGER,
    last_error    TEXT,
    created_at    INTEGER NOT NULL,
    delivered_at  INTEGER,
    UNIQUE (webhook_id, alert_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(run_at) WHERE state = 'pending';
