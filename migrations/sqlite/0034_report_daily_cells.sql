-- Reports (issue 15): a period's summary is added up from `report_daily` for the period's whole
-- local days, and from `report_measures` only for its partial first and last days and for the
-- durations' medians. For that a cell must keep what splits a metric's figures: `detail` (the SLA
-- target of `sla_met`/`sla_missed`, the error of `whatsapp_failed`, the rule and result of
-- `automation_run`; empty otherwise) and `flag` (on `resolved`: 0 without a counted reply, 1 with
-- one, 2 with more — the one-touch rate; on `automation_run`: 1 when it ran late; on
-- `backlog_in`/`backlog_out`: 1 when the ticket had no assignee). The table is rebuilt with the
-- new key, and the projection starts again from position 0 to fill it (measures are replaced per
-- ticket, so the replay counts nothing twice).
DROP TABLE report_daily;
CREATE TABLE report_daily (
    account_id    INTEGER NOT NULL,
    day           TEXT   NOT NULL,
    metric        TEXT   NOT NULL,
    detail        TEXT   NOT NULL,
    flag          INTEGER NOT NULL,
    dimension     TEXT   NOT NULL,
    dimension_key TEXT   NOT NULL,
    count         INTEGER NOT NULL,
    sum_ms        INTEGER NOT NULL,
    PRIMARY KEY (account_id, dimension, day, metric, detail, flag, dimension_key)
);
DELETE FROM report_measures;
UPDATE report_cursor SET position = 0 WHERE id = 1;
