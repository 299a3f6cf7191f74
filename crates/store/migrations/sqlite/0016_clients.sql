-- Clients: the customers an agency manages accounts for. Names are unique in a workspace regardless of
-- case (name_key is the lower-cased name). An account belongs to at most one client; removing the client
-- keeps its accounts, unassigned.
CREATE TABLE clients (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    name_key     TEXT NOT NULL,
    colour       TEXT,
    created_at   INTEGER NOT NULL,
    UNIQUE (workspace_id, name_key)
);
ALTER TABLE accounts ADD COLUMN client_id TEXT REFERENCES clients(id) ON DELETE SET NULL;
CREATE INDEX accounts_by_client ON accounts(workspace_id, client_id);
