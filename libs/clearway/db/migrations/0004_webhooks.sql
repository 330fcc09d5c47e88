-- Webhooks: the endpoints an account registers, their signing secrets, one delivery per event
-- and endpoint (the durable retry schedule), and every attempt made.
CREATE TABLE webhook_endpoints (
    id               text PRIMARY KEY,
    account_id       text NOT NULL REFERENCES accounts(id),
    livemode         boolean NOT NULL,           -- the mode of the key that created it
    url              text NOT NULL,
    description      text,
    enabled_events   text[] NOT NULL,            -- event types, or {'*'}
    disabled_at      timestamptz,
    disabled_reason  text,
    failing_since    timestamptz,                -- first failure since the last success
    last_claimed_at  timestamptz,                -- round-robin among endpoints with due work
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_account ON webhook_endpoints (account_id, created_at);

-- The signing secrets must stay usable (the dispatcher signs with them), so they are sealed,
-- not hashed: AES-256-GCM under a data key per secret, wrapped by a master key
-- (clearway.security.envelope). Never returned after the answer that created them. Several are
-- live during a rotation; expires_at NULL is the current one.
CREATE TABLE webhook_secrets (
    id             text PRIMARY KEY,
    endpoint_id    text NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    master_key_id  text NOT NULL,
    wrapped_key    bytea NOT NULL,
    ciphertext     bytea NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz
);
CREATE INDEX webhook_secrets_endpoint ON webhook_secrets (endpoint_id, created_at DESC);

CREATE TABLE webhook_deliveries (
    id               text PRIMARY KEY,
    endpoint_id      text NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    event_id         text NOT NULL,
    webhook_id       text NOT NULL,              -- the webhook-id header: same on every attempt
    event_type       text NOT NULL,
    stream_id        text,                       -- the invoice: its events go out in version order
    stream_version   integer,
    body             text NOT NULL,              -- the exact JSON sent (and signed) every time
    state            text NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    lease_expires_at timestamptz,                -- set while an attempt is in flight
    lease_token      text,
    replay           boolean NOT NULL DEFAULT false,  -- a manual retry: one attempt, no schedule
    created_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_leased
    ON webhook_deliveries (endpoint_id) WHERE lease_expires_at IS NOT NULL;
CREATE INDEX webhook_deliveries_endpoint_due
    ON webhook_deliveries (endpoint_id, next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_stream
    ON webhook_deliveries (stream_id, endpoint_id, stream_version)
    WHERE state = 'pending' AND stream_id IS NOT NULL;
CREATE INDEX webhook_deliveries_listing ON webhook_deliveries (endpoint_id, created_at DESC, id DESC);

CREATE TABLE webhook_attempts (
    id             bigserial PRIMARY KEY,
    delivery_id    text NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    attempted_at   timestamptz NOT NULL,
    http_status    integer,
    duration_ms    integer NOT NULL,
    error          text,
    response_body  text,                         -- the first KiB of the answer
    next_retry_at  timestamptz                   -- NULL: delivered, or no retry left
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, attempted_at);
