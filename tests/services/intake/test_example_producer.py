"""The Kafka example of docs/api.md works as written against the running stack."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from services.stack.stack import Stack

pytestmark = [pytest.mark.stack, pytest.mark.kafka]

SCRIPT = Path(__file__).resolve().parents[3] / "examples" / "intake_producer.py"


def test_example_producer_streams_invoices_and_reads_their_outcomes(stack: Stack) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--bootstrap",
            stack.kafka_bootstrap,
            "--key",
            stack.api_key,
            "--count",
            "3",
            "--timeout",
            "90",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3/3 final" in done.stdout
    assert done.stdout.count("invoice.accepted") == 3
