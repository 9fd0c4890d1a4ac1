-- Automation rules (issue 13 items 2–5): a trigger (an event or a time condition), an optional
-- condition and actions, in the account's `position` order. `rule` is the rule as the API takes
-- it (JSON: when, if, then); the queries in it are compiled when the rule is saved and again when
-- a node loads the account's rules.
CREATE TABLE automation_rules (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    name        TEXT    NOT NULL,
    enabled     BOOLEAN NOT NULL,
    position    INTEGER NOT NULL,
    rule        TEXT    NOT NULL,
    created_by  INTEGER NOT NULL REFERENCES users(id),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX automation_rules_account ON automation_rules (account_id, position);

-- The run log: one row per `automation_ran` event, written in the same transaction as the event
-- (and the actions' events), so a run and its effects are one durable write.
CREATE TABLE automation_runs (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL,
    rule_id     INTEGER NOT NULL,
    ticket_id   INTEGER NOT NULL REFERENCES tickets(id),
    seq         INTEGER NOT NULL,
    ran_at      INTEGER NOT NULL,
    result      TEXT    NOT NULL,
    detail      TEXT    NOT NULL,
    UNIQUE (ticket_id, seq)
);
CREATE INDEX automation_runs_rule ON automation_runs (account_id, rule_id, id);

-- A ticket's time-rule waits (`TicketAutomations` as JSON, NULL when none): since when it has
-- matched each time rule's `while`, when the rule is due, and whether it fired for this period.
ALTER TABLE tickets ADD COLUMN automations TEXT;
