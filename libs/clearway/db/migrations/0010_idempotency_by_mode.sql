-- An idempotency key belongs to the mode of the key that used it, as its invoice does: a
-- platform that tried its order numbers as keys in the sandbox must not have its live
-- requests answered with the sandbox's invoices (and never filed). Existing keys take their
-- invoice's mode.
ALTER TABLE idempotency_keys ADD COLUMN livemode boolean NOT NULL DEFAULT false;
UPDATE idempotency_keys k SET livemode = i.livemode FROM invoices i WHERE i.id = k.invoice_id;
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey;
ALTER TABLE idempotency_keys ADD PRIMARY KEY (account_id, livemode, key);
