-- A client's posting times: every account of the client without times of its own takes these. time_zone is
-- an IANA name; slots a JSON list of {"days": ["mon", ...], "time": "09:00"}. Removed with the client.
CREATE TABLE client_queues (
    client_id    TEXT PRIMARY KEY REFERENCES clients(id) ON DELETE CASCADE,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    time_zone    TEXT NOT NULL,
    slots        TEXT NOT NULL,
    updated_at   BIGINT NOT NULL
);
