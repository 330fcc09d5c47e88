"""`python -m services.stack.measure_path measure|analyse ...`: which product files one RO
invoice's path calls into (README.md in this folder)."""

from __future__ import annotations

import sys
from collections.abc import Callable

from services.stack.measure_path import analyse, measure

COMMANDS: dict[str, Callable[[list[str]], int]] = {"measure": measure.main, "analyse": analyse.main}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(
            f"usage: python -m services.stack.measure_path {{{','.join(COMMANDS)}}} ...",
            file=sys.stderr,
        )
        return 2
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
