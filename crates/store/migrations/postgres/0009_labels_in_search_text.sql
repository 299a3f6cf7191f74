-- The search box finds accounts by their labels too: the search text (and so the trigram index) gains
-- the labels, one per line after the name and the handle, as the store now writes it.
UPDATE accounts SET search_text = search_text || E'\n' ||
    COALESCE((SELECT string_agg(value, E'\n') FROM json_array_elements_text(accounts.label_keys::json)), '');
