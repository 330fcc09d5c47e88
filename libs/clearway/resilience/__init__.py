"""Calling governments that are slow, quota-limited and sometimes down: backoff with jitter,
circuit breakers, and rate limits shared by every replica through PostgreSQL."""
