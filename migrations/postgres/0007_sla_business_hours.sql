-- SLA business hours: the working periods (in a time zone, minus holidays) the policy's clocks
-- count in, as JSON; NULL counts calendar time.
ALTER TABLE sla_policies ADD COLUMN business_hours TEXT;
