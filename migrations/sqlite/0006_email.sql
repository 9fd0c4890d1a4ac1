-- The email channel: raw inbound messages (RFC 5322 bytes) stored before the webhook answers,
-- processed after, and outbound send attempts with their back-off. Inbound messages are
-- de-duplicated, and replies threaded, by the Message-ID stored as the message's provider_id.

CREATE TABLE email_inbox (
    id           INTEGER PRIMARY KEY,
    received_at  INTEGER NOT NULL,
    raw          BLOB    NOT NULL,
    processed_at INTEGER,
    error        TEXT
);
CREATE INDEX email_inbox_unprocessed ON email_inbox (processed_at, id);

CREATE TABLE email_sends (
    message_id      TEXT    PRIMARY KEY,
    account_id      INTEGER NOT NULL,
    ticket_id       INTEGER NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER,
    last_error      TEXT,
    done            BOOLEAN NOT NULL DEFAULT FALSE
);
