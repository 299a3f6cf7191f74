-- The calendar reads a workspace's posts by their publishing time, a month or a week at a time.
CREATE INDEX posts_by_publish_time ON posts(workspace_id, publish_at, id);
