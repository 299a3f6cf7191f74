-- A trigram index over each account's search text, so that a search matching few accounts (or none) does
-- not walk the whole workspace. It is keyed by an integer of our own, because VACUUM may renumber rowids.
ALTER TABLE accounts ADD COLUMN search_key INTEGER;
UPDATE accounts SET search_key = rowid;
CREATE UNIQUE INDEX accounts_by_search_key ON accounts(search_key);

CREATE VIRTUAL TABLE accounts_search USING fts5(
    search_text,
    content = '',
    contentless_delete = 1,
    tokenize = 'trigram case_sensitive 1'
);
INSERT INTO accounts_search (rowid, search_text) SELECT search_key, search_text FROM accounts;

CREATE TRIGGER accounts_search_insert AFTER INSERT ON accounts BEGIN
    INSERT INTO accounts_search (rowid, search_text) VALUES (NEW.search_key, NEW.search_text);
END;

CREATE TRIGGER accounts_search_update AFTER UPDATE OF search_text ON accounts BEGIN
    DELETE FROM accounts_search WHERE rowid = OLD.search_key;
    INSERT INTO accounts_search (rowid, search_text) VALUES (NEW.search_key, NEW.search_text);
END;

CREATE TRIGGER accounts_search_delete AFTER DELETE ON accounts BEGIN
    DELETE FROM accounts_search WHERE rowid = OLD.search_key;
END;
