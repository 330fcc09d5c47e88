-- A connection belongs to the mode of the key that made it, like an invoice: a live one holds
-- the government's production tokens and is refreshed there, a sandbox one the simulator's.
-- A company may have one of each per country. Until now every connection used the one set of
-- endpoints the stack points at the simulators: existing ones are sandbox connections.
ALTER TABLE connections ADD COLUMN livemode boolean NOT NULL DEFAULT false;

DROP INDEX connections_one_per_country;
CREATE UNIQUE INDEX connections_one_per_country
    ON connections (company_id, country, livemode) WHERE status <> 'deleted';
