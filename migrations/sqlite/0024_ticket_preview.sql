-- The last public message of each ticket, as list rows and live queue frames show it (issue 16:
-- frames carry a compact row, not the whole ticket). Kept by the ticket actor on every customer
-- message and reply; filled here for the tickets that exist (whitespace is folded by the actor,
-- only trimmed here).
ALTER TABLE tickets ADD COLUMN preview TEXT;

UPDATE tickets SET preview = (
    SELECT substr(trim(m.body), 1, 140) FROM messages m
    WHERE m.ticket_id = tickets.id AND m.kind IN ('customer', 'reply') AND trim(m.body) <> ''
    ORDER BY m.seq DESC
    LIMIT 1
);
