-- Every node reads the due timers and fires them: with several nodes each timer fired on each
-- (a WhatsApp window "closing" recorded twice on a ticket). The node about to fire a timer now
-- claims it until `claimed_until` (ms); a timer re-armed since is claimable again.
ALTER TABLE timers ADD COLUMN claimed_until BIGINT;
