-- An account's platform and kind are whatever names the service writes: the store writes them from its
-- own enums and reads an unknown one as a corrupt row, so a new network (or kind of account) needs no
-- migration. SQLite has no DROP CONSTRAINT, and rebuilding the table would need foreign keys off, which
-- cannot be switched inside the transaction every migration runs in (dropping the old table with them on
-- would delete every row that refers to an account). So the two CHECK clauses are taken out of the
-- table's stored definition, the procedure sqlite.org/lang_altertable.html gives for removing CHECK
-- constraints: no row is read or rewritten, and what remains of the definition is unchanged.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
SET sql = replace(
    replace(sql, ' CHECK (platform IN (''facebook'', ''instagram'', ''x'', ''linkedin'', ''tiktok''))', ''),
    ' CHECK (kind IN (''profile'', ''page'', ''business'', ''creator'', ''organization''))', ''
)
WHERE type = 'table' AND name = 'accounts';
-- Off, and this connection reads the schema again.
PRAGMA writable_schema = RESET;
-- A schema change of the ordinary kind moves the schema's version, so other connections read it again too.
CREATE TABLE schema_version_step (unused INTEGER);
DROP TABLE schema_version_step;
