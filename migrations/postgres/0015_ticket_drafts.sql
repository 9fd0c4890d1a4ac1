-- A reply being written, one per agent and ticket (issue 12 item 7), kept on the server so the
-- draft follows the agent to another device. Removed when the reply is sent. (0015 is left to
-- a branch that was open when this one started.)
CREATE TABLE ticket_drafts (
    account_id  BIGINT  NOT NULL REFERENCES accounts(id),
    user_id     BIGINT  NOT NULL REFERENCES users(id),
    ticket_id   BIGINT  NOT NULL REFERENCES tickets(id),
    body        TEXT    NOT NULL,
    channel     TEXT,
    internal    BOOLEAN NOT NULL,
    updated_at  BIGINT  NOT NULL,
    PRIMARY KEY (user_id, ticket_id)
);
