"""All of Clearway's SQL: a module per group of tables, each table written by exactly one module.

What one stage needs from another travels in event metadata, not by reading the other stage's
table. OWNERS names the module that writes each table (tests/libs/store/test_ownership.py holds
every INSERT, UPDATE and DELETE in libs/ and services/ to it).
"""

from __future__ import annotations

OWNERS: dict[str, str] = {
    "accounts": "clearway.store.accounts",
    "api_keys": "clearway.store.accounts",
    "companies": "clearway.store.accounts",
    "connections": "clearway.store.connections",
    "connection_secrets": "clearway.store.connections",
    "oauth_states": "clearway.store.connections",
    "documents": "clearway.store.documents",
    "events": "clearway.store.events",
    "idempotency_keys": "clearway.store.idempotency",
    "invoices": "clearway.store.invoices",
    "outbox": "clearway.store.outbox",
    "rate_buckets": "clearway.store.ratelimits",
    "rate_counters": "clearway.store.ratelimits",
    "redrives": "clearway.store.redrives",
    "webhook_endpoints": "clearway.store.webhook_endpoints",
    "webhook_secrets": "clearway.store.webhook_endpoints",
    "webhook_deliveries": "clearway.store.webhook_deliveries",
    "webhook_attempts": "clearway.store.webhook_deliveries",
    # The filing stage's records and the poller's schedule and receipts.
    "submissions": "clearway.store.submissions",
    "gov_calls": "clearway.store.gov_calls",
    "sdi_progressivi": "clearway.store.submissions",
    "anaf_message_fingerprints": "clearway.store.submissions",
    "status_polls": "clearway.store.status_polls",
    "gov_receipts": "clearway.store.gov_receipts",
    # Receiving: the received invoices' read model, the receiver's schedule, the buyer's responses.
    "received_invoices": "clearway.store.received_invoices",
    "inbox_cursors": "clearway.store.inbox_cursors",
    "received_responses": "clearway.store.received_responses",
    # The dashboard's signed-in browsers.
    "dashboard_sessions": "clearway.store.dashboard_sessions",
    # The migration runner's own bookkeeping.
    "schema_migrations": "clearway.db",
}
