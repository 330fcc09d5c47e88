"""Loaded by every Python process whose PYTHONPATH holds this folder (measure_path/hook).

Off unless MEASURE_PATH_DIR is set. Then it records every Python code object that is entered
(sys.setprofile 'call' events, in every thread): SIGUSR1 forgets what was recorded so far (so
start-up is left out), SIGUSR2 writes what was recorded since to
$MEASURE_PATH_DIR/<pid>.<n>.tsv (one line per code object: file, first line, qualified name).
Each hooked process leaves $MEASURE_PATH_PIDS/<pid>.hooked, so that the driver signals only
processes that handle the signals. Processes named in MEASURE_PATH_SKIP (module names given to
-m, comma-separated) are not hooked.

A plain file, not a module of the package: Python imports `sitecustomize` from its path at start.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path
from types import CodeType, FrameType

_DIR = os.environ.get("MEASURE_PATH_DIR")


def _module_name() -> str:
    argv = sys.orig_argv
    if "-m" in argv[:-1]:
        return argv[argv.index("-m") + 1]
    return Path(argv[1]).name if len(argv) > 1 else argv[0]


def _install(directory: Path) -> None:
    codes: set[CodeType] = set()
    add = codes.add
    dumps = [0]

    def hook(frame: FrameType, event: str, _arg: object) -> None:
        if event == "call":
            add(frame.f_code)

    def forget(_signum: int, _frame: FrameType | None) -> None:
        codes.clear()

    def dump(_signum: int, _frame: FrameType | None) -> None:
        dumps[0] += 1
        seen = list(codes)
        path = directory / f"{os.getpid()}.{dumps[0]}.tsv"
        part = path.with_name(path.name + ".part")
        with part.open("w", encoding="utf-8") as out:
            out.write(f"#process\t{_module_name()}\n")
            for code in seen:
                out.write(f"{code.co_filename}\t{code.co_firstlineno}\t{code.co_qualname}\n")
        part.replace(path)  # the driver reads only whole files

    pids = os.environ.get("MEASURE_PATH_PIDS")
    if pids:  # the driver signals only the processes that have these handlers
        marker = Path(pids) / f"{os.getpid()}.hooked"
        marker.write_text(_module_name() + "\n", encoding="utf-8")
    signal.signal(signal.SIGUSR1, forget)
    signal.signal(signal.SIGUSR2, dump)
    threading.setprofile(hook)
    sys.setprofile(hook)


if _DIR and _module_name() not in {
    m for m in os.environ.get("MEASURE_PATH_SKIP", "").split(",") if m
}:
    _install(Path(_DIR))
