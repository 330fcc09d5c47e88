"""Loaded by every Python process whose PYTHONPATH holds this folder (tools/measure_path/hook).

Off unless MEASURE_PATH_DIR is set. Then it records every Python code object that is entered
(sys.setprofile 'call' events, in every thread): SIGUSR1 forgets what was recorded so far (so
start-up is left out), SIGUSR2 writes what was recorded since to
$MEASURE_PATH_DIR/<pid>.<n>.tsv (one line per code object: file, first line, qualified name).
Each hooked process leaves $MEASURE_PATH_PIDS/<pid>.hooked, so that the driver signals only
processes that handle the signals. Processes named in MEASURE_PATH_SKIP (module names given to
-m, comma-separated) are not hooked.
"""

import os
import signal
import sys
import threading

_DIR = os.environ.get("MEASURE_PATH_DIR")


def _module_name() -> str:
    argv = getattr(sys, "orig_argv", sys.argv)
    if "-m" in argv[:-1]:
        return argv[argv.index("-m") + 1]
    return os.path.basename(argv[1]) if len(argv) > 1 else argv[0]


def _install(directory: str) -> None:
    codes: set = set()
    add = codes.add
    dumps = [0]

    def hook(frame, event, arg):  # noqa: ARG001 - the profile function's signature
        if event == "call":
            add(frame.f_code)

    def forget(signum, frame):  # noqa: ARG001
        codes.clear()

    def dump(signum, frame):  # noqa: ARG001
        dumps[0] += 1
        seen = list(codes)
        path = os.path.join(directory, f"{os.getpid()}.{dumps[0]}.tsv")
        with open(path + ".part", "w", encoding="utf-8") as out:
            out.write(f"#process\t{_module_name()}\n")
            for code in seen:
                name = getattr(code, "co_qualname", code.co_name)
                out.write(f"{code.co_filename}\t{code.co_firstlineno}\t{name}\n")
        os.replace(path + ".part", path)  # the driver reads only whole files

    pids = os.environ.get("MEASURE_PATH_PIDS")
    if pids:  # the driver signals only the processes that have these handlers
        with open(os.path.join(pids, f"{os.getpid()}.hooked"), "w", encoding="utf-8") as marker:
            marker.write(_module_name() + "\n")
    signal.signal(signal.SIGUSR1, forget)
    signal.signal(signal.SIGUSR2, dump)
    threading.setprofile(hook)
    sys.setprofile(hook)


if _DIR and _module_name() not in {
    m for m in os.environ.get("MEASURE_PATH_SKIP", "").split(",") if m
}:
    _install(_DIR)
