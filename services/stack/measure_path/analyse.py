"""Count the product files in measure.py's dumps: see README.md in this folder.

    python -m services.stack.measure_path analyse <out> [<out> ...]

Product files: under the checkout's libs/ and services/, but not services/govsim (the
simulator) or services/stack (the dev launcher). A file counts in a window when at least one of
its functions was entered in any hooked process during that window; a file whose only entered
code is its module body (imported for the first time during the window) is listed apart.
Writes <out>/result.json and prints a summary.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

EXCLUDED = ("services/govsim/", "services/stack/")
DESCRIPTION = "Count the product files in measure's dumps; writes <out>/result.json."


def product_path(filename: str, checkout: str) -> str | None:
    if not filename.startswith(checkout + "/"):
        return None
    relative = filename[len(checkout) + 1 :]
    if not relative.startswith(("libs/", "services/")) or relative.startswith(EXCLUDED):
        return None
    if "/tests/" in relative or relative.rsplit("/", 1)[-1].startswith("test_"):
        return None
    return relative


def window(out: Path, name: str, checkout: str) -> dict[str, dict[str, set[str]]]:
    """file -> {"processes": ..., "functions": ...} over every process's dump of the window."""
    files: dict[str, dict[str, set[str]]] = defaultdict(lambda: {"processes": set(), "code": set()})
    for dump in sorted((out / name).glob("*.tsv")):
        lines = dump.read_text(encoding="utf-8").splitlines()
        process = lines[0].split("\t", 1)[1]
        for line in lines[1:]:
            filename, _, qualname = line.split("\t", 2)
            relative = product_path(filename, checkout)
            if relative is not None:
                files[relative]["processes"].add(process)
                files[relative]["code"].add(qualname)
    return files


def folder_split(paths: set[str]) -> dict[str, int]:
    return dict(sorted(Counter(p.rsplit("/", 1)[0] for p in paths).items()))


def analyse(out: Path) -> dict[str, Any]:
    summary = json.loads((out / "summary.json").read_text())
    checkout = summary["checkout"]
    windows = {name: window(out, name, checkout) for name in ("idle", "cold", "warm")}
    idle = set(windows["idle"])
    result: dict[str, Any] = {"commit": summary["commit"], "checkout": checkout}
    for name, files in windows.items():
        called = {f for f, seen in files.items() if seen["code"] - {"<module>"}}
        module_only = set(files) - called
        entry: dict[str, object] = {
            "files": len(called),
            "module_body_only": sorted(module_only),
            "by_folder": folder_split(called),
            "by_top_folder": dict(
                sorted(Counter("/".join(p.split("/")[:3]) for p in called).items())
            ),
            # Files no other process touched: what leaving one process out would remove.
            "only_in_process": dict(
                sorted(
                    Counter(
                        next(iter(files[f]["processes"]))
                        for f in called
                        if len(files[f]["processes"]) == 1
                    ).items()
                )
            ),
            "list": {f: sorted(files[f]["processes"]) for f in sorted(called)},
        }
        if name != "idle":
            entry["also_seen_idle"] = len(called & idle)
            entry["only_with_invoice"] = sorted(called - idle)
        result[name] = entry
    (out / "result.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.stack.measure_path analyse", description=DESCRIPTION
    )
    parser.add_argument("out", type=Path, nargs="+", help="the --out folders of measure")
    for out in parser.parse_args(argv).out:
        result = analyse(out)
        print(f"== {out}: {result['commit'][:10]}")
        for name in ("idle", "cold", "warm"):
            entry = result[name]
            extra = (
                f", {entry['also_seen_idle']} of them also in the idle window"
                if "also_seen_idle" in entry
                else ""
            )
            print(
                f"{name}: {entry['files']} files{extra}; module body only: "
                f"{len(entry['module_body_only'])}"
            )
    return 0
