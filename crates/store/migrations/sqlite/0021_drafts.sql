-- A draft is a post with no targets, so the engine never sees it: it reserves nothing. draft_accounts
-- holds the accounts it is meant for (a JSON list of ids); NULL for a post that was scheduled.
ALTER TABLE posts ADD COLUMN draft_accounts TEXT;
