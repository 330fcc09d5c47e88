-- Accounts, keys, companies and connections: the minimum the walking skeleton needs.
CREATE TABLE accounts (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    id          text PRIMARY KEY,
    account_id  text NOT NULL REFERENCES accounts(id),
    key_hash    text NOT NULL UNIQUE,          -- sha256 of the key; the key itself is never stored
    mode        text NOT NULL CHECK (mode IN ('test', 'live')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

CREATE TABLE companies (
    id              text PRIMARY KEY,
    account_id      text NOT NULL REFERENCES accounts(id),
    legal_name      text NOT NULL,
    vat_number      text NOT NULL,
    country         text NOT NULL,
    trade_register  text,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX companies_account ON companies (account_id, country);

CREATE TABLE connections (
    id                text PRIMARY KEY,
    account_id        text NOT NULL REFERENCES accounts(id),
    company_id        text NOT NULL REFERENCES companies(id),
    country           text NOT NULL,
    status            text NOT NULL,
    access_token      text,
    refresh_token     text,
    token_expires_at  timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX connections_company ON connections (company_id, country, status);

-- The invoice read model: what GET /v1/invoices serves. Updated in the same transaction as
-- every event appended to the invoice's stream; `version` is the stream's last version.
CREATE TABLE invoices (
    id                text PRIMARY KEY,
    account_id        text NOT NULL REFERENCES accounts(id),
    company_id        text REFERENCES companies(id),
    livemode          boolean NOT NULL,
    country           text NOT NULL,
    status            text NOT NULL,
    version           integer NOT NULL,
    supplier_vat      text NOT NULL,
    customer_vat      text NOT NULL,
    net_amount        numeric(21, 2) NOT NULL,
    vat_amount        numeric(21, 2) NOT NULL,
    gross_amount      numeric(21, 2) NOT NULL,
    currency          text NOT NULL,
    gov_id            text,
    external_id       text,
    error_message     text,
    error_translated  text,
    error_fix         text,
    request           jsonb NOT NULL,          -- the validated request body, the pipeline's input
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL
);
CREATE INDEX invoices_account_created ON invoices (account_id, created_at DESC, id DESC);
CREATE INDEX invoices_nonfinal ON invoices (status) WHERE status NOT IN ('accepted', 'rejected', 'error');

-- The event store: one stream per invoice. The primary key turns two writers of the same
-- version into a clean conflict; causation_id lets a redelivered message be recognised.
CREATE TABLE events (
    stream_id     text NOT NULL,
    version       integer NOT NULL CHECK (version > 0),
    id            text NOT NULL UNIQUE,
    type          text NOT NULL,
    status        text NOT NULL,
    metadata      jsonb,
    causation_id  text,
    trace_id      text,
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (stream_id, version)
);

-- Transactional outbox: messages are written with the event and published by a relay after
-- commit, so a crash between the two loses nothing (the relay re-publishes; consumers dedupe).
CREATE TABLE outbox (
    id          bigserial PRIMARY KEY,
    topic       text NOT NULL,
    key         text NOT NULL,
    payload     jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE idempotency_keys (
    account_id    text NOT NULL REFERENCES accounts(id),
    key           text NOT NULL,
    request_hash  text NOT NULL,
    invoice_id    text NOT NULL REFERENCES invoices(id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, key)
);

-- The legal XML the converter produced, and the gate's verdict on it.
CREATE TABLE documents (
    invoice_id  text PRIMARY KEY REFERENCES invoices(id),
    format      text NOT NULL,
    xml         bytea NOT NULL,
    warnings    jsonb NOT NULL DEFAULT '[]',
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per invoice handed to a government: written BEFORE the upload, so that a crash
-- after the upload can never lead to a silent second filing.
CREATE TABLE submissions (
    invoice_id     text PRIMARY KEY REFERENCES invoices(id),
    connection_id  text NOT NULL REFERENCES connections(id),
    state          text NOT NULL CHECK (state IN ('uploading', 'uploaded', 'failed')),
    upload_id      text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- The poller's durable schedule: a row per submitted invoice until the government decides.
CREATE TABLE status_polls (
    invoice_id     text PRIMARY KEY REFERENCES invoices(id),
    connection_id  text NOT NULL REFERENCES connections(id),
    upload_id      text NOT NULL,
    version        integer NOT NULL,           -- the stream version of invoice.submitted
    attempts       integer NOT NULL DEFAULT 0,
    next_poll_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX status_polls_due ON status_polls (next_poll_at);

-- What the government gave back: the signed ZIP (accepted) or the error report (rejected).
CREATE TABLE gov_receipts (
    invoice_id   text PRIMARY KEY REFERENCES invoices(id),
    download_id  text NOT NULL,
    content      bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
