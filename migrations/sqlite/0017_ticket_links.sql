-- Merge and split (issue 12 item 4): a ticket's links to others (`TicketLinks` as JSON, NULL
-- when it has none) and the channel its customer last wrote on, where replies go by default.
-- Merged messages move between threads by `messages.ticket_id`; the events say which and why.
ALTER TABLE tickets ADD COLUMN links TEXT;
ALTER TABLE tickets ADD COLUMN last_customer_channel TEXT;
