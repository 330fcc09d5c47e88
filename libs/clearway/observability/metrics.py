"""Every Prometheus figure Clearway exports, named once here.

Services record into the process's default registry; each serves it at /metrics. The
dashboards and alert rules in deploy/ use these names (tests check them against a live
/metrics), so a rename here is a rename there.

Labels stay low in cardinality: stage, country, endpoint, outcome, never an invoice, account
or tax id.
"""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

# Seconds: from a few milliseconds (a validation) to minutes (a government's decision).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800)

STAGE_MESSAGES = Counter(
    "clearway_stage_messages",
    "Messages a stage handled, by outcome: processed, failed (retried) or dead_lettered.",
    ["stage", "topic", "country", "outcome"],
)
STAGE_DURATION = Histogram(
    "clearway_stage_duration_seconds",
    "Time a stage's handler took for one message.",
    ["stage", "country"],
    buckets=LATENCY_BUCKETS,
)
STAGE_QUEUE_DELAY = Histogram(
    "clearway_stage_queue_delay_seconds",
    "From the event being recorded to a stage starting on it: where invoices wait.",
    ["stage", "country"],
    buckets=LATENCY_BUCKETS,
)
CONSUMER_LAG = Gauge(
    "clearway_consumer_lag_messages",
    "Messages in a partition not yet consumed by this process's consumer group.",
    ["group", "topic", "partition"],
)
DEAD_LETTERED = Counter(
    "clearway_dead_lettered_messages",
    "Messages this process sent to a dead-letter topic.",
    ["topic"],
)
DLQ_DEPTH = Gauge(
    "clearway_dlq_depth_messages",
    "Messages held in each dead-letter topic (all partitions), as the broker reports it.",
    ["topic"],
)
GOVERNMENT_CALL_DURATION = Histogram(
    "clearway_government_call_duration_seconds",
    "Calls to a government system, by country, endpoint and HTTP status (or the transport "
    "failure: connect_error, timeout, connection_lost).",
    ["country", "endpoint", "status"],
    buckets=LATENCY_BUCKETS,
)
RATE_LIMIT_WAIT = Histogram(
    "clearway_rate_limit_wait_seconds",
    "Pauses imposed by a shared rate limit before a government call.",
    ["limit"],
    buckets=LATENCY_BUCKETS,
)
DAILY_QUOTA_EXHAUSTED = Counter(
    "clearway_daily_quota_exhausted",
    "Calls held back to the next day because a government's daily quota was used up.",
    ["limit"],
)
RETRIES = Counter(
    "clearway_retries",
    "Government work scheduled again after a failure, by stage, country and reason.",
    ["stage", "country", "reason"],
)
INVOICES_RECEIVED = Counter(
    "clearway_invoices_received",
    "Purchase invoices received from a government (each government id once), by country.",
    ["country"],
)
INVOICE_DECISIONS = Counter(
    "clearway_invoice_decisions",
    "Invoices that reached a final status, by country and status.",
    ["country", "status"],
)
TIME_TO_DECISION = Histogram(
    "clearway_invoice_time_to_decision_seconds",
    "From intake to a final status.",
    ["country", "status"],
    buckets=LATENCY_BUCKETS,
)
WEBHOOK_DELIVERIES = Counter(
    "clearway_webhook_deliveries",
    "Webhook delivery attempts, by outcome: delivered, retry, dead, disabled.",
    ["outcome"],
)
WEBHOOK_DELIVERY_DURATION = Histogram(
    "clearway_webhook_delivery_duration_seconds",
    "Time a customer's endpoint took to answer one delivery.",
    ["outcome"],
    buckets=LATENCY_BUCKETS,
)
TOKEN_EXPIRY_HORIZON = Gauge(
    "clearway_connection_token_expiry_horizon_seconds",
    "Seconds until the earliest expiry of an active connection's credentials, per country "
    "(negative: already expired).",
    ["country"],
)
HTTP_REQUESTS = Counter(
    "clearway_http_requests",
    "HTTP requests served, by method, route template and status.",
    ["service", "method", "route", "status"],
)
HTTP_REQUEST_DURATION = Histogram(
    "clearway_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template.",
    ["service", "method", "route"],
    buckets=LATENCY_BUCKETS,
)
OUTBOX_PUBLISHED = Counter(
    "clearway_outbox_published_messages",
    "Events the outbox relay of this process published to Kafka.",
)


def registry() -> CollectorRegistry:
    """The registry every figure above lives in (and FastStream's middleware records into)."""
    return REGISTRY
