-- The labels lower-cased by the store in full Unicode, for the label filter: SQLite's lower() folds ASCII
-- only, so it cannot compare them itself. (Rows from before this fold ASCII only until next relabelled.)
ALTER TABLE accounts ADD COLUMN label_keys TEXT NOT NULL DEFAULT '[]';
UPDATE accounts SET label_keys = lower(labels);
