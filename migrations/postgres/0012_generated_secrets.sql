-- Secrets the hub makes up on first run when the configuration leaves them empty (the WhatsApp
-- webhook's app secret and verify token, the email webhook's inbound secret, the sandbox Graph
-- API's access token): random per install instead of compiled into the binary. Every node on
-- one database reads the same row: the first to insert a name wins, the others read it.
CREATE TABLE generated_secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
