"""The simulators as a process: `python -m services.govsim`, as the stack and the deployments
start it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def test_the_process_serves_and_shuts_down_gracefully_on_sigterm() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "services.govsim", "--host", "127.0.0.1", "--port", str(port)],
        cwd=Path(__file__).resolve().parents[3],
        env={**os.environ, "GOVSIM_ANAF_PROCESSING_DELAY": "0"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "govsim did not start"
                time.sleep(0.1)
        assert health.json() == {"status": "ok"}
        process.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal: "terminated by SIGTERM".
        assert process.wait(timeout=10) == -signal.SIGTERM
    finally:
        if process.poll() is None:
            process.kill()
    _, stderr = process.communicate()
    assert b"Application shutdown complete" in stderr
    assert b"Finished server process" in stderr
