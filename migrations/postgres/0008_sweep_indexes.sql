-- The outbound and media sweeps run every few seconds; without these partial indexes each pass
-- read every message ever stored (found by the idle load test: CPU grew with the message count).
CREATE INDEX messages_queued_replies ON messages (channel, created_at) WHERE delivery_status = 'queued' AND kind = 'reply';
CREATE INDEX messages_pending_media ON messages (created_at) WHERE channel = 'whatsapp' AND attachments LIKE '%"status":"pending"%';
