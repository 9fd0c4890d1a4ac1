-- Saved views (issue 12 item 3): a named query with its sort, personal to its owner, shared
-- with a team, or with the whole account. The query is stored as written and compiled when the
-- view is listed or followed, so "created: today" keeps meaning today.
CREATE TABLE saved_views (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    owner_id    INTEGER NOT NULL REFERENCES users(id),
    name        TEXT    NOT NULL,
    query       TEXT    NOT NULL,
    sort        TEXT    NOT NULL,
    scope       TEXT    NOT NULL,
    team_id     INTEGER REFERENCES teams(id),
    position    INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX saved_views_account ON saved_views (account_id, position);
