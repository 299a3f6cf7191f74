-- A post's versions for one network or one account: a JSON list of {platform | account, text}. A target
-- publishes the text of its account's version, else its platform's, else the post's own.
ALTER TABLE posts ADD COLUMN variants TEXT NOT NULL DEFAULT '[]';
