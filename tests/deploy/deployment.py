"""What both deployments (docker compose and Kubernetes) must agree on."""

from __future__ import annotations

# The stages that carry most messages run several replicas (issue 8).
BUSY = (
    "validator",
    "converter",
    "submitter_ro",
    "submitter_pl",
    "submitter_fr",
    "poller",
    "webhook_dispatcher",
)
WORKER_METRICS_PORT = 9000
# Inside a container the probes and Prometheus come from outside: loopback would not do.
ALL_INTERFACES = "0.0.0.0"  # noqa: S104
