-- The delivery log keeps why an attempt failed as one of a few classes rather than as text, so that it can
-- never carry what the HTTP client learned about the network around the service (addresses, ports, error
-- details). Rows written before keep the class their (fixed) text stood for, and the text column goes.
ALTER TABLE webhook_deliveries ADD COLUMN failure_class TEXT
    CHECK (failure_class IN ('refused_destination', 'connection_failed', 'timeout', 'redirect', 'http_status'));
UPDATE webhook_deliveries SET failure_class = CASE
    WHEN last_error IS NULL THEN NULL
    WHEN last_error LIKE 'HTTP %' THEN 'http_status'
    WHEN last_error = 'the endpoint did not answer in time' THEN 'timeout'
    ELSE 'connection_failed'
END;
ALTER TABLE webhook_deliveries DROP COLUMN last_error;
