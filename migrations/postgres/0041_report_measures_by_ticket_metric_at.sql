-- Reports (issue 16): a pass deletes a ticket's single gone measures by ticket, metric and
-- instant (a WhatsApp message moves the window's `window_expired` and `sla_missed` rows of its
-- ticket). On the ticket alone the delete read every measure of the ticket for each row it
-- took; the index now finds the row itself and still serves the reads by ticket.
DROP INDEX report_measures_ticket;
CREATE INDEX report_measures_ticket ON report_measures (ticket_id, metric, at);
