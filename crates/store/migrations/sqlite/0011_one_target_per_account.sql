-- One target per (post, account): a post listing an account twice was published to it twice. Existing
-- duplicates are folded first, keeping the target that says most about what happened on the platform:
-- published, then being published, then still scheduled, then failed, then cancelled (oldest id first).
DELETE FROM post_targets WHERE id IN (
    SELECT id FROM (
        SELECT id, ROW_NUMBER() OVER (
            PARTITION BY post_id, account_id
            ORDER BY CASE state
                WHEN 'published' THEN 0
                WHEN 'publishing' THEN 1
                WHEN 'scheduled' THEN 2
                WHEN 'failed' THEN 3
                ELSE 4
            END, id
        ) AS keep_rank
        FROM post_targets
    ) AS ranked
    WHERE keep_rank > 1
);
CREATE UNIQUE INDEX post_targets_one_per_account ON post_targets(post_id, account_id);

-- When the request to the platform went out. A claimed target waits for a slot on its platform before it is
-- sent; after a crash, only a target whose request went out has an unknown outcome, and one that was
-- never sent simply goes back on the schedule. Set by the lease holder right before the platform call,
-- cleared when the attempt is settled.
ALTER TABLE post_targets ADD COLUMN sending_at INTEGER;
-- Targets left 'publishing' by an earlier version, which marked them just before sending: they may have
-- gone out, so they keep being treated as sent.
UPDATE post_targets SET sending_at = updated_at WHERE state = 'publishing';
