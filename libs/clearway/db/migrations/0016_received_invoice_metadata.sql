-- A platform's own tags on a received invoice (PATCH /v1/received-invoices/{id}: its booking id,
-- say), found again with GET /v1/received-invoices?metadata[key]=value as invoices' are.
ALTER TABLE received_invoices ADD COLUMN metadata jsonb NOT NULL DEFAULT '{}';
CREATE INDEX received_invoices_metadata ON received_invoices USING gin (metadata jsonb_path_ops);
