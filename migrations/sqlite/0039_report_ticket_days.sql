-- Reports (issue 15): a query-filtered summary (`q=`) adds up only the tickets the filter
-- matches now, which the per-day cells of `report_daily` cannot split by. It read every measure
-- of the period for that (1.3 M rows at 100,000 tickets). `report_ticket_days` keeps the same
-- cells per ticket: one row per account, metric, local day, detail, flag (`cell_detail`) and
-- ticket, with its count and value sum, so such a summary reads each metric's days in key order
-- (no sort to group, and the backlog's two metrics without the others) for its whole days, and
-- the measures only for its partial first and last days. The projection replaces a ticket's rows with its measures, in the same
-- transaction; here they are filled from the measures already kept.
CREATE TABLE report_ticket_days (
    account_id INTEGER NOT NULL,
    day        TEXT    NOT NULL,
    metric     TEXT    NOT NULL,
    detail     TEXT    NOT NULL,
    flag       INTEGER NOT NULL,
    ticket_id  INTEGER NOT NULL,
    count      INTEGER NOT NULL,
    sum_ms     INTEGER NOT NULL,
    PRIMARY KEY (account_id, metric, day, detail, flag, ticket_id)
) WITHOUT ROWID;
CREATE INDEX report_ticket_days_ticket ON report_ticket_days (ticket_id);
INSERT INTO report_ticket_days (account_id, day, metric, detail, flag, ticket_id, count, sum_ms)
SELECT m.account_id, m.day, m.metric,
       CASE WHEN m.metric IN ('sla_met', 'sla_missed', 'whatsapp_failed', 'automation_run')
            THEN COALESCE(m.detail, '') ELSE '' END,
       CASE WHEN m.metric = 'automation_run' THEN (CASE WHEN m.value_ms IS NULL THEN 0 ELSE 1 END)
            WHEN m.metric = 'resolved' THEN (CASE WHEN m.replies IS NULL OR m.replies < 0 THEN 0
                                                  WHEN m.replies > 2 THEN 2 ELSE m.replies END)
            WHEN m.metric IN ('backlog_in', 'backlog_out') THEN (CASE WHEN m.assignee_id IS NULL THEN 1 ELSE 0 END)
            ELSE 0 END,
       m.ticket_id, COUNT(*), SUM(COALESCE(m.value_ms, 0))
FROM report_measures m
GROUP BY 1, 2, 3, 4, 5, 6;

-- The durations a summary ranks are read by metric and period: the index carries the ticket (for
-- a filter's list) and both clocks' values, so they come from the index alone, not a table row
-- each.
DROP INDEX report_measures_metric;
CREATE INDEX report_measures_metric ON report_measures (account_id, metric, at, ticket_id, value_ms, business_ms);
