-- Security review (issue 10).
-- Custom fields are the team's unless an admin shows them to customers.
ALTER TABLE custom_field_defs ADD COLUMN customer_visible BOOLEAN NOT NULL DEFAULT FALSE;
-- Company members may read colleagues' tickets (members_see_company_tickets) but write on them
-- only when the company allows it.
ALTER TABLE companies ADD COLUMN members_write_company_tickets BOOLEAN NOT NULL DEFAULT FALSE;
-- Stored files are content-addressed across the hub; this is each account's index of the files
-- it holds and how: uploaded by a user (uploaded_by), or arrived on a ticket (ticket_id); 0 where
-- it does not apply. A file is served only to an account that holds it, and a message may
-- attach only a file its author uploaded or that arrived on that ticket.
CREATE TABLE media_files (
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    sha256      TEXT    NOT NULL,
    uploaded_by INTEGER NOT NULL DEFAULT 0,
    ticket_id   INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (account_id, sha256, uploaded_by, ticket_id)
);
