-- Receiving: the purchase invoices a government delivers to a connected company, and where
-- each receiving connection's next look at its inbox starts.

-- The read model of each received invoice's stream (GET /v1/received-invoices). The original
-- document and the government's evidence are kept byte for byte; the parsed request and the
-- document's stated totals are NULL until the document is read. The government's own id is
-- the key: the same message delivered twice is one row.
CREATE TABLE received_invoices (
    id                   text PRIMARY KEY,
    account_id           text NOT NULL REFERENCES accounts(id),
    livemode             boolean NOT NULL,
    company_id           text NOT NULL REFERENCES companies(id),
    connection_id        text NOT NULL REFERENCES connections(id),
    country              text NOT NULL,
    government_id        text NOT NULL,
    status               text NOT NULL,
    version              integer NOT NULL,
    supplier_vat         text,
    customer_vat         text,
    currency             text,
    net_amount           numeric,
    vat_amount           numeric,
    gross_amount         numeric,
    request              jsonb,
    findings             jsonb NOT NULL DEFAULT '[]',
    document             bytea NOT NULL,
    media_type           text NOT NULL,
    evidence             bytea,
    evidence_media_type  text,
    delivered_at         timestamptz,                -- when the government made it available
    created_at           timestamptz NOT NULL,       -- when Clearway received it
    updated_at           timestamptz NOT NULL,
    -- Per company inbox: a connection made again for the same company sees the same messages.
    UNIQUE (company_id, country, livemode, government_id)
);
CREATE INDEX received_invoices_account_created
    ON received_invoices (account_id, created_at DESC, id DESC);

-- The receiver's durable schedule: a row per receiving connection, made when it is first due.
-- `cursor` is the government's own position (opaque here); a claimed row is leased to one
-- receiver, and the owner's id fences off a receiver that outlived its lease.
CREATE TABLE inbox_cursors (
    connection_id  text PRIMARY KEY REFERENCES connections(id),
    cursor         text,
    next_fetch_at  timestamptz NOT NULL DEFAULT now(),
    lease_until    timestamptz,
    lease_owner    text,
    failures       integer NOT NULL DEFAULT 0,
    last_error     text,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX inbox_cursors_due ON inbox_cursors (next_fetch_at);
