-- Customer accounts (issue 14 item 1): one-time codes and password-reset tokens. Neither is ever
-- stored in the clear: a code is kept as an HMAC-SHA256 under a per-install key (six digits
-- alone would be brute-forced from a plain hash), a reset token as its SHA-256.
--
-- A code is for one purpose and one destination (an email address or a WhatsApp number); a new
-- code for the same pair replaces the old one, so at most one is alive. `attempts` counts wrong
-- tries: at 5 the code is dead. A registration's code carries the account it will create or
-- complete (`name`, `password_hash`), so nothing about the user changes before the code is
-- verified. A phone-verification code carries the customer who asked (`user_id`).
CREATE TABLE one_time_codes (
    purpose       TEXT    NOT NULL,
    destination   TEXT    NOT NULL,
    account_id    INTEGER NOT NULL REFERENCES accounts(id),
    user_id       INTEGER REFERENCES users(id),
    code_hash     BLOB    NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    name          TEXT,
    password_hash TEXT,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    PRIMARY KEY (purpose, destination)
);

-- A password-reset link's token (its SHA-256): single use, 30 minutes. Using one removes every
-- token of its user, and ends all their sessions in the same transaction.
CREATE TABLE password_resets (
    token_hash BLOB    PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    user_id    INTEGER NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX password_resets_user ON password_resets (user_id);
