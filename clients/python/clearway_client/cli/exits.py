"""The command line's exit codes, and the typed errors they stand for."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from clearway_client.errors import APIConnectionError, APIError, ClearwayError, WaitTimeoutError

EXIT_OK = 0
EXIT_API_ERROR = 1  # the API refused the request, or the invoice is not valid
EXIT_USAGE = 2  # a bad command line or configuration (argparse's own code too)
EXIT_UNREACHABLE = 3
EXIT_WAIT_TIMEOUT = 4
EXIT_UNFINISHED = 5  # an invoice waited for ended rejected or in error
EXIT_INTERRUPTED = 130


def run_guarded(command: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """The command's exit code; a typed error said on stderr (as JSON with --json) instead of a
    traceback."""
    try:
        return command(args)
    except APIError as exc:
        _say(
            args,
            {
                "type": exc.type,
                "message": exc.message,
                "param": exc.param,
                "status": exc.status,
                "errors": [e.__dict__ for e in exc.errors],
            },
            str(exc),
        )
        for item in exc.errors if not args.json else ():
            print(f"  {item.param or '-'}: {item.message}", file=sys.stderr)
        return EXIT_API_ERROR
    except APIConnectionError as exc:
        _say(args, {"type": "connection_error", "message": str(exc)}, str(exc))
        return EXIT_UNREACHABLE
    except WaitTimeoutError as exc:
        _say(args, {"type": "wait_timeout", "message": str(exc)}, str(exc))
        return EXIT_WAIT_TIMEOUT
    except ClearwayError as exc:
        _say(args, {"type": "error", "message": str(exc)}, str(exc))
        return EXIT_API_ERROR
    except KeyboardInterrupt:
        print("clearway: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _say(args: argparse.Namespace, as_json: dict[str, object], text: str) -> None:
    if getattr(args, "json", False):
        print(json.dumps({"error": as_json}), file=sys.stderr)
    else:
        print(f"clearway: {text}", file=sys.stderr)
