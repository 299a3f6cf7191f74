-- Indexes PostgreSQL's schema has had from the start and SQLite's lacked (found by the schema comparison in
-- tests/schema.rs): a workspace's audit log in time order, an account's jobs, and the targets being
-- published, whose leases the engine looks through for ones that ran out.
CREATE INDEX audit_events_by_workspace ON audit_events(workspace_id, at);
CREATE INDEX jobs_by_account ON jobs(account_id, created_at);
CREATE INDEX post_targets_publishing ON post_targets(lease_until) WHERE state = 'publishing';
