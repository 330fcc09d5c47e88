"""`clearway`: the command line (docs/client.md). `clearway setup` and `clearway admin …` are the
server's (clearway.cli), handed over when the server package is installed beside this one."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence

SERVER_COMMANDS = frozenset({"setup", "admin"})


def _server_main(argv: Sequence[str]) -> None:
    """The server's own command line, for the operator's commands."""
    if importlib.util.find_spec("clearway.cli") is None:
        print(
            f"clearway {argv[0]}: an operator's command of the Clearway server; install the "
            "server package (`pip install -e .` in its repository) to run it",
            file=sys.stderr,
        )
        sys.exit(2)
    from clearway.cli import main as server_main  # noqa: PLC0415 - only when it is there

    server_main(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in SERVER_COMMANDS:
        _server_main(args)
        return
    print("clearway: the client commands are coming", file=sys.stderr)
    sys.exit(2)
