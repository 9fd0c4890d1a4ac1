-- Reports (issue 15 items 2–3): the projection of the event log that the reports read.
-- `report_measures` holds every counted figure of every ticket (a creation, a counted reply, a
-- first response and its duration, a resolved cycle, a reopen, a breach, an agent touching it)
-- with what the ticket was at that moment; a ticket's rows are replaced whole each time its log
-- grows, so nothing is counted twice. `report_daily` adds them up per account, local day,
-- metric and dimension (`all`, agent, team, channel, company, category, priority; an empty key is
-- "none", e.g. unassigned), changed by the same transaction that replaces the measures.
-- `report_cursor` is the log position the projection has handled: it moves in that transaction
-- too, so a restart resumes exactly there and `switchboard reports rebuild` starts it from 0.
-- Unlike the notifier's cursor it starts at 0: history is reported as well.
CREATE TABLE report_measures (
    ticket_id    INTEGER NOT NULL,
    account_id   INTEGER NOT NULL,
    metric       TEXT   NOT NULL,
    at           INTEGER NOT NULL,
    day          TEXT   NOT NULL,
    value_ms     INTEGER,
    business_ms  INTEGER,
    replies      INTEGER,
    actor_id     INTEGER,
    detail       TEXT,
    assignee_id  INTEGER,
    team_id      INTEGER,
    channel      TEXT,
    company_id   INTEGER,
    category_id  INTEGER,
    priority     TEXT
);
CREATE INDEX report_measures_ticket ON report_measures (ticket_id);
CREATE INDEX report_measures_period ON report_measures (account_id, at);

CREATE TABLE report_daily (
    account_id    INTEGER NOT NULL,
    day           TEXT   NOT NULL,
    metric        TEXT   NOT NULL,
    dimension     TEXT   NOT NULL,
    dimension_key TEXT   NOT NULL,
    count         INTEGER NOT NULL,
    sum_ms        INTEGER NOT NULL,
    PRIMARY KEY (account_id, day, metric, dimension, dimension_key)
);

CREATE TABLE report_cursor (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    position INTEGER NOT NULL
);
INSERT INTO report_cursor (id, position) VALUES (1, 0);
