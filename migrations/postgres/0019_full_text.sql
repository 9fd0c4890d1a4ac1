-- Full-text search (issue 12 item 2): generated tsvector columns over ticket subjects and message
-- bodies with GIN indexes, computed in the same statement as the row (so a message is findable
-- the moment it is committed). The `simple` configuration: no stemming and no stop words, the
-- same words as SQLite's index, folded to lower case; unaccent is left out (an extension).
ALTER TABLE tickets ADD COLUMN subject_search tsvector
    GENERATED ALWAYS AS (to_tsvector('simple', subject)) STORED;
ALTER TABLE messages ADD COLUMN body_search tsvector
    GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED;
CREATE INDEX tickets_subject_search ON tickets USING gin (subject_search);
CREATE INDEX messages_body_search ON messages USING gin (body_search);
