"""Webhooks: what Clearway sends to the endpoints an account registers, and the rules it keeps.

The pieces here are pure (no I/O) except `store`: the payload of each event (`events`), the
Standard Webhooks signature (`signing`), the retry schedule (`retry`), which addresses may be
called (`addresses`) and the delivery settings (`settings`, from clearway.config). The intake API
and the webhook-dispatcher service wire them to PostgreSQL and HTTP.
"""
