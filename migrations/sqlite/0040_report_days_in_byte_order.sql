-- Reports (issue 15): PostgreSQL's per-day cells compare their `day` byte by byte from this
-- version on (its default collation went through `strcoll`). SQLite's text columns already
-- compare that way (`BINARY`): nothing to change here; the version keeps both backends' migrations
-- in step.
SELECT 1;
