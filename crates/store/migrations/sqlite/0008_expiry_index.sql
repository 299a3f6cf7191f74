-- The engine looks every few seconds for tokens about to end that nothing will renew; without an index
-- that look would read every account.
CREATE INDEX accounts_unrenewable_expiry ON accounts(token_expires_at)
    WHERE token_expires_at IS NOT NULL AND next_refresh_at IS NULL;
