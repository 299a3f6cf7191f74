-- The lifecycle engine: when each account is next renewed and checked, its run of failures, a lease so
-- that one refresh at a time runs per account, and durable jobs.
ALTER TABLE accounts ADD COLUMN next_refresh_at INTEGER;
ALTER TABLE accounts ADD COLUMN next_check_at INTEGER;
ALTER TABLE accounts ADD COLUMN failure_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN failing_since INTEGER;
ALTER TABLE accounts ADD COLUMN refresh_lease_owner TEXT;
ALTER TABLE accounts ADD COLUMN refresh_lease_until INTEGER;
CREATE INDEX accounts_refresh_due ON accounts(next_refresh_at) WHERE next_refresh_at IS NOT NULL;
CREATE INDEX accounts_check_due ON accounts(next_check_at) WHERE next_check_at IS NOT NULL;

-- A job is claimed by setting a lease; a worker that dies lets its lease run out and another takes the job
-- over. At most one unfinished job of a kind per account.
CREATE TABLE jobs (
    id             TEXT PRIMARY KEY,
    kind           TEXT NOT NULL CHECK (kind IN ('refresh', 'health_check', 'revoke')),
    account_id     TEXT NOT NULL,
    workspace_id   TEXT NOT NULL,
    platform       TEXT NOT NULL,
    -- Sealed by the vault with the job id as associated data (the tokens a revocation needs).
    payload_key_id TEXT,
    payload_blob   BLOB,
    run_at         INTEGER NOT NULL,
    attempts       INTEGER NOT NULL DEFAULT 0,
    lease_owner    TEXT,
    lease_until    INTEGER,
    last_error     TEXT,
    created_at     INTEGER NOT NULL,
    done_at        INTEGER
);
CREATE UNIQUE INDEX jobs_one_open_per_account ON jobs(kind, account_id) WHERE done_at IS NULL;
CREATE INDEX jobs_due ON jobs(run_at) WHERE done_at IS NULL;
