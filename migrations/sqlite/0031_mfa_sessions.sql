-- MFA and sessions (issue 17 items 1–2).
-- A session gets a public id (what `/me/sessions` lists and revokes; the token hash stays the
-- key and never leaves the server), when it was last used (idle timeout), the device and
-- address it was started from, and its kind: `login` sessions follow the account's idle and
-- lifetime policy, `token` sessions (API tokens an admin issued) only their own expiry.
ALTER TABLE sessions ADD COLUMN id TEXT;
UPDATE sessions SET id = lower(hex(randomblob(16)));
CREATE UNIQUE INDEX sessions_public_id ON sessions (id);
ALTER TABLE sessions ADD COLUMN last_seen_at INTEGER NOT NULL DEFAULT 0;
UPDATE sessions SET last_seen_at = created_at;
ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN ip TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN kind TEXT NOT NULL DEFAULT 'login';
CREATE INDEX sessions_user ON sessions (user_id);

-- A user's TOTP second factor: the shared secret (base32), enabled once its first code was
-- confirmed (`enabled_at` NULL while enrolment waits), and the last time step a code was
-- accepted for, so a code is never accepted twice (RFC 6238 §5.2).
CREATE TABLE user_totp (
    user_id     INTEGER PRIMARY KEY REFERENCES users(id),
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    secret      TEXT    NOT NULL,
    enabled_at  INTEGER,
    last_step   INTEGER,
    created_at  INTEGER NOT NULL
);

-- Single-use recovery codes, only as SHA-256 of their normal form (80 random bits each).
CREATE TABLE mfa_recovery_codes (
    user_id     INTEGER NOT NULL REFERENCES users(id),
    code_hash   BLOB    NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);

-- The account's security policy (staff must use MFA, session idle timeout and lifetime), as
-- JSON; the defaults until an admin saves one.
CREATE TABLE security_policies (
    account_id  INTEGER PRIMARY KEY REFERENCES accounts(id),
    policy      TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL
);
