-- The event log (issue 11 step 7): every ticket event gets a `position`, one counter for the
-- whole installation, handed out in commit order by the group-commit writer, so analytics,
-- automation and outbound webhooks can tail the log (`EventLogPort::events_after`). Ids cannot
-- be tailed: on PostgreSQL concurrent transactions take ids before they commit, in another order.
--
-- `event_log_position` is one row, the last position handed out. The writer moves it on with
-- `UPDATE … RETURNING` inside the transaction that inserts the events, so a rolled-back
-- transaction gives its positions back (no gaps) and a committed one never hands them out again.
-- SQLite has a single writer (`BEGIN IMMEDIATE`), so commits are already one after another; the
-- row is the same as PostgreSQL's so the SQL is shared.
CREATE TABLE event_log_position (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    last_position INTEGER NOT NULL
);

-- SQLite cannot add a NOT NULL column without a default, so the table is rebuilt; the events
-- written before this migration are numbered in id order (SQLite's ids are its commit order).
CREATE TABLE ticket_events_positioned (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL,
    ticket_id  INTEGER NOT NULL REFERENCES tickets(id),
    seq        INTEGER NOT NULL,
    kind       TEXT    NOT NULL,
    data       TEXT    NOT NULL,
    actor_id   INTEGER,
    created_at INTEGER NOT NULL,
    position   INTEGER NOT NULL UNIQUE,
    UNIQUE (ticket_id, seq)
);
INSERT INTO ticket_events_positioned (id, account_id, ticket_id, seq, kind, data, actor_id, created_at, position)
SELECT id, account_id, ticket_id, seq, kind, data, actor_id, created_at, ROW_NUMBER() OVER (ORDER BY id)
FROM ticket_events;
DROP TABLE ticket_events;
ALTER TABLE ticket_events_positioned RENAME TO ticket_events;

INSERT INTO event_log_position (id, last_position) SELECT 1, COALESCE(MAX(position), 0) FROM ticket_events;
