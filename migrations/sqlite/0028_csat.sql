-- CSAT (issue 14 item 4). `csat_settings`: one row per account once an admin saved them (the
-- defaults, off, until then), as JSON. `csat_surveys`: one survey per resolution cycle of a
-- ticket (the unique key), pending until the customer rates (answered) or the ticket reopens
-- first (cancelled). Scores are 1–5 (thumbs: 1 down, 5 up) with the scale beside them;
-- `agent_ids` (JSON) are the people credited; `message_id` is the message that carried the
-- survey out, whose delivery status is the funnel's sent → delivered → read.
CREATE TABLE csat_settings (
    account_id  INTEGER PRIMARY KEY REFERENCES accounts(id),
    settings    TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE csat_surveys (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id     INTEGER NOT NULL REFERENCES accounts(id),
    ticket_id      INTEGER NOT NULL REFERENCES tickets(id),
    customer_id    INTEGER NOT NULL REFERENCES users(id),
    cycle          INTEGER NOT NULL,
    channel        TEXT    NOT NULL,
    scale          TEXT    NOT NULL,
    question       TEXT    NOT NULL,
    comment_prompt TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    score          INTEGER,
    comment        TEXT,
    team_id        INTEGER,
    agent_ids      TEXT    NOT NULL,
    message_id     TEXT,
    created_at     INTEGER NOT NULL,
    answered_at    INTEGER,
    UNIQUE (ticket_id, cycle)
);
-- The cool-down and the comment-by-next-message look up a customer's newest survey.
CREATE INDEX csat_surveys_customer ON csat_surveys (customer_id, created_at);
-- The list (by answer time) and the funnel (by send time) read an account's period.
CREATE INDEX csat_surveys_answered ON csat_surveys (account_id, answered_at);
CREATE INDEX csat_surveys_created ON csat_surveys (account_id, created_at);
