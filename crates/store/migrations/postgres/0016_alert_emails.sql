-- What a member chose to be emailed about each kind of alert (immediately, digest or off); a kind without a
-- row takes the default for the member's role.
CREATE TABLE alert_email_choices (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    choice       TEXT NOT NULL CHECK (choice IN ('immediately', 'digest', 'off')),
    PRIMARY KEY (workspace_id, user_id, kind)
);

-- Until when each member's daily digest has covered the alerts; moved forward only from the value read, so
-- two instances never send the same digest.
CREATE TABLE alert_digests (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    sent_until   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);
