"""Which product files one RO invoice's path calls into: see README.md in this folder.

Run from this repository's root (the checkout to measure may be another one):

    .venv/bin/python -m services.stack.measure_path measure --checkout <checkout> --out <dir>

It starts that checkout's stack (`python -m services.stack run`) with hook/ on PYTHONPATH, waits
until it is idle, and records three windows in every hooked process (all but the launcher and
the simulator): `idle` (nothing sent, --idle-seconds), `cold` (the first RO invoice, from
POST /v1/invoices to accepted and its webhook delivered) and `warm` (a second RO invoice, the
same way). Each window's raw dumps land in <out>/<window>/; analyse.py counts them.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

from services.stack.infra import free_port

HOOK_DIR = Path(__file__).resolve().parent / "hook"
SKIP = "services.stack,services.govsim"  # the dev launcher and the simulator: not the product
DESCRIPTION = "Which product files one RO invoice's path calls into."


class Hooks:
    """The window control: every hooked process has written <pid>.hooked into the current dir."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.current = root / "startup"
        self.current.mkdir(parents=True, exist_ok=True)

    def pids(self) -> list[int]:
        alive = []
        for marker in self.root.glob("pids/*.hooked"):
            pid = int(marker.stem)
            if Path(f"/proc/{pid}").exists():
                alive.append(pid)
        return alive

    def send(self, signum: int) -> list[int]:
        pids = self.pids()
        for pid in pids:
            os.kill(pid, signum)
        return pids

    def begin(self) -> None:
        self.send(signal.SIGUSR1)
        time.sleep(0.3)  # each process handles it between two bytecodes of its main thread

    def end(self, window: str) -> None:
        out = self.root / window
        out.mkdir(parents=True, exist_ok=True)
        # The hook writes where MEASURE_PATH_DIR points; a symlink moves it per window.
        link = self.root / "current"
        tmp = self.root / "current.new"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(out.name)
        tmp.replace(link)
        pids = self.send(signal.SIGUSR2)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            done = {int(p.name.split(".")[0]) for p in out.glob("*.tsv")}
            if set(pids) <= done:
                return
            time.sleep(0.2)
        raise TimeoutError(f"{window}: no dump from {sorted(set(pids) - done)}")


class Webhooks(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []
    lock: ClassVar[threading.Lock] = threading.Lock()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        with self.lock:
            self.received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def call(
    method: str, url: str, key: str, body: dict[str, Any] | None = None, **headers: str
) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 - our own local stack
        url,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json", **headers},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
        document: dict[str, Any] = json.loads(answer.read())
    return document


def send_invoice(api: str, key: str, fixture: Path, external_id: str) -> tuple[float, str]:
    """POST one RO invoice; wait until it is accepted and its invoice.accepted was delivered."""
    invoice = json.loads(fixture.read_text())
    invoice["externalId"] = external_id
    start = time.monotonic()
    created = call("POST", f"{api}/v1/invoices", key, invoice, **{"X-Idempotency-Key": external_id})
    invoice_id = created["data"]["id"]
    deadline = start + 120
    while time.monotonic() < deadline:
        status = call("GET", f"{api}/v1/invoices/{invoice_id}", key)["data"]["status"]
        if status in {"rejected", "error"}:
            raise RuntimeError(f"{invoice_id} ended {status}")
        with Webhooks.lock:
            delivered = any(
                w["type"] == "invoice.accepted" and w["data"]["invoiceId"] == invoice_id
                for w in Webhooks.received
            )
        if status == "accepted" and delivered:
            return time.monotonic() - start, invoice_id
        time.sleep(0.1)
    raise TimeoutError(f"{invoice_id} not accepted and delivered within 120 s")


def main(argv: list[str] | None = None) -> int:  # noqa: PLR0915 - one run, step by step
    parser = argparse.ArgumentParser(
        prog="python -m services.stack.measure_path measure", description=DESCRIPTION
    )
    parser.add_argument("--checkout", type=Path, required=True, help="the repository to measure")
    parser.add_argument("--out", type=Path, required=True, help="an empty folder for the dumps")
    parser.add_argument("--settle-seconds", type=float, default=20.0)
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--after-delivery", type=float, default=2.0)
    args = parser.parse_args(argv)
    checkout = args.checkout.resolve()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=False)
    hooks = Hooks(out)
    (out / "pids").mkdir()
    (out / "current").symlink_to("startup")

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Webhooks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    webhook_url = f"http://127.0.0.1:{server.server_address[1]}/hook"

    env = {
        **os.environ,
        # The checkout itself too: `services` is not always an installed package, and the
        # launcher runs in the output folder (a fresh .state each run), not in the checkout.
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(HOOK_DIR), str(checkout), os.environ.get("PYTHONPATH")])
        ),
        "MEASURE_PATH_DIR": str(out / "current"),
        "MEASURE_PATH_PIDS": str(out / "pids"),
        "MEASURE_PATH_SKIP": SKIP,
        "CLEARWAY_API_PORT": str(free_port()),
    }
    python = checkout / ".venv" / "bin" / "python"
    log = (out / "stack.out").open("w")
    stack = subprocess.Popen(  # noqa: S603 - the checkout's own launcher
        [str(python), "-m", "services.stack", "run"],
        cwd=out,  # its .state (database, logs) under the output folder
        env=env,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    summary: dict[str, object] = {"checkout": str(checkout)}
    try:
        head = subprocess.run(  # noqa: S603
            ["git", "-C", str(checkout), "rev-parse", "HEAD"],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
        )
        summary["commit"] = head.stdout.strip()
        lines: dict[str, str] = {}
        assert stack.stdout is not None
        for line in stack.stdout:
            log.write(line)
            log.flush()
            label, _, value = line.partition(": ")
            lines[label] = value.strip()
            if "Government simulators" in lines:
                break
        else:
            raise RuntimeError(f"the stack stopped before it was up; see {out / 'stack.out'}")
        api, key = lines["API"], lines["Sandbox API key"]
        call(
            "POST",
            f"{api}/v1/webhook-endpoints",
            key,
            {"url": webhook_url, "enabledEvents": ["*"], "description": "measure_path"},
        )
        time.sleep(args.settle_seconds)
        summary["hooked_processes"] = len(hooks.pids())

        hooks.begin()
        time.sleep(args.idle_seconds)
        hooks.end("idle")
        summary["idle_seconds"] = args.idle_seconds

        fixture = checkout / "tests" / "fixtures" / "seed_ro_invoice.json"
        for window in ("cold", "warm"):
            hooks.begin()
            external_id = f"measure-path-{window}-{time.time()}"
            took, invoice_id = send_invoice(api, key, fixture, external_id)
            time.sleep(args.after_delivery)  # the dispatcher records the delivery after the 200
            hooks.end(window)
            summary[window] = {"invoice": invoice_id, "seconds": round(took, 2)}
            print(f"{window}: {invoice_id} accepted and delivered in {took:.1f} s", flush=True)
    finally:
        stack.send_signal(signal.SIGINT)  # the launcher stops its children, then itself
        try:
            stack.wait(timeout=60)
        except subprocess.TimeoutExpired:
            stack.kill()
            stack.wait()
        server.shutdown()
        leftovers = hooks.pids()
        summary["left_running"] = leftovers
        (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return 1 if leftovers else 0
