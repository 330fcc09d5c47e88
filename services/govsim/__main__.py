"""`python -m services.govsim --host 127.0.0.1 --port 8090`: serve the simulators."""

from __future__ import annotations

import argparse
import logging

import uvicorn
from clearway.observability.http import server_config
from clearway.observability.logs import configure_logging
from clearway.observability.tracing import configure_tracing

from services.govsim.app import GovsimSettings, create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m services.govsim", description="Government API simulators (sandbox)."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    arguments = parser.parse_args(argv)

    # Every log line, uvicorn's access log included, goes to stderr as JSON.
    configure_logging("govsim", level=logging.getLevelName(arguments.log_level.upper()))
    configure_tracing("govsim")
    app = create_app(GovsimSettings.from_env())
    # uvicorn handles SIGINT/SIGTERM itself: it stops accepting, finishes requests, exits 0.
    config = server_config(
        app,
        host=arguments.host,
        port=arguments.port,
        log_config=None,
        log_level=arguments.log_level,
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
