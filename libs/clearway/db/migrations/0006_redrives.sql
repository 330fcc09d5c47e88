-- The redriver's memory: when it last sent a stalled invoice's message again, per version.
CREATE TABLE redrives (
    invoice_id  text NOT NULL REFERENCES invoices(id),
    version     integer NOT NULL,
    attempts    integer NOT NULL DEFAULT 0,
    next_at     timestamptz NOT NULL,
    PRIMARY KEY (invoice_id, version)
);
