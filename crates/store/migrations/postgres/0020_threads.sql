-- An X thread: the parts after the post itself (JSON list of {text, media}), published in order as replies,
-- and for each target the ids of the parts published so far and why the thread stopped, if it did.
ALTER TABLE posts ADD COLUMN thread TEXT NOT NULL DEFAULT '[]';
ALTER TABLE post_targets ADD COLUMN thread_ids TEXT NOT NULL DEFAULT '[]';
ALTER TABLE post_targets ADD COLUMN thread_error TEXT;
