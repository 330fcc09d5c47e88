"""Stream invoices to Clearway over Kafka, and read their outcomes back.

    python examples/intake_producer.py --bootstrap 127.0.0.1:9092 --key sk_test_… --count 10

Each invoice goes to `invoices.intake` (value: the POST /v1/invoices body; headers:
`authorization` and `idempotency-key`; key: your externalId). Outcomes arrive on
`invoice.events`, every lifecycle event carrying your externalId; a refused message is answered
there too, with `event: invoice.error` and the reasons in `metadata.error`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import time
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

FINAL = {"invoice.accepted", "invoice.rejected", "invoice.error"}
EXAMPLE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "seed_ro_invoice.json"


async def main(bootstrap: str, api_key: str, count: int, timeout: float) -> int:
    body = json.loads(EXAMPLE.read_text())
    run = secrets.token_hex(4)
    external_ids = [f"stream-{run}-{n}" for n in range(count)]

    # Start reading first, from the end: we only want the answers to what we send now.
    consumer = AIOKafkaConsumer(
        "invoice.events", bootstrap_servers=bootstrap, auto_offset_reset="latest"
    )
    await consumer.start()
    await consumer.seek_to_end()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for external_id in external_ids:
            await producer.send_and_wait(
                "invoices.intake",
                json.dumps({**body, "externalId": external_id}).encode(),
                key=external_id.encode(),
                headers=[
                    ("authorization", f"Bearer {api_key}".encode()),
                    ("idempotency-key", external_id.encode()),
                ],
            )
        print(f"sent {count} invoices")
        outcomes: dict[str, str] = {}
        deadline = time.monotonic() + timeout
        while len(outcomes) < count and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for record in records:
                    event = json.loads(record.value)
                    if event.get("externalId") in external_ids and event["event"] in FINAL:
                        outcomes[event["externalId"]] = event["event"]
                        print(f"{event['externalId']}: {event['event']} {event.get('invoiceId')}")
    finally:
        await producer.stop()
        await consumer.stop()
    print(f"{len(outcomes)}/{count} final")
    return 0 if len(outcomes) == count else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bootstrap", required=True, help="the Kafka bootstrap address")
    parser.add_argument("--key", required=True, help="your API key")
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args()
    raise SystemExit(asyncio.run(main(args.bootstrap, args.key, args.count, args.timeout)))
