-- An account's posting times: "Add to queue" schedules a post at its next free one. time_zone is an IANA
-- name; slots a JSON list of {"days": ["mon", ...], "time": "09:00"}. Removed with the account.
CREATE TABLE posting_queues (
    account_id   TEXT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    time_zone    TEXT NOT NULL,
    slots        TEXT NOT NULL,
    updated_at   INTEGER NOT NULL
);

-- The calendar places each account's post at its own time (a queued post's accounts each have theirs).
CREATE INDEX post_targets_by_time ON post_targets(workspace_id, run_at);
