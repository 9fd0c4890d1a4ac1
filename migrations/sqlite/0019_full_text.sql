-- Full-text search (issue 12 item 2): FTS5 indexes over ticket subjects and message bodies,
-- kept by triggers in the same transaction as the row they index (so a message is findable the
-- moment it is committed, and never before). External content: the text lives once, in
-- `tickets` and `messages`; the index maps rowids. A message moved to another ticket (merge,
-- split) needs no index change, since the index knows rowids, not tickets. Words are folded to
-- lower case without diacritics.
CREATE VIRTUAL TABLE ticket_subject_fts USING fts5(
    subject, content = 'tickets', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2'
);
CREATE VIRTUAL TABLE message_body_fts USING fts5(
    body, content = 'messages', content_rowid = 'rowid', tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO ticket_subject_fts (ticket_subject_fts) VALUES ('rebuild');
INSERT INTO message_body_fts (message_body_fts) VALUES ('rebuild');

CREATE TRIGGER ticket_subject_fts_insert AFTER INSERT ON tickets BEGIN
    INSERT INTO ticket_subject_fts (rowid, subject) VALUES (new.id, new.subject);
END;
-- Every ticket write sets every column; only a changed subject touches the index.
CREATE TRIGGER ticket_subject_fts_update AFTER UPDATE OF subject ON tickets
WHEN old.subject IS NOT new.subject BEGIN
    INSERT INTO ticket_subject_fts (ticket_subject_fts, rowid, subject) VALUES ('delete', old.id, old.subject);
    INSERT INTO ticket_subject_fts (rowid, subject) VALUES (new.id, new.subject);
END;
CREATE TRIGGER ticket_subject_fts_delete AFTER DELETE ON tickets BEGIN
    INSERT INTO ticket_subject_fts (ticket_subject_fts, rowid, subject) VALUES ('delete', old.id, old.subject);
END;

CREATE TRIGGER message_body_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO message_body_fts (rowid, body) VALUES (new.rowid, new.body);
END;
CREATE TRIGGER message_body_fts_update AFTER UPDATE OF body ON messages
WHEN old.body IS NOT new.body BEGIN
    INSERT INTO message_body_fts (message_body_fts, rowid, body) VALUES ('delete', old.rowid, old.body);
    INSERT INTO message_body_fts (rowid, body) VALUES (new.rowid, new.body);
END;
CREATE TRIGGER message_body_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO message_body_fts (message_body_fts, rowid, body) VALUES ('delete', old.rowid, old.body);
END;
