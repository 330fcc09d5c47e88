-- The buyer's response to a received invoice (POST /v1/received-invoices/:id/response), one per
-- received invoice, and the responder's durable schedule for sending it through the network
-- (FR: the PA lifecycle status; BE/DE: a Peppol Invoice Response; IT: SDI's esito committente).
CREATE TABLE received_responses (
    received_invoice_id  text PRIMARY KEY REFERENCES received_invoices(id),
    decision             text NOT NULL,               -- accept | reject
    reason               text,
    status               text NOT NULL,               -- requested | sent | failed
    requested_event_id   text NOT NULL,               -- what the sent/failed event is caused by
    receipt              jsonb,                       -- the network's id or receipt, once sent
    failure              text,                        -- the network's reason, once failed
    attempts             integer NOT NULL DEFAULT 0,  -- transient failures so far
    last_error           text,
    next_attempt_at      timestamptz NOT NULL DEFAULT now(),
    lease_until          timestamptz,
    lease_owner          text,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL
);
CREATE INDEX received_responses_due ON received_responses (next_attempt_at)
    WHERE status = 'requested';

-- An idempotency key's first answer may now have made a received invoice's response: the
-- column names what the first answer made (an invoice, or the received invoice responded to).
ALTER TABLE idempotency_keys DROP CONSTRAINT IF EXISTS idempotency_keys_invoice_id_fkey;
