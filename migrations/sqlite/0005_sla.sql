-- SLA: the account's policy (targets per priority, warning threshold) and each ticket's clocks.
-- `sla` is the ticket's SlaState as JSON; `sla_due_at` / `sla_warn_at` are the earliest due and
-- warning times of its running clocks (NULL when none runs), for sorting and the risk board.
CREATE TABLE sla_policies (
    account_id      INTEGER PRIMARY KEY REFERENCES accounts(id),
    enabled         BOOLEAN NOT NULL,
    warning_percent INTEGER NOT NULL,
    targets         TEXT    NOT NULL,
    updated_at      INTEGER NOT NULL
);

ALTER TABLE tickets ADD COLUMN sla TEXT;
ALTER TABLE tickets ADD COLUMN sla_due_at INTEGER;
ALTER TABLE tickets ADD COLUMN sla_warn_at INTEGER;
CREATE INDEX tickets_account_sla_due ON tickets (account_id, (COALESCE(sla_due_at, 9223372036854775807)), id);
