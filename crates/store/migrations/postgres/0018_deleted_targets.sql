-- When a published post was deleted on its platform through the service; the target stays published in
-- the history, marked deleted.
ALTER TABLE post_targets ADD COLUMN deleted_at BIGINT;
