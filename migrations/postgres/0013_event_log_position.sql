-- The event log (issue 11 step 7): every ticket event gets a `position`, one counter for the
-- whole installation, handed out in commit order by the group-commit writer, so analytics,
-- automation and outbound webhooks can tail the log (`EventLogPort::events_after`). Ids cannot
-- be tailed: concurrent transactions take ids from the identity sequence before they commit, so
-- a reader can see id 8 committed while id 7 is still to come.
--
-- `event_log_position` is one row, the last position handed out. The writer moves it on with
-- `UPDATE … RETURNING` inside the transaction that inserts the events. The row lock that UPDATE
-- takes is held until the transaction ends, so a second transaction wanting positions waits
-- until the first has committed (and is visible) or rolled back, then continues from the value
-- it left: positions are handed out in commit order, a rolled-back transaction gives its
-- positions back (no gaps), and a committed one never hands them out again. A reader that sees
-- position N therefore already sees every position below N.
CREATE TABLE event_log_position (
    id            BIGINT PRIMARY KEY CHECK (id = 1),
    last_position BIGINT NOT NULL
);

-- The events written before this migration are numbered in id order.
ALTER TABLE ticket_events ADD COLUMN position BIGINT;
UPDATE ticket_events SET position = numbered.position
FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS position FROM ticket_events) AS numbered
WHERE numbered.id = ticket_events.id;
ALTER TABLE ticket_events ALTER COLUMN position SET NOT NULL;
ALTER TABLE ticket_events ADD CONSTRAINT ticket_events_position_key UNIQUE (position);

INSERT INTO event_log_position (id, last_position) SELECT 1, COALESCE(MAX(position), 0) FROM ticket_events;
