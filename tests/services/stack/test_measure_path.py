"""measure_path's counting (analyse.py) on made-up dumps, in the hook's format: which entered
code makes a file count, which files are left out, and what is compared with the idle window."""

from __future__ import annotations

import json
from pathlib import Path

from services.stack.measure_path.analyse import analyse

CHECKOUT = "/checkout"


def _dump(out: Path, window: str, pid: int, process: str, *code: tuple[str, str]) -> None:
    folder = out / window
    folder.mkdir(exist_ok=True)
    lines = [f"#process\t{process}"]
    lines += [f"{filename}\t1\t{qualname}" for filename, qualname in code]
    (folder / f"{pid}.1.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_a_file_counts_once_a_product_function_of_it_is_called(tmp_path: Path) -> None:
    (tmp_path / "summary.json").write_text(json.dumps({"checkout": CHECKOUT, "commit": "c0ffee"}))
    outbox = (f"{CHECKOUT}/libs/clearway/store/outbox.py", "relay")
    poller = (f"{CHECKOUT}/services/poller/handlers.py", "poll")
    _dump(tmp_path, "idle", 10, "services.poller", outbox, poller)
    _dump(
        tmp_path,
        "cold",
        11,
        "services.intake",
        (f"{CHECKOUT}/services/intake/app.py", "create_invoice"),
        outbox,
        # Imported for the first time in the window: listed apart, not counted.
        (f"{CHECKOUT}/libs/clearway/governments/de/rules.py", "<module>"),
        # Not the product: the simulator, the launcher, tests, another tree, the standard library.
        (f"{CHECKOUT}/services/govsim/ro/app.py", "upload"),
        (f"{CHECKOUT}/services/stack/stack.py", "start_stack"),
        (f"{CHECKOUT}/libs/clearway/tests/helpers.py", "helper"),
        (f"{CHECKOUT}/services/intake/test_app.py", "check"),
        (f"{CHECKOUT}-old/libs/clearway/store/outbox.py", "relay"),
        ("/usr/lib/python3.11/json/__init__.py", "dumps"),
    )
    _dump(tmp_path, "cold", 12, "services.poller", outbox, poller)
    _dump(tmp_path, "warm", 13, "services.poller", poller)

    result = analyse(tmp_path)

    assert result["commit"] == "c0ffee"
    cold = result["cold"]
    assert cold["files"] == 3
    assert cold["list"] == {
        "libs/clearway/store/outbox.py": ["services.intake", "services.poller"],
        "services/intake/app.py": ["services.intake"],
        "services/poller/handlers.py": ["services.poller"],
    }
    assert cold["module_body_only"] == ["libs/clearway/governments/de/rules.py"]
    assert cold["by_folder"] == {
        "libs/clearway/store": 1,
        "services/intake": 1,
        "services/poller": 1,
    }
    assert cold["only_in_process"] == {"services.intake": 1, "services.poller": 1}
    assert cold["also_seen_idle"] == 2
    assert cold["only_with_invoice"] == ["services/intake/app.py"]
    assert result["warm"]["files"] == 1
    assert result["warm"]["also_seen_idle"] == 1
    assert result["idle"]["files"] == 2
    assert "also_seen_idle" not in result["idle"]
    assert json.loads((tmp_path / "result.json").read_text()) == result
