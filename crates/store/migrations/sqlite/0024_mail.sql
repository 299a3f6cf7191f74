-- Mail waiting to go out: sealed by the vault (a reset link is a secret), sent by the engine of whichever
-- instance claims it (a lease, as for webhook deliveries), retried with backoff until sent or given up.
CREATE TABLE mail_outbox (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    key_id        TEXT NOT NULL,
    sealed        BLOB NOT NULL,
    state         TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    run_at        INTEGER NOT NULL,
    lease_owner   TEXT,
    lease_until   INTEGER,
    last_error    TEXT,
    created_at    INTEGER NOT NULL,
    sent_at       INTEGER
);
CREATE INDEX mail_outbox_due ON mail_outbox(state, run_at);

-- A password reset link: only its digest is kept; used once, within its time.
CREATE TABLE password_resets (
    token_hash  TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);
