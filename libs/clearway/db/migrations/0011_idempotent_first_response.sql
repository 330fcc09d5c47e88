-- An idempotent replay answers the first response as it was sent (status and body), not the
-- invoice as it is now: a retry must not be told `accepted` for what it first learnt was
-- `created`. Keys stored before this have no response kept: they answer the invoice's state.
ALTER TABLE idempotency_keys ADD COLUMN response_status integer;
ALTER TABLE idempotency_keys ADD COLUMN response_body jsonb;
