-- Data protection (issue 17 item 7). Retention of closed tickets per account: archived (out of
-- lists and search, still readable by id and exported) `archive_closed_after_days` after closing,
-- deleted `delete_closed_after_days` after; NULL is never, the default. `tickets.archived_at` is
-- not one of the columns the ticket writer sets, so no ticket commit clears it. Customers' export
-- and erasure requests from the portal wait in `data_requests` for an admin's decision.
ALTER TABLE accounts ADD COLUMN archive_closed_after_days INTEGER;
ALTER TABLE accounts ADD COLUMN delete_closed_after_days INTEGER;
ALTER TABLE tickets ADD COLUMN archived_at INTEGER;
CREATE INDEX tickets_closed_at ON tickets (account_id, closed_at) WHERE status_category = 'closed';

CREATE TABLE data_requests (
    id            INTEGER PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES accounts(id),
    customer_id   INTEGER NOT NULL REFERENCES users(id),
    -- `export` or `erase`.
    kind          TEXT    NOT NULL,
    -- `pending`, then `approved` (and done) or `declined`.
    status        TEXT    NOT NULL,
    requested_at  INTEGER NOT NULL,
    decided_at    INTEGER,
    decided_by    INTEGER
);
CREATE INDEX data_requests_account ON data_requests (account_id, id);
