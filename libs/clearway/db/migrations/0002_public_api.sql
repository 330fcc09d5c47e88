-- The complete public API: company details and network identifiers, soft-deleted companies,
-- per-account limits, invoice type and metadata.
ALTER TABLE companies
    ADD COLUMN address     jsonb,
    ADD COLUMN peppol_id   text,
    ADD COLUMN sdi_code    text,
    ADD COLUMN siret       text,
    ADD COLUMN leitweg_id  text,
    ADD COLUMN deleted_at  timestamptz;

ALTER TABLE accounts
    -- NULL: no monthly quota (self-hosted and dev accounts); hosted sandbox accounts get 50.
    ADD COLUMN monthly_invoice_limit  integer,
    -- NULL: the deployment's default rate limit per API key.
    ADD COLUMN rate_limit_per_second  numeric;

ALTER TABLE invoices
    ADD COLUMN invoice_type  text NOT NULL DEFAULT 'invoice',
    ADD COLUMN metadata      jsonb NOT NULL DEFAULT '{}';

CREATE INDEX invoices_metadata ON invoices USING gin (metadata jsonb_path_ops);
CREATE INDEX invoices_account_month ON invoices (account_id, created_at);

-- Totals of any size the request schema allows are recorded; the validator judges them.
ALTER TABLE invoices
    ALTER COLUMN net_amount TYPE numeric,
    ALTER COLUMN vat_amount TYPE numeric,
    ALTER COLUMN gross_amount TYPE numeric;
