"""The whole of Clearway on one machine: engines, migrations, seed data and every service as its
own process. `make run`, `make test` and `make bench` all start it through here.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
from clearway.accounts import (
    create_account,
    create_active_connection,
    create_api_key,
    create_company,
)
from clearway.db import connect, migrate
from clearway.domain.company import CompanyRequest
from clearway.domain.ids import utcnow
from clearway.domain.invoice import Address
from clearway.messaging import create_topics
from clearway.security import Keyring
from clearway.security.keyfile import SANDBOX_KEY_FILE, load_or_create_key_file
from clearway.store.accounts import company_id_with_vat, first_account_named

from services.stack.infra import (
    Database,
    broker_command,
    free_port,
    provision_database,
    spawn,
    stop_processes,
    wait_for_port,
)
from services.stack.sandbox_seed import connect_sandbox_countries

log = logging.getLogger("clearway.stack")

# The worker services: module and the line each logs once its consumers are running.
WORKERS = (
    "validator",
    "converter",
    "submitter_ro",
    "submitter_pl",
    "submitter_fr",
    "submitter_be",
    "submitter_de",
    "submitter_it",
    "poller",
    "redriver",
    "webhook_dispatcher",
    "token_refresher",
    "receiver",
)
STOP_ORDER = (*WORKERS, "intake", "govsim", "broker")
DEV_ACCOUNT_NAME = "Clearway dev account"
# What the simulated networks (SDI, the Peppol access point) carry when they deliver to the
# receiver; the receiver takes it as a sandbox delivery.
SANDBOX_NETWORK_KEY = "clearway-sandbox-network"
# The seed's supplier (../shared/seeds/001, POST /v1/invoices), so the example needs nothing else.
DEV_COMPANY = CompanyRequest(
    legal_name="TechVision SRL",
    vat_number="RO12345678",
    country="RO",
    address=Address(
        street="Strada Exemplu 42", city="Bucharest", postal_code="010101", country="RO"
    ),
)


@dataclass
class StackConfig:
    state_dir: Path
    database_name: str | None = None  # None: the everyday database (see provision_database)
    own_postgres: bool = False  # an embedded server of its own, which restart_database may crash
    api_port: int = 8080  # `make run`: CLEARWAY_API_PORT, else 8080 (refused when taken)
    anaf_processing_delay: float = 2.0
    poll_interval_initial: float = 1.0
    anaf_requests_per_minute: int = 1000  # ANAF's own global limit
    # Submitters: the first retry's pause (seconds), and how long a lost upload is looked for
    # in ANAF's message list before it is uploaded again; tests shorten both.
    submit_retry_base: float = 2.0
    anaf_reconcile_window: float = 1800.0
    work_lease_seconds: float = 90.0  # a dead submitter's or poller's rows are retaken after it
    redrive_stalled_after: float = 60.0  # seconds an invoice may sit still before it is re-sent
    breaker_reset_seconds: float = 30.0  # a submitter's open circuit breaker; tests shorten it
    # Seconds between the receiver's looks at an inbox (RECEIVE_INTERVAL): short, so a purchase
    # invoice delivered in the sandbox (docs/sandbox.md) shows within seconds. The test stack,
    # with a receiving connection per test company, looks as seldom as production does.
    receive_interval: float = 2.0
    # CLEARWAY_MASTER_KEYS for the services (id=base64, first is current). None: the sandbox
    # key in state_dir/master-keys, made on first start; tests pass a fixed test key.
    master_keys: str | None = field(default=None, repr=False)
    # WEBHOOK_* settings for the services (clearway.webhooks.settings): tests shorten the
    # retry schedule and the timeout. Loopback is always allowed here: receivers run locally.
    webhook_env: dict[str, str] = field(default_factory=dict)
    # Anything else every Clearway process gets (the tests' OTEL_* exporter settings).
    extra_env: dict[str, str] = field(default_factory=dict)
    # The worker services started beside the broker, the simulators and the API: all of them,
    # but tests of the API alone (what intake answers) start none.
    workers: tuple[str, ...] = WORKERS


@dataclass(frozen=True)
class Launch:
    """How a process was started, so it can be started again the same way."""

    command: list[str]
    env: dict[str, str] = field(repr=False)  # holds CLEARWAY_MASTER_KEYS: never printed
    log_path: Path
    port: int  # what answers once it is up
    http: bool = True  # serves /metrics, /healthz and /readyz on `port` (all but the broker)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def again(self, log_name: str) -> Launch:
        """The same process once more on a port of its own: another replica."""
        port = free_port()
        return Launch(
            self.command,
            {**self.env, "CLEARWAY_HTTP_PORT": str(port)},
            self.log_path.with_name(f"{log_name}.log"),
            port,
            self.http,
        )


@dataclass
class Stack:
    config: StackConfig
    database: Database
    api_url: str
    govsim_url: str
    kafka_bootstrap: str
    api_key: str
    account_id: str
    company_id: str
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    launches: dict[str, Launch] = field(default_factory=dict)
    master_keys: str = field(default="", repr=False)  # what the services get; never logged

    async def launch(self, name: str, launch: Launch, *, append: bool = False) -> None:
        """Start a process and wait until it is ready (/readyz answers 200)."""
        self.launches[name] = launch
        process = spawn(launch.command, log_path=launch.log_path, env=launch.env, append=append)
        self.processes[name] = process
        if launch.http:
            await wait_until_ready(f"{launch.base_url}/readyz", process, launch.log_path)
        else:
            await wait_for_port(launch.port)

    @property
    def http_urls(self) -> dict[str, str]:
        """Every process with an HTTP side (all but the broker): its base URL, for /metrics."""
        return {name: launch.base_url for name, launch in self.launches.items() if launch.http}

    async def restart(self, name: str, *, kill: bool = True) -> None:
        """Stop one process (kill -9 by default, as a crash would) and start it again.

        The broker comes back empty (it keeps nothing on disk), so its topics are made again.
        """
        process = self.processes[name]
        if process.poll() is None:
            if kill:
                process.kill()
            else:
                process.terminate()
            await asyncio.to_thread(process.wait)
        await self.launch(name, self.launches[name], append=True)
        if name == "broker":
            await create_topics(self.kafka_bootstrap)

    async def restart_database(self, down_seconds: float) -> None:
        """Crash PostgreSQL and bring it back (an embedded server only: see provision_database)."""
        await asyncio.to_thread(self.database.restart_embedded, down_seconds)

    @property
    def log_dir(self) -> Path:
        return self.config.state_dir / "logs"

    def stop(self) -> None:
        # Workers first, then the API and simulator, the broker last: nothing publishes into a
        # broker that is gone.
        stop_processes([self.processes[name] for name in STOP_ORDER if name in self.processes])
        self.database.stop_embedded()

    async def shutdown(self, *, drop_database: bool) -> None:
        """Stop every process; drop the database first when it was a throwaway one."""
        stop_processes([self.processes[name] for name in STOP_ORDER if name in self.processes])
        try:
            if drop_database:
                await self.database.drop()
        finally:
            self.database.stop_embedded()

    def dead_processes(self) -> list[str]:
        return [name for name, p in self.processes.items() if p.poll() is not None]

    def service_env(self) -> dict[str, str]:
        return {
            "DATABASE_URL": self.database.url,
            "KAFKA_BOOTSTRAP": self.kafka_bootstrap,
            "ANAF_REST_URL": f"{self.govsim_url}/test/FCTEL/rest",
            "ANAF_OAUTH_URL": f"{self.govsim_url}/anaf-oauth2/v1",
            "POLL_INTERVAL_INITIAL": str(self.config.poll_interval_initial),
            "ANAF_CALLS_PER_MINUTE": str(self.config.anaf_requests_per_minute),
            "SUBMIT_RETRY_BASE": str(self.config.submit_retry_base),
            "ANAF_RECONCILE_WINDOW": str(self.config.anaf_reconcile_window),
            "WORK_LEASE_SECONDS": str(self.config.work_lease_seconds),
            "REDRIVE_STALLED_AFTER": str(self.config.redrive_stalled_after),
            "BREAKER_RESET_SECONDS": str(self.config.breaker_reset_seconds),
            "RECEIVE_INTERVAL": str(self.config.receive_interval),
            "CLEARWAY_MASTER_KEYS": self.master_keys,
            "CLEARWAY_NETWORK_KEY_SANDBOX": SANDBOX_NETWORK_KEY,
            "PUBLIC_BASE_URL": self.api_url,
            "KSEF_API_URL": f"{self.govsim_url}/v2",
            "FR_PA_URL": f"{self.govsim_url}/pa",
            "PEPPOL_AP_URL": f"{self.govsim_url}/peppol",
            "ZRE_URL": f"{self.govsim_url}/zre",
            "SDI_URL": f"{self.govsim_url}/sdi",
            "PEPPOL_REGISTRATION_URL": f"{self.govsim_url}/_sim/peppol/participants",
            "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
            **self.config.webhook_env,
            **self.config.extra_env,
        }


async def _connect_ro_sandbox(stack: Stack) -> tuple[str, str, dt.datetime]:
    """Run ANAF's OAuth code flow against the simulator, as a user connecting would."""
    oauth = f"{stack.govsim_url}/anaf-oauth2/v1"
    redirect_uri = f"{stack.api_url}/v1/callbacks/anaf"
    async with httpx.AsyncClient(timeout=10) as http:
        authorize = await http.get(
            f"{oauth}/authorize",
            params={
                "response_type": "code",
                "client_id": "clearway-sandbox",
                "redirect_uri": redirect_uri,
                "state": "dev-seed",
                "token_content_type": "jwt",
            },
        )
        code = parse_qs(urlsplit(authorize.headers["location"]).query)["code"][0]
        token = await http.post(
            f"{oauth}/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "client_id": "clearway-sandbox",
                "client_secret": "clearway-sandbox-secret",
                "redirect_uri": redirect_uri,
            },
        )
        token.raise_for_status()
        body = token.json()
    expires_at = utcnow() + dt.timedelta(seconds=int(body["expires_in"]))
    return body["access_token"], body["refresh_token"], expires_at


async def _seed_dev_account(stack: Stack) -> None:
    """The dev account, a fresh sandbox key, the seed's supplier and an active RO connection."""
    conn = await connect(stack.database.url)
    try:
        async with conn.transaction():
            account_id = await first_account_named(conn, DEV_ACCOUNT_NAME)
            if account_id is None:
                account_id = await create_account(conn, DEV_ACCOUNT_NAME)
            company_id = await company_id_with_vat(conn, account_id, DEV_COMPANY.vat_number)
            if company_id is None:
                company_id = await create_company(conn, account_id, DEV_COMPANY)
            # A fresh sandbox token each start (the simulator keeps no state across restarts),
            # sealed into the company's RO connection like any other.
            access, refresh, expires_at = await _connect_ro_sandbox(stack)
            await create_active_connection(
                conn,
                account_id,
                company_id,
                "RO",
                access_token=access,
                refresh_token=refresh,
                expires_at=expires_at,
                keyring=Keyring.parse(stack.master_keys),
            )
            stack.api_key = await create_api_key(conn, account_id, "test")
            stack.account_id = account_id
            stack.company_id = company_id
    finally:
        await conn.close()


async def wait_until_ready(
    url: str, process: subprocess.Popen[bytes], log_path: Path, *, timeout: float = 60.0
) -> None:
    """Poll a readiness URL until it answers 200; fail early if the process died."""
    deadline = asyncio.get_running_loop().time() + timeout
    async with httpx.AsyncClient(timeout=2) as http:
        while asyncio.get_running_loop().time() < deadline:
            if process.poll() is not None:
                raise RuntimeError(
                    f"{log_path.stem} exited with {process.returncode}; see {log_path}"
                )
            try:
                if (await http.get(url)).status_code == httpx.codes.OK:
                    return
            except httpx.TransportError:
                pass  # not listening yet
            await asyncio.sleep(0.1)
    raise TimeoutError(f"{log_path.stem} was not ready within {timeout}s; see {log_path}")


async def start_stack(config: StackConfig) -> Stack:
    config.state_dir.mkdir(parents=True, exist_ok=True)
    log_dir = config.state_dir / "logs"
    # Before the database: a key file that cannot be read or written stops the start with nothing
    # created yet, so nothing is left behind.
    master_keys = config.master_keys or load_or_create_key_file(config.state_dir / SANDBOX_KEY_FILE)
    database = await provision_database(
        config.database_name, config.state_dir, own_server=config.own_postgres
    )
    stack = Stack(
        config=config,
        database=database,
        api_url="",
        govsim_url="",
        kafka_bootstrap="",
        api_key="",
        account_id="",
        company_id="",
        master_keys=master_keys,
    )
    try:
        await _start_processes(stack, log_dir)
    except BaseException:
        # A database this start created goes with it: a failed start leaves nothing behind.
        try:
            await stack.shutdown(drop_database=database.created)
        except Exception:
            log.exception("cleaning up after the failed start failed too")
        raise
    return stack


async def _start_processes(stack: Stack, log_dir: Path) -> None:
    config = stack.config
    broker_port = free_port()
    stack.kafka_bootstrap = f"127.0.0.1:{broker_port}"
    await stack.launch(
        "broker",
        Launch(broker_command(broker_port), {}, log_dir / "broker.log", broker_port, http=False),
    )
    await create_topics(stack.kafka_bootstrap)
    await migrate(stack.database.url)

    govsim_port = free_port()
    stack.govsim_url = f"http://127.0.0.1:{govsim_port}"
    # The networks that push deliver to the receiver: its port is chosen before the simulator
    # starts, so the simulator knows where to deliver.
    receiver_port = free_port()
    govsim_env = {
        "GOVSIM_RECEIVER_URL": f"http://127.0.0.1:{receiver_port}",
        "GOVSIM_NETWORK_KEY": SANDBOX_NETWORK_KEY,
        "GOVSIM_ANAF_PROCESSING_DELAY": str(config.anaf_processing_delay),
        "GOVSIM_ANAF_REQUESTS_PER_MINUTE": str(config.anaf_requests_per_minute),
        **config.extra_env,
    }
    await _launch_service(stack, "govsim", govsim_env, log_dir, govsim_port, with_port_flag=True)
    api_port = config.api_port
    stack.api_url = f"http://127.0.0.1:{api_port}"
    await _seed_dev_account(stack)

    env = stack.service_env()
    # Every worker and the API at once: each waits for the broker and database, not for the
    # others (started one after the other, each would add its imports and its consumer group's
    # join to the start).
    ports = {"receiver": receiver_port}
    await asyncio.gather(
        *(
            _launch_worker(stack, worker, env, log_dir, ports.get(worker))
            for worker in config.workers
        ),
        _launch_service(stack, "intake", env, log_dir, api_port, with_port_flag=True),
    )
    # The other five countries, through the API as a user connects them (RO is seeded above).
    await connect_sandbox_countries(stack.api_url, stack.api_key, stack.govsim_url)


async def _launch_worker(
    stack: Stack, worker: str, env: dict[str, str], log_dir: Path, port: int | None = None
) -> None:
    port = port or free_port()
    await _launch_service(stack, worker, {**env, "CLEARWAY_HTTP_PORT": str(port)}, log_dir, port)


async def _launch_service(  # noqa: PLR0913 - how one service process is started
    stack: Stack,
    name: str,
    env: dict[str, str],
    log_dir: Path,
    port: int,
    *,
    with_port_flag: bool = False,
) -> None:
    """`python -m services.<name>`, logging to <name>.log, up once `port` answers; the servers
    (govsim, intake) take the port as `--port`, a worker from its environment."""
    command = [sys.executable, "-m", f"services.{name}"]
    if with_port_flag:
        command += ["--port", str(port)]
    await stack.launch(name, Launch(command, env, log_dir / f"{name}.log", port))
