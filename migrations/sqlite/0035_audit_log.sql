-- The audit log (issue 17 item 6): append-only, one row per admin action or login. No statement
-- updates a row; the only delete is retention (`audit_retention_days` per account, default 365),
-- run by a daily durable timer. `before_json`/`after_json` are redacted before they get here.
CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts(id),
    at           INTEGER NOT NULL,
    -- NULL for the system (a timer) and for a failed login whose email matched no user.
    actor_id     INTEGER,
    actor_ip     TEXT,
    action       TEXT    NOT NULL,
    target_type  TEXT,
    target_id    TEXT,
    before_json  TEXT,
    after_json   TEXT
);
CREATE INDEX audit_log_account_at ON audit_log (account_id, at DESC, id DESC);

ALTER TABLE accounts ADD COLUMN audit_retention_days INTEGER NOT NULL DEFAULT 365;
