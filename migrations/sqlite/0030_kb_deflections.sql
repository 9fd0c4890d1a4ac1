-- Deflections (issue 14 items 2–3): a customer who was about to open a ticket in the portal and
-- said an article suggested on the form answered their question. Reports count them per article.
CREATE TABLE kb_deflections (
    id              INTEGER PRIMARY KEY,
    account_id      INTEGER NOT NULL REFERENCES accounts(id),
    translation_id  INTEGER NOT NULL REFERENCES kb_translations(id),
    user_id         INTEGER REFERENCES users(id),
    -- What the customer had typed (subject and description, cut to 300 characters).
    query           TEXT    NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE INDEX kb_deflections_account ON kb_deflections (account_id, created_at);
