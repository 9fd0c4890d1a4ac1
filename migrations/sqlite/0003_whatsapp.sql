-- The WhatsApp channel: a durable inbox of raw webhook payloads (stored before the 200, processed
-- after), conversations per (business number, customer) with their 24-hour window, statuses
-- waiting for a wamid we do not know yet, outbound send attempts, and templates. Inbound messages
-- are de-duplicated, and statuses routed, by the wamid stored as the message's provider_id.

ALTER TABLE messages ADD COLUMN payload TEXT;
CREATE INDEX messages_provider ON messages (provider_id);
ALTER TABLE messages ADD COLUMN delivery_error TEXT;
ALTER TABLE messages ADD COLUMN delivery_rank INTEGER NOT NULL DEFAULT 0;

CREATE TABLE webhook_inbox (
    id           INTEGER PRIMARY KEY,
    received_at  INTEGER NOT NULL,
    body         TEXT    NOT NULL,
    processed_at INTEGER,
    error        TEXT
);
CREATE INDEX webhook_inbox_unprocessed ON webhook_inbox (processed_at, id);

CREATE TABLE wa_conversations (
    id                INTEGER PRIMARY KEY,
    account_id        INTEGER NOT NULL REFERENCES accounts(id),
    phone_number_id   TEXT    NOT NULL,
    customer_id       INTEGER NOT NULL REFERENCES users(id),
    wa_id             TEXT,
    user_key          TEXT    NOT NULL,
    window_expires_at INTEGER,
    last_inbound_at   INTEGER,
    current_ticket_id INTEGER,
    opted_out         BOOLEAN NOT NULL DEFAULT FALSE,
    referral          TEXT,
    updated_at        INTEGER NOT NULL,
    UNIQUE (phone_number_id, customer_id)
);
CREATE INDEX wa_conversations_account ON wa_conversations (account_id, updated_at);

CREATE TABLE wa_pending_statuses (
    wamid      TEXT    NOT NULL,
    status     TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (wamid, status)
);

CREATE TABLE wa_sends (
    message_id      TEXT    PRIMARY KEY,
    account_id      INTEGER NOT NULL,
    ticket_id       INTEGER NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER,
    wamid           TEXT,
    done            BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE wa_templates (
    name             TEXT    NOT NULL,
    language         TEXT    NOT NULL,
    category         TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    body             TEXT    NOT NULL,
    parameter_count  INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    PRIMARY KEY (name, language)
);
