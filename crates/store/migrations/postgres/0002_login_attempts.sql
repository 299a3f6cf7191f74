-- Sign-in and sign-up limits count attempts BEFORE the password is checked, in one statement that adds one
-- and answers the new count (INSERT ... ON CONFLICT DO UPDATE ... RETURNING), so that concurrent attempts
-- cannot all read "under the limit" and all be checked, on one instance or several. One row per key
-- (`email:<address>`, `ip:<client>`, `signup-ip:<client>`): the count of attempts since `window_start`; an
-- attempt after the window has run out starts a new one.
CREATE TABLE login_attempts (
    key          TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    attempts     INTEGER NOT NULL CHECK (attempts >= 0)
);

-- The failures of the last 15 minutes (the default window) carry over, so that an upgrade does not hand an
-- attacker a fresh allowance; older ones no longer count.
INSERT INTO login_attempts (key, window_start, attempts)
SELECT key, MIN(at), COUNT(*)
FROM login_failures
WHERE at >= (CAST(EXTRACT(EPOCH FROM now()) AS BIGINT) - 900) * 1000000
GROUP BY key;

DROP TABLE login_failures;
