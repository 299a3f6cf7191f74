-- Each account's profile picture as this service fetched it, served from its own origin: the platforms'
-- picture URLs expire (Meta's are signed) and a sandbox's move with its port. source_url is the URL it
-- came from, so a changed picture is fetched again. Removed with the account.
CREATE TABLE account_avatars (
    account_id   TEXT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    workspace_id TEXT NOT NULL,
    content_type TEXT NOT NULL,
    bytes        BYTEA NOT NULL,
    source_url   TEXT NOT NULL,
    fetched_at   BIGINT NOT NULL
);
