-- Tracing through PostgreSQL: every event names the span that recorded it (its trace id was
-- already there), and every row another process picks up later carries the W3C traceparent
-- of the span that wrote it, so that process continues the same trace.
ALTER TABLE events ADD COLUMN span_id text;
CREATE INDEX events_trace_id ON events (trace_id) WHERE trace_id IS NOT NULL;
ALTER TABLE outbox ADD COLUMN traceparent text;
ALTER TABLE submissions ADD COLUMN traceparent text;
ALTER TABLE status_polls ADD COLUMN traceparent text;
ALTER TABLE webhook_deliveries ADD COLUMN traceparent text;
