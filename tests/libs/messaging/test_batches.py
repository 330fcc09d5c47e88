"""The batched consumer (subscribe_message_batches) on a real broker, its handler writing to real
PostgreSQL (store_db) in one transaction per batch: messages that were waiting come as one
batch; a poison message (and a body that is no message) goes to `<topic>.dlq` alone while the
rest of its batch is recorded, and once however often its batch comes; a handler that keeps
failing has its batch delivered again (one by one once a message failed), and every message's
effect is recorded once; per key, effects are recorded in the order the
messages were produced."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from clearway.messaging import PoisonMessageError, build_broker
from clearway.messaging.batches import Delivered, subscribe_message_batches
from clearway.messaging.topics import dlq_topic
from pydantic import BaseModel

from tests.services.kafka_support import create_topic_with_dlq, produce, read_json_from_start

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

KEYS = ("key-a", "key-b", "key-c")


class Numbered(BaseModel):
    """A test message: the n-th of its key; `poison` can never be handled, `flaky` fails the
    first `flaky` times it is tried."""

    key: str
    n: int
    poison: bool = False
    flaky: int = 0


@pytest_asyncio.fixture
async def topic(kafka_bootstrap: str, store_db: asyncpg.Pool[Any]) -> AsyncIterator[str]:
    """A topic (and its dead-letter topic) of this test's own, and a table for the effects."""
    name = f"batch-test-{secrets.token_hex(4)}"
    await create_topic_with_dlq(kafka_bootstrap, name, 4)
    await store_db.execute(
        "CREATE TABLE IF NOT EXISTS batch_test_effects "
        "(topic text, key text, n int, id bigserial, PRIMARY KEY (topic, key, n))"
    )
    yield name


class Recorder:
    """The batch handler under test: records each message's effect (idempotently: the
    primary key) in one transaction per batch, and what it was given."""

    def __init__(self, pool: asyncpg.Pool[Any], topic: str) -> None:
        self.pool = pool
        self.topic = topic
        self.batch_sizes: list[int] = []
        self.batches: list[list[tuple[str, int]]] = []
        self.tries: dict[tuple[str, int], int] = {}

    async def handle(self, batch: Sequence[Delivered[Numbered]]) -> None:
        self.batch_sizes.append(len(batch))
        self.batches.append([(d.message.key, d.message.n) for d in batch])
        async with self.pool.acquire() as conn, conn.transaction():
            for delivered in batch:
                message = delivered.message
                tried = self.tries.get((message.key, message.n), 0) + 1
                self.tries[(message.key, message.n)] = tried
                if message.poison:
                    raise PoisonMessageError(f"{message.key}/{message.n} is poison")
                if tried <= message.flaky:
                    raise RuntimeError(f"{message.key}/{message.n} failed (try {tried})")
                await conn.execute(
                    "INSERT INTO batch_test_effects (topic, key, n) VALUES ($1, $2, $3) "
                    "ON CONFLICT DO NOTHING",
                    self.topic,
                    message.key,
                    message.n,
                )

    async def effects(self) -> list[tuple[str, int]]:
        rows = await self.pool.fetch(
            "SELECT key, n FROM batch_test_effects WHERE topic = $1 ORDER BY id", self.topic
        )
        return [(row["key"], row["n"]) for row in rows]


async def _consume_until(
    bootstrap: str, topic: str, recorder: Recorder, expected: int, timeout: float = 60
) -> list[tuple[str, int]]:
    """Run a consumer group on `topic` with the recorder until `expected` effects are there."""
    broker = build_broker(bootstrap, client_id="batch-test")
    subscribe_message_batches(
        broker, topic, group_id=f"{topic}-group", model=Numbered, handle=recorder.handle
    )
    await broker.start()
    try:
        deadline = time.monotonic() + timeout
        while len(effects := await recorder.effects()) < expected:
            assert time.monotonic() < deadline, f"only {effects} recorded"
            await asyncio.sleep(0.2)
        await asyncio.sleep(1)  # anything more (a second effect) would show by now
        return await recorder.effects()
    finally:
        await broker.stop()


def _body(message: Numbered) -> bytes:
    return message.model_dump_json().encode()


async def _dead_lettered(
    bootstrap: str, topic: str, count: int, timeout: float = 20
) -> list[dict[str, Any]]:
    return await read_json_from_start(bootstrap, dlq_topic(topic), count, timeout=timeout)


async def test_a_poison_message_is_dead_lettered_alone_and_its_batch_recorded(
    store_db: asyncpg.Pool[Any], kafka_bootstrap: str, topic: str
) -> None:
    messages = [
        Numbered(key=key, n=n, poison=(key, n) == ("key-b", 2)) for key in KEYS for n in range(5)
    ]
    # All produced before the group starts: they wait, and come in batches of many.
    await produce(
        kafka_bootstrap,
        topic,
        [
            *((m.key, _body(m), []) for m in messages),
            ("key-c", b"not a message", []),
        ],
    )
    recorder = Recorder(store_db, topic)

    effects = await _consume_until(kafka_bootstrap, topic, recorder, len(messages) - 1)

    assert sorted(effects) == sorted((m.key, m.n) for m in messages if not m.poison)
    assert max(recorder.batch_sizes) > 1
    dead = await _dead_lettered(kafka_bootstrap, topic, 2)
    assert sorted(d["body"] for d in dead) == sorted(["not a message", _body(messages[7]).decode()])
    assert all(d["topic"] == topic and d["reason"] for d in dead)
    for key in KEYS:  # each key's effects in the order its messages were produced
        assert [n for k, n in effects if k == key] == sorted(n for k, n in effects if k == key)


async def test_a_failing_batch_comes_again_and_every_effect_is_recorded_once(
    store_db: asyncpg.Pool[Any], kafka_bootstrap: str, topic: str
) -> None:
    # key-a/3 fails in its batch and on its own try (a fault that outlives the batch): the
    # batch is not acknowledged and comes again, its messages already recorded coming too.
    messages = [
        Numbered(key=key, n=n, flaky=2 if (key, n) == ("key-a", 3) else 0)
        for key in KEYS
        for n in range(6)
    ]
    await produce(kafka_bootstrap, topic, [(m.key, _body(m), []) for m in messages])
    recorder = Recorder(store_db, topic)

    effects = await _consume_until(kafka_bootstrap, topic, recorder, len(messages))

    assert sorted(effects) == sorted((m.key, m.n) for m in messages)  # each once
    assert recorder.tries[("key-a", 3)] == 3
    # Redelivered: the messages of key-a/3's batch before it came (and were tried) again.
    assert recorder.tries[("key-a", 0)] > 1
    # Whole once: once key-a/3 had failed, its redelivered batch came one message at a time.
    assert sum(1 for b in recorder.batches if ("key-a", 3) in b and len(b) > 1) == 1
    # Nothing is dead-lettered: a copy would have been sent before the effects were recorded.
    assert await _dead_lettered(kafka_bootstrap, topic, 1, timeout=5) == []
    for key in KEYS:
        assert [n for k, n in effects if k == key] == list(range(6))


async def test_a_dead_lettered_message_is_copied_once_however_often_its_batch_comes(
    store_db: asyncpg.Pool[Any], kafka_bootstrap: str, topic: str
) -> None:
    # key-a/1 is poison and key-a/3 fails twice after it: key-a/3's batch comes again (key-a/1
    # with it) until key-a/3 is recorded; key-a/1 goes to the DLQ once, as the body that is no
    # message does.
    messages = [
        Numbered(key="key-a", n=n, poison=n == 1, flaky=2 if n == 3 else 0) for n in range(5)
    ]
    await produce(
        kafka_bootstrap,
        topic,
        [
            *(("key-a", _body(m), []) for m in messages[:2]),
            ("key-a", b"not a message", []),
            *(("key-a", _body(m), []) for m in messages[2:]),
        ],
    )
    recorder = Recorder(store_db, topic)

    effects = await _consume_until(kafka_bootstrap, topic, recorder, len(messages) - 1)

    assert effects == [("key-a", n) for n in (0, 2, 3, 4)]
    assert recorder.tries[("key-a", 3)] == 3
    assert recorder.tries[("key-a", 1)] > 1  # it came again with its batch
    # Read until more than the two copies show up, or for a while: only two ever do.
    dead = await _dead_lettered(kafka_bootstrap, topic, 3, timeout=5)
    assert sorted(d["body"] for d in dead) == sorted(["not a message", _body(messages[1]).decode()])
