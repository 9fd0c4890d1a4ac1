-- Every store query takes the account it serves (issue 11 step 3). Templates were the one table
-- without an account: they are the WhatsApp business account's, and the configured numbers
-- serve the first account, so the templates stored so far are the first account's. (With no
-- account there is nobody to serve them; they are dropped and come back with the next sync.)
-- SQLite cannot change a primary key in place, so the table is rebuilt.
CREATE TABLE wa_templates_by_account (
    account_id       INTEGER NOT NULL REFERENCES accounts(id),
    name             TEXT    NOT NULL,
    language         TEXT    NOT NULL,
    category         TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    body             TEXT    NOT NULL,
    parameter_count  INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    PRIMARY KEY (account_id, name, language)
);
INSERT INTO wa_templates_by_account (account_id, name, language, category, status, body, parameter_count, updated_at)
SELECT (SELECT MIN(id) FROM accounts), name, language, category, status, body, parameter_count, updated_at
FROM wa_templates WHERE EXISTS (SELECT 1 FROM accounts);
DROP TABLE wa_templates;
ALTER TABLE wa_templates_by_account RENAME TO wa_templates;
