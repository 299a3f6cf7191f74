-- A post's first comment, added under it once it is published (where the platform takes comments), and
-- how that went for each target: its own state, the comment's id on the platform, or why it failed.
ALTER TABLE posts ADD COLUMN first_comment TEXT;
ALTER TABLE post_targets ADD COLUMN comment_state TEXT CHECK (comment_state IN ('published', 'failed'));
ALTER TABLE post_targets ADD COLUMN comment_id TEXT;
ALTER TABLE post_targets ADD COLUMN comment_error TEXT;
