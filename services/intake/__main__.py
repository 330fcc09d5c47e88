import argparse

import uvicorn
from clearway.config import Settings
from clearway.observability.http import server_config
from clearway.runtime import configure_observability

from services.intake.app import create_app


def main() -> None:
    parser = argparse.ArgumentParser(description="Clearway intake: the REST gateway")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    configure_observability("intake")
    config = server_config(
        create_app(Settings.from_env()),
        host=args.host,
        port=args.port,
        log_level="warning",
        log_config=None,  # the JSON lines configured above
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
