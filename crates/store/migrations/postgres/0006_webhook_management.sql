-- Webhooks a receiver can manage: the events a webhook takes (NULL: all of them; otherwise a space-separated
-- list of event types), the secret it had before its last rotation, still signing deliveries until
-- previous_secret_until, and its health: failing since the first failure after its last success, disabled
-- (by the engine after days of failures, or by a person) until re-enabled.
ALTER TABLE webhooks ADD COLUMN events TEXT;
ALTER TABLE webhooks ADD COLUMN previous_secret_key_id TEXT;
ALTER TABLE webhooks ADD COLUMN previous_secret_blob BYTEA;
ALTER TABLE webhooks ADD COLUMN previous_secret_until BIGINT;
ALTER TABLE webhooks ADD COLUMN failing_since BIGINT;
ALTER TABLE webhooks ADD COLUMN disabled_at BIGINT;
