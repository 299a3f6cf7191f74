-- Followers, as the health check last read them, where the platform reports them.
ALTER TABLE accounts ADD COLUMN followers INTEGER;
