-- Full text per ticket (issue 12 item 2, its speed). 0019 kept a tsvector on each message, so a
-- word on half the messages meant half a million rows read back for their tickets, and every
-- ticket write recomputed the subject's vector. Here the rows of `ticket_search` belong to a
-- ticket: chunk 0 is the subject, chunk 1 + seq / 32 the messages whose seq falls in that band
-- (about eight messages with their delivery events), so a search reads one row per ticket and
-- chunk. A new message rewrites only its band, never the whole thread. One vector per row, its
-- weights saying where a word came from: A the subject, B customer messages and replies, C
-- internal notes (which customers never search: their queries ask for A and B only). Kept by
-- triggers, in the same transaction as the row it indexes; the same words as SQLite's index
-- (`simple`: no stemming, no stop words, lower case).
DROP INDEX tickets_subject_search;
DROP INDEX messages_body_search;
ALTER TABLE tickets DROP COLUMN subject_search;
ALTER TABLE messages DROP COLUMN body_search;

CREATE TABLE ticket_search (
    ticket_id BIGINT  NOT NULL,
    chunk     INTEGER NOT NULL,
    doc       tsvector NOT NULL,
    PRIMARY KEY (ticket_id, chunk)
);
CREATE INDEX ticket_search_doc ON ticket_search USING gin (doc);

-- The band of `seq` (the last band takes every later message).
CREATE FUNCTION ticket_search_band(seq BIGINT) RETURNS INTEGER LANGUAGE sql IMMUTABLE
    AS $$ SELECT LEAST(seq / 32, 65534)::INTEGER $$;

-- Rebuilds one band of one ticket from the messages now in it (none: the row is gone).
CREATE FUNCTION ticket_search_rebuild(ticket BIGINT, band INTEGER) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM ticket_search WHERE ticket_id = ticket AND chunk = band + 1;
    INSERT INTO ticket_search (ticket_id, chunk, doc)
        SELECT ticket, band + 1,
               setweight(to_tsvector('simple', COALESCE(string_agg(body, ' ') FILTER (WHERE kind <> 'note'), '')), 'B')
               || setweight(to_tsvector('simple', COALESCE(string_agg(body, ' ') FILTER (WHERE kind = 'note'), '')), 'C')
        FROM messages
        WHERE ticket_id = ticket AND seq >= band::BIGINT * 32 AND (band >= 65534 OR seq < (band + 1)::BIGINT * 32)
        HAVING count(*) > 0;
END $$;

INSERT INTO ticket_search (ticket_id, chunk, doc)
    SELECT id, 0, setweight(to_tsvector('simple', subject), 'A') FROM tickets;
INSERT INTO ticket_search (ticket_id, chunk, doc)
    SELECT ticket_id, ticket_search_band(seq) + 1,
           setweight(to_tsvector('simple', COALESCE(string_agg(body, ' ') FILTER (WHERE kind <> 'note'), '')), 'B')
           || setweight(to_tsvector('simple', COALESCE(string_agg(body, ' ') FILTER (WHERE kind = 'note'), '')), 'C')
    FROM messages GROUP BY ticket_id, ticket_search_band(seq);

CREATE FUNCTION ticket_search_subject() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM ticket_search WHERE ticket_id = OLD.id AND chunk = 0;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO ticket_search (ticket_id, chunk, doc) VALUES (NEW.id, 0, setweight(to_tsvector('simple', NEW.subject), 'A'));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER ticket_search_subject_insert AFTER INSERT ON tickets
    FOR EACH ROW EXECUTE FUNCTION ticket_search_subject();
-- Every ticket write sets every column; only a changed subject touches the index.
CREATE TRIGGER ticket_search_subject_update AFTER UPDATE OF subject ON tickets
    FOR EACH ROW WHEN (OLD.subject IS DISTINCT FROM NEW.subject) EXECUTE FUNCTION ticket_search_subject();
CREATE TRIGGER ticket_search_subject_delete AFTER DELETE ON tickets
    FOR EACH ROW EXECUTE FUNCTION ticket_search_subject();

-- Once per statement: a commit inserting ten messages of a band rebuilds it once.
CREATE FUNCTION ticket_search_messages() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    touched RECORD;
BEGIN
    IF TG_OP = 'INSERT' THEN
        FOR touched IN SELECT DISTINCT ticket_id, ticket_search_band(seq) AS band FROM added LOOP
            PERFORM ticket_search_rebuild(touched.ticket_id, touched.band);
        END LOOP;
    ELSE
        FOR touched IN SELECT DISTINCT ticket_id, ticket_search_band(seq) AS band FROM removed LOOP
            PERFORM ticket_search_rebuild(touched.ticket_id, touched.band);
        END LOOP;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER ticket_search_messages_insert AFTER INSERT ON messages
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION ticket_search_messages();
CREATE TRIGGER ticket_search_messages_delete AFTER DELETE ON messages
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION ticket_search_messages();

-- Merge and split move messages between tickets: the band each left and the band it joined.
-- Row by row (a trigger with transition tables cannot name columns, and one without them would
-- run on every delivery receipt); moves are rare.
CREATE FUNCTION ticket_search_message_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ticket_search_rebuild(OLD.ticket_id, ticket_search_band(OLD.seq));
    PERFORM ticket_search_rebuild(NEW.ticket_id, ticket_search_band(NEW.seq));
    RETURN NULL;
END $$;
CREATE TRIGGER ticket_search_messages_update AFTER UPDATE OF ticket_id, seq, kind, body ON messages
    FOR EACH ROW WHEN (OLD.ticket_id IS DISTINCT FROM NEW.ticket_id OR OLD.seq IS DISTINCT FROM NEW.seq
                       OR OLD.kind IS DISTINCT FROM NEW.kind OR OLD.body IS DISTINCT FROM NEW.body)
    EXECUTE FUNCTION ticket_search_message_moved();
