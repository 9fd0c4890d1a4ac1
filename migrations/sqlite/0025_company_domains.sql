-- Companies in the console (issue 14 item 6). A company's email domains: a customer who proves
-- an address at one of them (a registration confirmed by code, or a password account when the
-- domain is added) joins the company. A domain belongs to one company of an account.
CREATE TABLE company_domains (
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    domain      TEXT    NOT NULL,
    company_id  INTEGER NOT NULL REFERENCES companies(id),
    PRIMARY KEY (account_id, domain)
);
CREATE INDEX company_domains_company ON company_domains (company_id);

-- The SLA tier: the lowest priority a new ticket of a member opens with (NULL: none).
ALTER TABLE companies ADD COLUMN sla_tier TEXT;

-- Members of a company: its page lists them, the list counts them, a ticket opening reads one.
CREATE INDEX users_company ON users (company_id);
