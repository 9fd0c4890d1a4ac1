-- Every store query takes the account it serves (issue 11 step 3). Templates were the one table
-- without an account: they are the WhatsApp business account's, and the configured numbers
-- serve the first account, so the templates stored so far are the first account's. (With no
-- account there is nobody to serve them; they are dropped and come back with the next sync.)
ALTER TABLE wa_templates ADD COLUMN account_id BIGINT REFERENCES accounts(id);
UPDATE wa_templates SET account_id = (SELECT MIN(id) FROM accounts);
DELETE FROM wa_templates WHERE account_id IS NULL;
ALTER TABLE wa_templates ALTER COLUMN account_id SET NOT NULL;
ALTER TABLE wa_templates DROP CONSTRAINT wa_templates_pkey;
ALTER TABLE wa_templates ADD PRIMARY KEY (account_id, name, language);
