-- The seq of each ticket's newest customer message, for collision control (`stale_view`).
ALTER TABLE tickets ADD COLUMN last_customer_seq BIGINT NOT NULL DEFAULT 0;
