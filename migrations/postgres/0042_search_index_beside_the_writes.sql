-- A new message no longer rebuilds its search band inside its own transaction (issue 16, CPU per
-- message): the band's tsvector rebuilt and its GIN entries replaced in every commit. The insert
-- now only marks its band pending; a pass rebuilds the pending bands a few times a second, each
-- band once however many messages it got, and every full-text search brings the index up to date
-- before it reads it. Moves and deletes (merge, split, erasure) are rare and still rebuild at
-- once (0020).
CREATE TABLE ticket_search_pending (
    ticket_id BIGINT  NOT NULL,
    band      INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, band)
);

-- DO UPDATE, not DO NOTHING: it locks a pending row a pass may be taking, so the pass's DELETE
-- waits for this transaction and its rebuild (a later statement, a later snapshot) reads the
-- message; with DO NOTHING a pass could take the row and rebuild without the message.
CREATE OR REPLACE FUNCTION ticket_search_messages() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    touched RECORD;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO ticket_search_pending (ticket_id, band)
            SELECT DISTINCT ticket_id, ticket_search_band(seq) FROM added
            ON CONFLICT (ticket_id, band) DO UPDATE SET band = EXCLUDED.band;
    ELSE
        FOR touched IN SELECT DISTINCT ticket_id, ticket_search_band(seq) AS band FROM removed LOOP
            PERFORM ticket_search_rebuild(touched.ticket_id, touched.band);
        END LOOP;
    END IF;
    RETURN NULL;
END $$;
