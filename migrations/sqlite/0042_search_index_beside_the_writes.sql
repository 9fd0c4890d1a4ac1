-- A new message no longer rebuilds its search band inside its own transaction (issue 16, CPU per
-- message): rebuilding the band (about eight messages tokenized again, a tombstone, a new FTS5
-- segment and its merge work in every commit) was a fifth of the hub's CPU per WhatsApp message.
-- The insert now only marks its band pending; a pass on the writer's thread rebuilds the pending
-- bands a few times a second, each band once however many messages it got, in one FTS5 flush,
-- and every full-text search brings the index up to date before it reads it, so a search still
-- finds a message the moment it was written. Moves and deletes (merge, split, erasure) are rare
-- and still rebuild at once (0020).
CREATE TABLE ticket_search_pending (
    ticket_id INTEGER NOT NULL,
    band      INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, band)
) WITHOUT ROWID;

DROP TRIGGER ticket_search_message_insert;
CREATE TRIGGER ticket_search_message_insert AFTER INSERT ON messages BEGIN
    INSERT OR IGNORE INTO ticket_search_pending (ticket_id, band)
        VALUES (new.ticket_id, min(new.seq / 32, 65534));
END;
