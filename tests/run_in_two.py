"""`make test`: the tests of the shared whole stack in one pytest process, the others in a second
one beside it, at the same time.

The stack tests mostly wait on the pipeline (processing delays, polls, retries) while the others
mostly compute (rules, renderers, the official gates, property tests), so on two cores the two
halves overlap instead of queueing. One process keeps every test of the shared stack, so one
stack serves them all as before. (pytest-xdist's `loadgroup` would say the same, but it groups by
a node-id suffix that pytest 9.2 no longer keeps.) tests/conftest.py marks every test that uses a
stack fixture `stack`, so the split is by marker. Tests that only need the API (the OpenAPI fuzz,
the admin CLI, PgBouncer, a failed start) use an API-only stack (api_stack: broker, simulators
and intake, no workers), light enough to run in the second process. So do the chaos tests
(marked `own_stack`): their stack is their own, with its own PostgreSQL, started when they begin
and stopped when they end; in the first process they made the longer half longer still, waiting
on kills and outages while the second one had time to spare. The computing half's output is
shown after the stack half's; the exit status is the worse of the two.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile

NO_TESTS_COLLECTED = 5  # pytest's exit code when a half selected nothing (a narrowed run)
SHARED_STACK_HALF = "not slow and stack and not own_stack"
COMPUTING_HALF = "not slow and (not stack or own_stack)"


def main(args: list[str]) -> int:
    base = [sys.executable, "-m", "pytest", *args]
    with tempfile.TemporaryFile() as computing_output:
        computing = subprocess.Popen(
            [*base, "-m", COMPUTING_HALF],
            stdout=computing_output,
            stderr=subprocess.STDOUT,
        )
        stack = subprocess.call([*base, "-m", SHARED_STACK_HALF])
        computing_code = computing.wait()
        computing_output.seek(0)
        sys.stdout.write("\n=== the tests that need no shared stack (run beside its tests) ===\n")
        sys.stdout.flush()
        sys.stdout.buffer.write(computing_output.read())
    codes = [code for code in (stack, computing_code) if code != NO_TESTS_COLLECTED]
    return max(codes, default=NO_TESTS_COLLECTED)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
