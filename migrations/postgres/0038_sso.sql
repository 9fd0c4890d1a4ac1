-- Single sign-on for staff with OpenID Connect (issue 17 item 3). One provider per account; the
-- client secret has a column of its own so that secrets at rest (issue 17 item 8) can seal it,
-- and the API never returns it. A sign-in waiting for the provider's answer is a row of
-- `sso_logins`, keyed by the SHA-256 of its `state`, taken (deleted) by its callback, and swept
-- when it expires (10 minutes).
CREATE TABLE sso_settings (
    account_id         BIGINT PRIMARY KEY REFERENCES accounts(id),
    issuer             TEXT    NOT NULL,
    client_id          TEXT    NOT NULL,
    client_secret      TEXT,
    enabled            BOOLEAN NOT NULL,
    sso_only_for_staff BOOLEAN NOT NULL,
    updated_at         BIGINT  NOT NULL
);

CREATE TABLE sso_logins (
    state_hash    BYTEA   PRIMARY KEY,
    account_id    BIGINT  NOT NULL REFERENCES accounts(id),
    browser_hash  BYTEA   NOT NULL,
    nonce         TEXT    NOT NULL,
    pkce_verifier TEXT    NOT NULL,
    redirect_uri  TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    expires_at    BIGINT  NOT NULL
);
CREATE INDEX sso_logins_expiry ON sso_logins (expires_at);
