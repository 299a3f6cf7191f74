-- An account's platform and kind are whatever names the service writes: the store writes them from its
-- own enums and reads an unknown one as a corrupt row, so a new network (or kind of account) needs no
-- migration.
ALTER TABLE accounts DROP CONSTRAINT accounts_platform_check, DROP CONSTRAINT accounts_kind_check;
