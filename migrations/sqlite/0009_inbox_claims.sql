-- With several nodes, each one's inbox pass read every unprocessed entry, including the ones
-- another node was processing that moment: two nodes could store the same message twice. An
-- entry is now claimed until `claimed_until` (ms) by whoever processes it; passes take only
-- unclaimed or expired entries, atomically.
ALTER TABLE webhook_inbox ADD COLUMN claimed_until BIGINT;
ALTER TABLE email_inbox ADD COLUMN claimed_until BIGINT;
