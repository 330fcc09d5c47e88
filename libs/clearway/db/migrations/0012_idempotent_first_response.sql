-- An idempotent replay answers the first response as it was sent (status and body), not the
-- invoice as it is now: a retry must not be told `accepted` for what it first learnt was
-- `created`. Keys stored before this have no response kept: they answer the invoice's state.
ALTER TABLE idempotency_keys ADD COLUMN response_status integer;
-- The body is kept as the exact text sent (jsonb would reorder its keys).
ALTER TABLE idempotency_keys ADD COLUMN response_body text;
