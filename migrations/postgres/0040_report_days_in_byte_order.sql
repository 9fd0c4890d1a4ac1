-- Reports (issue 15): the per-day cells' `day` (an ISO date, `YYYY-MM-DD`) compared and ordered
-- byte by byte. Under the database's default collation (`C.UTF-8` or a locale) every
-- `day >= … AND day < …` a summary tests goes through the C library's `strcoll`: a filtered
-- summary tests it on each of the 700,000 per-ticket cells of a month at 100,000 tickets, ~15 % of
-- that read. ISO dates sort the same byte by byte, so nothing answers differently; the
-- primary keys are rebuilt in the new order.
ALTER TABLE report_ticket_days ALTER COLUMN day TYPE TEXT COLLATE "C";
ALTER TABLE report_daily ALTER COLUMN day TYPE TEXT COLLATE "C";
