-- Canned responses: reusable reply texts agents pick in the reply box.
CREATE TABLE canned_responses (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    title      TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (account_id, title)
);
