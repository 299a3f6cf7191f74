-- The search box finds accounts by their labels too: the search text (and so the trigram index) gains
-- the labels, one per line after the name and the handle, as the store now writes it.
UPDATE accounts SET search_text = search_text || char(10) ||
    COALESCE((SELECT group_concat(value, char(10)) FROM json_each(accounts.label_keys)), '');
