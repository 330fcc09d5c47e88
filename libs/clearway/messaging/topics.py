"""Every Kafka topic name, in one place. All topics are keyed by invoice ID (`invoices.received`
by received-invoice ID, `connection.events` by connection ID)."""

from __future__ import annotations

from clearway.domain.invoice import SUPPORTED_COUNTRIES
from clearway.domain.lifecycle import EventType

INVOICES_INTAKE = "invoices.intake"  # platforms stream new invoices here
INVOICE_CREATED = "invoice.created"
INVOICE_VALIDATED = "invoice.validated"
INVOICE_SUBMITTED = "invoice.submitted"
INVOICE_EVENTS = "invoice.events"  # the public stream: every lifecycle event
CONNECTION_EVENTS = "connection.events"
INVOICES_RECEIVED = "invoices.received"  # the public stream of received purchase invoices


def submit_topic(country: str) -> str:
    return f"submit.{country.lower()}"


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


# The stage topic that carries an event to the next service, besides the public stream.
_STAGE_TOPIC: dict[str, str] = {
    EventType.CREATED: INVOICE_CREATED,
    EventType.VALIDATED: INVOICE_VALIDATED,
    EventType.SUBMITTED: INVOICE_SUBMITTED,
}


def topics_for_event(event_type: str) -> list[str]:
    stage = _STAGE_TOPIC.get(event_type)
    return [INVOICE_EVENTS] if stage is None else [stage, INVOICE_EVENTS]


WORK_TOPICS: tuple[str, ...] = (
    INVOICES_INTAKE,
    INVOICE_CREATED,
    INVOICE_VALIDATED,
    INVOICE_SUBMITTED,
    *(submit_topic(cc) for cc in SUPPORTED_COUNTRIES),
)
PUBLIC_TOPICS: tuple[str, ...] = (INVOICE_EVENTS, CONNECTION_EVENTS, INVOICES_RECEIVED)
DLQ_TOPICS: tuple[str, ...] = tuple(dlq_topic(t) for t in (*WORK_TOPICS, *PUBLIC_TOPICS))
ALL_TOPICS: tuple[str, ...] = (*WORK_TOPICS, *PUBLIC_TOPICS, *DLQ_TOPICS)
# Partitions per topic as `clearway setup` creates them: the most consumer replicas per group
# that can share a topic's work (a deployment with more replicas creates more).
TOPIC_PARTITIONS = 4
