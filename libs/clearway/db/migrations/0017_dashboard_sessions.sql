-- The dashboard's signed-in browsers (docs/dashboard.md). The browser's cookie holds a random
-- session id, kept here as its SHA-256 only: a read of this table gives no usable cookie. The
-- API key the session acts with is sealed like a connection's secrets (nonce || AES-256-GCM
-- under a data key wrapped by a master key). Sign-out deletes the row; a row whose key is
-- revoked, or past expires_at, opens as no session.
CREATE TABLE dashboard_sessions (
    id_hash        text PRIMARY KEY,
    key_id         text NOT NULL REFERENCES api_keys(id),
    csrf_token     text NOT NULL,
    master_key_id  text NOT NULL,
    wrapped_key    bytea NOT NULL,
    ciphertext     bytea NOT NULL,
    expires_at     timestamptz NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dashboard_sessions_expiry ON dashboard_sessions (expires_at);
