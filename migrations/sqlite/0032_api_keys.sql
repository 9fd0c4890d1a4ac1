-- Scoped API keys (issue 17 item 4). The key itself is shown once; only its SHA-256 is kept (a
-- key is 256 random bits, so a fast hash is as strong as a slow one) beside the first characters
-- for lists. Revoking deletes the row. `last_used_at` is written at most once a minute per key.
CREATE TABLE api_keys (
    id                     INTEGER PRIMARY KEY,
    account_id             INTEGER NOT NULL REFERENCES accounts(id),
    user_id                INTEGER NOT NULL REFERENCES users(id),
    name                   TEXT    NOT NULL,
    prefix                 TEXT    NOT NULL,
    key_hash               BLOB    NOT NULL UNIQUE,
    -- Space-separated scope names, e.g. `tickets:read tickets:write`.
    scopes                 TEXT    NOT NULL,
    rate_limit_per_minute  INTEGER NOT NULL,
    created_at             INTEGER NOT NULL,
    expires_at             INTEGER,
    last_used_at           INTEGER
);
CREATE INDEX api_keys_account ON api_keys (account_id, user_id);
