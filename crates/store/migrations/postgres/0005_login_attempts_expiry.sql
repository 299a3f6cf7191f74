-- Attempt counts whose window has run out are deleted by the lifecycle round; this index keeps that delete
-- cheap when there is nothing to delete.
CREATE INDEX login_attempts_by_window ON login_attempts (window_start);
