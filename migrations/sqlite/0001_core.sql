-- Core schema: accounts, people, tickets, the per-ticket event log, messages, sessions, timers.
-- Timestamps are milliseconds since the Unix epoch (UTC); JSON is stored as text.

CREATE TABLE accounts (
    id              INTEGER PRIMARY KEY,
    name            TEXT    NOT NULL,
    ticket_counter  INTEGER NOT NULL DEFAULT 0,
    priority_matrix TEXT    NOT NULL,
    ticket_types    TEXT    NOT NULL,
    created_at      INTEGER NOT NULL
);

CREATE TABLE ticket_statuses (
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    key        TEXT    NOT NULL,
    label      TEXT    NOT NULL,
    category   TEXT    NOT NULL,
    builtin    BOOLEAN NOT NULL,
    position   INTEGER NOT NULL,
    PRIMARY KEY (account_id, key)
);

CREATE TABLE custom_field_defs (
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    key        TEXT    NOT NULL,
    label      TEXT    NOT NULL,
    field_type TEXT    NOT NULL,
    options    TEXT    NOT NULL,
    PRIMARY KEY (account_id, key)
);

CREATE TABLE categories (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    parent_id  INTEGER REFERENCES categories(id),
    name       TEXT    NOT NULL,
    path       TEXT    NOT NULL,
    UNIQUE (account_id, path)
);

CREATE TABLE companies (
    id                          INTEGER PRIMARY KEY,
    account_id                  INTEGER NOT NULL REFERENCES accounts(id),
    name                        TEXT    NOT NULL,
    members_see_company_tickets BOOLEAN NOT NULL,
    created_at                  INTEGER NOT NULL,
    UNIQUE (account_id, name)
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES accounts(id),
    email         TEXT    NOT NULL UNIQUE,
    name          TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    password_hash TEXT,
    company_id    INTEGER REFERENCES companies(id),
    capacity      INTEGER NOT NULL,
    time_zone     TEXT    NOT NULL,
    phone         TEXT,
    active        BOOLEAN NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX users_account_role ON users (account_id, role);

CREATE TABLE teams (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (account_id, name)
);

CREATE TABLE team_members (
    team_id INTEGER NOT NULL REFERENCES teams(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members (user_id);

CREATE TABLE contacts (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    user_id    INTEGER NOT NULL REFERENCES users(id),
    channel    TEXT    NOT NULL,
    address    TEXT    NOT NULL,
    opted_out  BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE (account_id, channel, address)
);
CREATE INDEX contacts_user ON contacts (user_id);

CREATE TABLE sessions (
    token_hash BLOB    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE TABLE tickets (
    id                       INTEGER PRIMARY KEY,
    account_id               INTEGER NOT NULL REFERENCES accounts(id),
    number                   INTEGER NOT NULL,
    subject                  TEXT    NOT NULL,
    status                   TEXT    NOT NULL,
    status_category          TEXT    NOT NULL,
    urgency                  TEXT    NOT NULL,
    importance               TEXT    NOT NULL,
    priority                 TEXT    NOT NULL,
    priority_rank            INTEGER NOT NULL,
    ticket_type              TEXT,
    category_id              INTEGER,
    tags                     TEXT    NOT NULL,
    custom_fields            TEXT    NOT NULL,
    channel                  TEXT    NOT NULL,
    requester_id             INTEGER NOT NULL,
    company_id               INTEGER,
    assignee_id              INTEGER,
    team_id                  INTEGER,
    assigned_at              INTEGER,
    snoozed_until            INTEGER,
    seq                      INTEGER NOT NULL,
    created_at               INTEGER NOT NULL,
    updated_at               INTEGER NOT NULL,
    first_response_at        INTEGER,
    resolved_at              INTEGER,
    closed_at                INTEGER,
    last_customer_message_at INTEGER,
    last_agent_message_at    INTEGER,
    UNIQUE (account_id, number)
);
CREATE INDEX tickets_account_updated ON tickets (account_id, updated_at, id);
CREATE INDEX tickets_account_created ON tickets (account_id, created_at, id);
CREATE INDEX tickets_requester ON tickets (requester_id);
CREATE INDEX tickets_assignee ON tickets (assignee_id);

CREATE TABLE ticket_tags (
    ticket_id  INTEGER NOT NULL REFERENCES tickets(id),
    account_id INTEGER NOT NULL,
    tag        TEXT    NOT NULL,
    PRIMARY KEY (ticket_id, tag)
);
CREATE INDEX ticket_tags_tag ON ticket_tags (account_id, tag);

-- The append-only log. (ticket_id, seq) is unique: the fencing that keeps every ticket's seq
-- 1, 2, 3 … with no gap and no duplicate, whichever writer tries.
CREATE TABLE ticket_events (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL,
    ticket_id  INTEGER NOT NULL REFERENCES tickets(id),
    seq        INTEGER NOT NULL,
    kind       TEXT    NOT NULL,
    data       TEXT    NOT NULL,
    actor_id   INTEGER,
    created_at INTEGER NOT NULL,
    UNIQUE (ticket_id, seq)
);

CREATE TABLE messages (
    id              TEXT    PRIMARY KEY,
    account_id      INTEGER NOT NULL,
    ticket_id       INTEGER NOT NULL REFERENCES tickets(id),
    seq             INTEGER NOT NULL,
    kind            TEXT    NOT NULL,
    author_id       INTEGER,
    channel         TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    attachments     TEXT    NOT NULL,
    delivery_status TEXT,
    provider_id     TEXT,
    created_at      INTEGER NOT NULL
);
CREATE INDEX messages_ticket ON messages (ticket_id, seq);

CREATE TABLE timers (
    owner_kind TEXT    NOT NULL,
    owner_id   INTEGER NOT NULL,
    name       TEXT    NOT NULL,
    due_at     INTEGER NOT NULL,
    PRIMARY KEY (owner_kind, owner_id, name)
);
CREATE INDEX timers_due ON timers (due_at);
