-- Full text per ticket (issue 12 item 2, its speed). 0019 indexed each message on its own, so a
-- word on half the messages meant half a million index rows joined back to `messages` to learn
-- their tickets (2 s at 100,000 tickets / 1,000,000 messages). Here the index rows already belong
-- to a ticket: the rowid is `ticket id × 65536 + slot`, slot 0 the subject and slot 1 + seq / 32
-- the messages whose seq falls in that band (about eight messages with their delivery events), so
-- a search reads one index row per ticket and chunk and divides. A new message rewrites only its
-- band, never the whole thread, so a long WhatsApp conversation costs the same per message as a
-- short one. Columns: `subject`, `public` (customer messages and replies), `notes` (internal
-- notes, which customers never search). Contentless with deletes: the text lives once, in
-- `tickets` and `messages`. Kept by triggers, in the same transaction as the row it indexes.
DROP TRIGGER ticket_subject_fts_insert;
DROP TRIGGER ticket_subject_fts_update;
DROP TRIGGER ticket_subject_fts_delete;
DROP TRIGGER message_body_fts_insert;
DROP TRIGGER message_body_fts_update;
DROP TRIGGER message_body_fts_delete;
DROP TABLE ticket_subject_fts;
DROP TABLE message_body_fts;

CREATE VIRTUAL TABLE ticket_search USING fts5(
    subject, public, notes, content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
);

INSERT INTO ticket_search (rowid, subject) SELECT id * 65536, subject FROM tickets;
INSERT INTO ticket_search (rowid, public, notes)
    SELECT ticket_id * 65536 + 1 + min(seq / 32, 65534),
           group_concat(CASE WHEN kind <> 'note' THEN body END, ' '),
           group_concat(CASE WHEN kind = 'note' THEN body END, ' ')
    FROM messages GROUP BY ticket_id, min(seq / 32, 65534);

CREATE TRIGGER ticket_search_subject_insert AFTER INSERT ON tickets BEGIN
    INSERT INTO ticket_search (rowid, subject) VALUES (new.id * 65536, new.subject);
END;
-- Every ticket write sets every column; only a changed subject touches the index.
CREATE TRIGGER ticket_search_subject_update AFTER UPDATE OF subject ON tickets
WHEN old.subject IS NOT new.subject BEGIN
    DELETE FROM ticket_search WHERE rowid = old.id * 65536;
    INSERT INTO ticket_search (rowid, subject) VALUES (new.id * 65536, new.subject);
END;
CREATE TRIGGER ticket_search_subject_delete AFTER DELETE ON tickets BEGIN
    DELETE FROM ticket_search WHERE rowid = old.id * 65536;
END;

-- A message's band is rebuilt from the messages now in it (none: the row is gone). SQLite has
-- no procedures, so the rebuild is an INSTEAD OF trigger on a view: "inserting" (ticket, seq)
-- into `ticket_search_bands` rebuilds that seq's band. The last band (seq ≥ 2,097,088) takes
-- every later message, so no band reaches the next ticket's rows.
CREATE VIEW ticket_search_bands (ticket_id, seq) AS SELECT NULL, NULL WHERE 0;
CREATE TRIGGER ticket_search_band_rebuild INSTEAD OF INSERT ON ticket_search_bands BEGIN
    DELETE FROM ticket_search WHERE rowid = new.ticket_id * 65536 + 1 + min(new.seq / 32, 65534);
    INSERT INTO ticket_search (rowid, public, notes)
        SELECT new.ticket_id * 65536 + 1 + min(new.seq / 32, 65534),
               group_concat(CASE WHEN kind <> 'note' THEN body END, ' '),
               group_concat(CASE WHEN kind = 'note' THEN body END, ' ')
        FROM messages
        WHERE ticket_id = new.ticket_id AND seq >= min(new.seq / 32, 65534) * 32
          AND (new.seq / 32 >= 65534 OR seq < (new.seq / 32 + 1) * 32)
        HAVING count(*) > 0;
END;

CREATE TRIGGER ticket_search_message_insert AFTER INSERT ON messages BEGIN
    INSERT INTO ticket_search_bands VALUES (new.ticket_id, new.seq);
END;
-- Merge and split move messages between tickets: the band each left and the band it joined.
CREATE TRIGGER ticket_search_message_update AFTER UPDATE OF ticket_id, seq, kind, body ON messages
WHEN old.ticket_id IS NOT new.ticket_id OR old.seq IS NOT new.seq OR old.kind IS NOT new.kind
  OR old.body IS NOT new.body BEGIN
    INSERT INTO ticket_search_bands VALUES (old.ticket_id, old.seq);
    INSERT INTO ticket_search_bands VALUES (new.ticket_id, new.seq);
END;
CREATE TRIGGER ticket_search_message_delete AFTER DELETE ON messages BEGIN
    INSERT INTO ticket_search_bands VALUES (old.ticket_id, old.seq);
END;
