-- Government connectors: submissions become a durable work schedule (retries, reconciliation),
-- every call to a government is kept, rate limits are shared by all replicas, the poller gets
-- countries and deadlines, receipts know their media type, invoices keep a sandbox scenario.

-- A submission row is written before anything is sent and then moves through:
--   pending      nothing in flight; upload at next_attempt_at
--   uploading    an upload may be in flight (committed before sending: a crash leaves this)
--   reconciling  an upload's answer was lost; look for it in the government's message list
--   uploaded     the government took it (upload_id); final
--   failed       the invoice went to `error`; final
ALTER TABLE submissions DROP CONSTRAINT submissions_state_check;
ALTER TABLE submissions
    ADD CONSTRAINT submissions_state_check
        CHECK (state IN ('pending', 'uploading', 'reconciling', 'uploaded', 'failed')),
    ADD COLUMN country          text,
    ADD COLUMN version          integer,      -- stream version the outcome is appended after
    ADD COLUMN causation_id     text,         -- event id of the submit.<cc> message
    ADD COLUMN attempts         integer NOT NULL DEFAULT 0,   -- uploads sent
    ADD COLUMN next_attempt_at  timestamptz,  -- NULL once final; a claim pushes it by a lease
    ADD COLUMN uncertain_since  timestamptz,  -- start of the first upload whose answer was lost
    ADD COLUMN reconcile_until  timestamptz,  -- after this, an unfound upload is taken as lost
    ADD COLUMN gov_session      text,         -- KSeF: the online session the upload went in
    ADD COLUMN last_error       text;
CREATE INDEX submissions_due ON submissions (country, next_attempt_at)
    WHERE next_attempt_at IS NOT NULL;
-- One government message belongs to one invoice, however reconciliation found it.
CREATE UNIQUE INDEX submissions_upload ON submissions (connection_id, upload_id)
    WHERE upload_id IS NOT NULL;

-- Every call made to a government for an invoice: what the final event's `attempts` shows.
CREATE TABLE gov_calls (
    id           bigserial PRIMARY KEY,
    invoice_id   text NOT NULL REFERENCES invoices(id),
    stage        text NOT NULL CHECK (stage IN ('submission', 'status')),
    endpoint     text NOT NULL,
    http_status  integer,                     -- NULL: no answer (refused, timed out)
    duration_ms  integer NOT NULL,
    outcome      text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX gov_calls_invoice ON gov_calls (invoice_id, stage, id);

-- Token buckets shared by every replica (e.g. ANAF's 1000 calls a minute).
CREATE TABLE rate_buckets (
    key          text PRIMARY KEY,
    tokens       double precision NOT NULL,
    refilled_at  timestamptz NOT NULL
);

-- Daily quotas counted per government calendar day (e.g. stareMesaj: 100 a message a day).
CREATE TABLE rate_counters (
    key    text NOT NULL,
    day    date NOT NULL,
    count  integer NOT NULL,
    PRIMARY KEY (key, day)
);

-- What reconciliation learned about a message in ANAF's list, so it is downloaded once only
-- (descarcare allows 10 a message a day, and the poller needs them too).
CREATE TABLE anaf_message_fingerprints (
    download_id      text PRIMARY KEY,
    upload_id        text NOT NULL,
    cif              text NOT NULL,
    document_sha256  text,
    invoice_number   text,
    issue_date       text,
    created_at       timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE status_polls
    ADD COLUMN country      text NOT NULL DEFAULT 'RO',
    ADD COLUMN deadline_at  timestamptz,     -- no decision by then: the invoice goes to `error`
    ADD COLUMN last_answer  text,
    ADD COLUMN created_at   timestamptz NOT NULL DEFAULT now();

ALTER TABLE gov_receipts
    ADD COLUMN content_type  text NOT NULL DEFAULT 'application/zip',
    ADD COLUMN file_name     text;

-- X-Clearway-Sandbox-Scenario of the request (sandbox keys only).
ALTER TABLE invoices ADD COLUMN sandbox_scenario text;
