-- Connections, complete: setup per country, sender/receiver roles, network identifiers, secrets
-- encrypted at rest, the single-use OAuth state of the ANAF callback, and the token refresher's
-- schedule and lease.

-- Before this migration tokens were stored in plain text. They are dropped, not carried over (SQL
-- has no master key to encrypt them with): a connection that held some must be authorized again.
-- The sandbox dev account reconnects itself at every `make run`.
ALTER TABLE connections ADD COLUMN last_error_message text;
UPDATE connections SET status = 'deleted'
    WHERE status NOT IN ('pending_setup', 'active', 'expired', 'error');
UPDATE connections
    SET status = 'expired',
        last_error_message = 'Clearway now encrypts tokens at rest and dropped the ones stored '
            'before; authorize this connection again (POST /v1/connections).'
    WHERE status = 'active' AND access_token IS NOT NULL;
UPDATE connections SET access_token = NULL, refresh_token = NULL;
ALTER TABLE connections DROP COLUMN access_token, DROP COLUMN refresh_token;

-- One live connection per company and country: older duplicates are retired.
UPDATE connections c SET status = 'deleted'
    WHERE status <> 'deleted'
      AND EXISTS (
          SELECT 1 FROM connections newer
          WHERE newer.company_id = c.company_id AND newer.country = c.country
            AND newer.status <> 'deleted'
            AND (newer.created_at, newer.id) > (c.created_at, c.id)
      );

ALTER TABLE connections
    ADD COLUMN is_sender                 boolean NOT NULL DEFAULT true,
    ADD COLUMN is_receiver               boolean NOT NULL DEFAULT true,
    -- The participant identifier on the country's network (BE/DE Peppol, FR directory):
    -- scheme is the ISO 6523 ICD (0208, 9930, 0002), identifier the value under it.
    ADD COLUMN network_scheme            text,
    ADD COLUMN network_identifier        text,
    ADD COLUMN refresh_token_expires_at  timestamptz,
    -- The token refresher's schedule (NULL: nothing to refresh), and the lease a replica holds
    -- while it refreshes: another replica skips the row until the lease ends, and the owner's
    -- id fences off a replica that outlived its lease.
    ADD COLUMN next_refresh_at           timestamptz,
    ADD COLUMN refresh_lease_until       timestamptz,
    ADD COLUMN refresh_lease_owner       text,
    ADD COLUMN refresh_failures          integer NOT NULL DEFAULT 0,
    ADD COLUMN updated_at                timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN deleted_at                timestamptz,
    ADD CONSTRAINT connections_status
        CHECK (status IN ('pending_setup', 'active', 'expired', 'error', 'deleted')),
    ADD CONSTRAINT connections_role CHECK (is_sender OR is_receiver);

CREATE UNIQUE INDEX connections_one_per_country
    ON connections (company_id, country) WHERE status <> 'deleted';
CREATE INDEX connections_account ON connections (account_id, created_at DESC, id DESC);
CREATE INDEX connections_refresh_due ON connections (next_refresh_at) WHERE status = 'active';
CREATE INDEX status_polls_connection ON status_polls (connection_id);

-- Tokens, refresh tokens, KSeF tokens, certificates and private keys: each sealed with AES-256-GCM
-- under its own data key, the data key wrapped by the master key `master_key_id` (see
-- clearway.security). Deleting a connection deletes its rows.
CREATE TABLE connection_secrets (
    connection_id  text NOT NULL REFERENCES connections(id),
    kind           text NOT NULL CHECK (kind IN
                       ('access_token', 'refresh_token', 'ksef_token', 'certificate', 'private_key')),
    master_key_id  text NOT NULL,
    wrapped_key    bytea NOT NULL,   -- nonce || AES-256-GCM(master key, data key)
    ciphertext     bytea NOT NULL,   -- nonce || AES-256-GCM(data key, secret)
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (connection_id, kind)
);
CREATE INDEX connection_secrets_master_key ON connection_secrets (master_key_id);

-- The pending ANAF authorization of a connection. The state the authorize URL carries is the
-- connection id (as the seed shows); it is accepted once, before expires_at, and only while the
-- connection of that account is waiting for it.
CREATE TABLE oauth_states (
    state          text PRIMARY KEY,
    connection_id  text NOT NULL REFERENCES connections(id),
    account_id     text NOT NULL REFERENCES accounts(id),
    redirect_uri   text NOT NULL,
    expires_at     timestamptz NOT NULL,
    consumed_at    timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now()
);
