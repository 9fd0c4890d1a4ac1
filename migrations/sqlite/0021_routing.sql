-- Presence-aware routing (issue 13 item 1). Agents' skills and languages (JSON arrays of
-- strings); each team's routing settings as JSON (absent = manual); and the router lease: one
-- router per account in the cluster, held by the node whose lease has not expired.
ALTER TABLE users ADD COLUMN skills TEXT NOT NULL DEFAULT '[]';
ALTER TABLE users ADD COLUMN languages TEXT NOT NULL DEFAULT '[]';

CREATE TABLE team_routing (
    team_id    INTEGER PRIMARY KEY REFERENCES teams(id),
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    data       TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX team_routing_by_account ON team_routing (account_id);

CREATE TABLE router_leases (
    account_id INTEGER PRIMARY KEY REFERENCES accounts(id),
    node       TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
);

-- The router's question on every pass: the unassigned open tickets of its routed teams.
CREATE INDEX tickets_unassigned_by_team ON tickets (account_id, team_id) WHERE assignee_id IS NULL;
