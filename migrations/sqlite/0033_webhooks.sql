-- Outbound webhooks (issue 17 item 5). `webhooks` are an account's subscriptions (admins keep
-- them): where to POST, which event types, the signing secret, whether private addresses are
-- allowed, and, while deliveries fail, since when (`failing_since`; 24 hours of it disables the
-- subscription with `disabled_reason`). `webhook_cursor` is the event log position the
-- dispatcher has handled: it moves in the same transaction as the deliveries it wrote (a
-- compare-and-set), so each event is enqueued once per subscription across restarts and nodes.
-- It starts at the log's current end: history before webhooks existed is never sent.
-- `webhook_deliveries` is the durable outbox and the delivery log at once: one row per
-- subscription and event (unique), its body as first built, attempts, the last answer, when
-- to try next, and since when it is retried (`queued_at`: queued, or redelivered by hand).
CREATE TABLE webhooks (
    id              INTEGER PRIMARY KEY,
    account_id      INTEGER NOT NULL REFERENCES accounts(id),
    url             TEXT    NOT NULL,
    events          TEXT    NOT NULL,
    secret          TEXT    NOT NULL,
    active          BOOLEAN NOT NULL,
    allow_private   BOOLEAN NOT NULL,
    disabled_reason TEXT,
    failing_since   INTEGER,
    created_by      INTEGER NOT NULL REFERENCES users(id),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX webhooks_account ON webhooks (account_id, id);

CREATE TABLE webhook_cursor (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    position INTEGER NOT NULL
);
INSERT INTO webhook_cursor (id, position) SELECT 1, last_position FROM event_log_position;

CREATE TABLE webhook_deliveries (
    id               INTEGER PRIMARY KEY,
    webhook_id       INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    account_id       INTEGER NOT NULL REFERENCES accounts(id),
    position         INTEGER NOT NULL,
    ticket_id        INTEGER NOT NULL,
    seq              INTEGER NOT NULL,
    event_type       TEXT    NOT NULL,
    body             TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    attempts         INTEGER NOT NULL,
    last_status_code INTEGER,
    last_response_ms INTEGER,
    last_error       TEXT,
    next_attempt_at  INTEGER,
    created_at       INTEGER NOT NULL,
    queued_at        INTEGER NOT NULL,
    delivered_at     INTEGER,
    UNIQUE (webhook_id, position)
);
-- The sender's sweep: pending deliveries by due time; and the head-of-line check per ticket.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_ticket ON webhook_deliveries (webhook_id, ticket_id, position) WHERE status = 'pending';
