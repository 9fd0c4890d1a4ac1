-- Reports (issue 15 items 1 and 5). Backlog figures read every `backlog_in` / `backlog_out`
-- measure before a period's end, and exports read measures by metric: an index by account,
-- metric and time serves both. `report_schedules` holds scheduled reports: the specification
-- as the API took it (JSON), whose figures they are (the creator's scope), and the next run,
-- which a durable timer (owner `report_schedule`) follows.
CREATE INDEX report_measures_metric ON report_measures (account_id, metric, at);

CREATE TABLE report_schedules (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts(id),
    created_by   INTEGER NOT NULL REFERENCES users(id),
    spec         TEXT    NOT NULL,
    next_run_at  INTEGER NOT NULL,
    last_sent_at INTEGER,
    created_at   INTEGER NOT NULL
);
CREATE INDEX report_schedules_account ON report_schedules (account_id, id);
