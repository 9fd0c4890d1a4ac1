-- Notifications (issue 12 item 6): what a user is told about (assigned, mentioned, a ticket
-- turned critical × critical, SLA alerts, customer replies), produced from the event log by the
-- notifier. `notifier_cursor` is the log position the notifier has handled: it moves in the
-- same transaction as the notifications it wrote, so a restart resumes exactly there, and a
-- node whose compare-and-set finds it moved (another node got there first) writes nothing.
-- It starts at the log's current end: the history before notifications existed notifies nobody.
CREATE TABLE notifications (
    id            INTEGER PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES accounts(id),
    user_id       INTEGER NOT NULL REFERENCES users(id),
    kind          TEXT    NOT NULL,
    ticket_id     INTEGER NOT NULL REFERENCES tickets(id),
    ticket_number INTEGER NOT NULL,
    subject       TEXT    NOT NULL,
    actor_id      INTEGER,
    text          TEXT    NOT NULL,
    critical      BOOLEAN NOT NULL,
    position      INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    read_at       INTEGER
);
CREATE INDEX notifications_by_user ON notifications (user_id, id);
CREATE INDEX notifications_unread ON notifications (user_id, id) WHERE read_at IS NULL;

CREATE TABLE notifier_cursor (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    position INTEGER NOT NULL
);
INSERT INTO notifier_cursor (id, position) SELECT 1, last_position FROM event_log_position;

-- A user's preferences as JSON (kinds on/off, quiet hours, digest), and the newest
-- notification the last digest covered.
CREATE TABLE notification_preferences (
    user_id         INTEGER PRIMARY KEY REFERENCES users(id),
    account_id      INTEGER NOT NULL REFERENCES accounts(id),
    data            TEXT    NOT NULL,
    digest_after_id INTEGER NOT NULL DEFAULT 0,
    updated_at      INTEGER NOT NULL
);
