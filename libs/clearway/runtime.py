"""How a worker service runs: settings, pool, broker and outbox relay, then its own handlers.

Handlers are registered by a function given the context, not at import time, so tests and the
entrypoints build the broker after configuring it.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, NoReturn

import asyncpg
import uvicorn
from faststream.asgi import AsgiFastStream
from faststream.kafka import KafkaBroker

from clearway.config import Settings
from clearway.db import create_pool
from clearway.messaging import OutboxRelay, build_broker
from clearway.observability.health import AsgiApp, Checks, observability_routes, service_checks
from clearway.observability.http import server_config
from clearway.observability.lag import track_consumer_lag
from clearway.observability.logs import configure_logging
from clearway.observability.tracing import configure_tracing

# uvicorn's exit status when the application's startup failed.
STARTUP_FAILED = 3


@dataclass
class ServiceContext:
    name: str
    settings: Settings
    pool: asyncpg.Pool[Any]
    broker: KafkaBroker
    relay: OutboxRelay
    background: list[asyncio.Task[None]] = field(default_factory=list)
    started: bool = False


Register = Callable[[ServiceContext], None]
Background = Callable[[ServiceContext], Coroutine[Any, Any, None]]
# A worker's own HTTP routes (beside /metrics, /healthz, /readyz), given its settings and how to
# reach its context once its resources are open.
Routes = Callable[[Settings, Callable[[], ServiceContext]], list[tuple[str, AsgiApp]]]


async def work_in_rounds(
    work_round: Callable[[], Awaitable[object]],
    *,
    pause: float,
    log: logging.Logger,
    failure: str,
) -> NoReturn:
    """A worker's loop: run `work_round` again at once while it finds work (returns something
    true), else after `pause` seconds; a round that fails is logged (`failure`, on the caller's
    logger) and the loop goes on after the pause, as a government or the database may be back
    by then."""
    while True:
        try:
            if await work_round():
                continue
        except Exception:
            log.exception(failure)
        await asyncio.sleep(pause)


def configure_observability(name: str) -> None:
    """JSON logs and tracing for a process named `name` (every service's first step)."""
    configure_logging(name)
    configure_tracing(name)


class _WorkerLife:
    """A worker's resources, opened and closed by the ASGI lifespan in this order."""

    def __init__(
        self, name: str, settings: Settings, register: Register, background: Background | None
    ) -> None:
        self.name = name
        self.settings = settings
        self.register = register
        self.loop_factory = background
        self.broker = build_broker(settings.kafka_bootstrap, client_id=name)
        self.context: ServiceContext | None = None

    async def ready(self) -> Checks | bool:
        if self.context is None or not self.context.started:
            return False
        return await service_checks(self.broker, self.context.pool)

    async def open_resources(self) -> None:
        pool = await create_pool(
            self.settings.database_url, application_name=self.name, **self.settings.pool_options()
        )
        self.context = ServiceContext(
            name=self.name,
            settings=self.settings,
            pool=pool,
            broker=self.broker,
            relay=OutboxRelay(pool, self.broker),
        )
        self.register(self.context)

    async def start_loops(self) -> None:
        context = self.require_context()
        context.relay.start()
        if self.loop_factory is not None:
            task = asyncio.create_task(self.loop_factory(context), name=self.name)
            context.background.append(task)
        context.background.append(asyncio.create_task(track_consumer_lag(self.broker)))
        context.started = True
        logging.getLogger(self.name).info("%s ready", self.name)

    async def stop_loops(self) -> None:
        if self.context is not None:
            for task in self.context.background:
                task.cancel()
            await asyncio.gather(*self.context.background, return_exceptions=True)
            await self.context.relay.stop()

    async def close_pool(self) -> None:
        # After the broker stopped: no handler is still using a connection.
        if self.context is not None:
            await self.context.pool.close()

    def require_context(self) -> ServiceContext:
        if self.context is None:
            raise RuntimeError(f"{self.name} started its loops before opening its resources")
        return self.context


def run_worker(
    name: str,
    register: Register,
    *,
    background: Background | None = None,
    routes: Routes | None = None,
) -> None:
    """Run a Kafka worker until SIGINT/SIGTERM, serving /metrics, /healthz and /readyz, and its
    own `routes`.

    uvicorn runs FastStream's ASGI app: its lifespan starts and stops the broker and the
    resources, and uvicorn handles both signals.
    """
    configure_observability(name)
    settings = Settings.from_env()
    life = _WorkerLife(name, settings, register, background)
    app = AsgiFastStream(
        life.broker,
        asgi_routes=[
            *observability_routes(life.ready),
            *(routes(settings, life.require_context) if routes else []),
        ],
        logger=logging.getLogger("clearway.app"),  # see build_broker
        on_startup=[life.open_resources],
        after_startup=[life.start_loops],
        on_shutdown=[life.stop_loops],
        after_shutdown=[life.close_pool],
    )
    server = uvicorn.Server(
        server_config(
            app,
            host=settings.http_host,
            port=settings.http_port,
            lifespan="on",
            log_config=None,
            access_log=False,
        )
    )
    asyncio.run(server.serve())
    if not server.started:
        sys.exit(STARTUP_FAILED)
