"""The manual (README.md and every page under docs/) against what it describes: its links lead
somewhere, its JSON parses, its invoice bodies are valid (to the model and to the running API),
its Python runs, and its curl commands, run as written with $CLEARWAY_URL, $CLEARWAY_KEY and
$CLEARWAY_SIM_URL set to the test stack's, are answered without an HTTP error. The README stays
a front door.

docs/sandbox.md's "One invoice per country" requests are run to `accepted` by
tests/e2e/test_sandbox_docs.py (run here too, they would file the Polish invoice number twice,
which KSeF refuses); their bodies are checked here with everything else. Its "A purchase invoice
per country" deliveries are run there too, each until the dev company has received it. The
README's example is also run to `accepted` through `make run` by
tests/services/stack/test_run.py."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import secrets
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from clearway.domain.invoice import InvoiceRequest
from clearway.webhooks.signing import new_secret, signature_header

from services.stack.sandbox_seed import SANDBOX_COMPANIES
from services.stack.stack import Stack
from tests.e2e.sandbox_doc import purchase_examples, shell_blocks

ROOT = Path(__file__).parents[2]
README = ROOT / "README.md"
PAGES = (README, *sorted((ROOT / "docs").rglob("*.md")))
README_MAX_LINES = 120

FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.DOTALL | re.MULTILINE)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6} (.+)$", re.MULTILINE)
HTML_ANCHOR = re.compile(r'<a id="([^"]+)"></a>')
# A curl command's body: -d '…' (the shell's single quotes: no quote inside).
CURL_BODY = re.compile(r"-d '([^']*)'")
POST_INVOICE = re.compile(r'-X POST "\$CLEARWAY_URL/v1/invoices"')
# The variables the pages tell a reader to export; the tests set them to the stack's.
IDEMPOTENCY_KEY = re.compile(r"(?<=X-Idempotency-Key: )[\w.-]+")
EXPORT = re.compile(r"^export (CLEARWAY_URL|CLEARWAY_KEY|CLEARWAY_SIM_URL)=.*$", re.MULTILINE)


def _name(page: Path) -> str:
    return str(page.relative_to(ROOT))


def _blocks(page: Path) -> list[tuple[str, str]]:
    """(language, text) of every fenced block of the page."""
    return [(m[1], m[2]) for m in FENCE.finditer(page.read_text())]


def _section(page: Path, heading: str) -> str:
    return page.read_text().split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def _shell_blocks_run_elsewhere() -> set[str]:
    """The shell blocks another test runs to their end (see the module's docstring)."""
    elsewhere = set(shell_blocks("One invoice per country"))
    assert len(elsewhere) == 6, "one example per country"
    return elsewhere | set(purchase_examples().values())


def _curl_blocks() -> list[tuple[str, str]]:
    """(page, block) of every shell block with a curl command, but those run elsewhere."""
    elsewhere = _shell_blocks_run_elsewhere()
    return [
        (_name(page), text)
        for page in PAGES
        for lang, text in _blocks(page)
        if lang == "sh" and "curl " in text and text not in elsewhere
    ]


def _curl_bodies() -> list[tuple[str, str, str]]:
    """(page, command, body) of every curl -d body in the manual."""
    found = []
    for page in PAGES:
        for lang, text in _blocks(page):
            if lang != "sh":
                continue
            for command in re.split(r"\n(?=curl )", text):
                found += [(_name(page), command, body) for body in CURL_BODY.findall(command)]
    return found


def _invoice_bodies() -> list[tuple[str, dict[str, Any]]]:
    """(page, body) of every POST /v1/invoices request in the manual, and of every JSON block
    that is one (an invoice names its country and its lines)."""
    bodies = [
        (page, json.loads(body))
        for page, command, body in _curl_bodies()
        if POST_INVOICE.search(command)
    ]
    for page in PAGES:
        for lang, text in _blocks(page):
            if lang == "json":
                value = json.loads(text)
                if isinstance(value, dict) and {"country", "lines"} <= value.keys():
                    bodies.append((_name(page), value))
    return bodies


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text())
    return {_slug(h) for h in HEADING.findall(text)} | set(HTML_ANCHOR.findall(text))


def _links(page: Path) -> list[str]:
    """The page's relative links (code blocks hold none)."""
    text = FENCE.sub("", page.read_text())
    return [t for t in LINK.findall(text) if not re.match(r"[a-z]+:", t)]


def test_the_manual_has_its_pages() -> None:
    names = {_name(page) for page in PAGES}
    countries = {f"docs/countries/{cc}.md" for cc in ("ro", "it", "pl", "fr", "be", "de")}
    assert names >= {
        "README.md",
        "docs/api.md",
        "docs/webhooks.md",
        "docs/sandbox.md",
        "docs/operations.md",
        "docs/architecture.md",
        *countries,
    }


def test_the_readme_is_a_front_door() -> None:
    lines = README.read_text().splitlines()
    assert len(lines) <= README_MAX_LINES, len(lines)
    text = README.read_text()
    for command in ("make run", "make test"):
        assert command in text
    assert "## Where to read on" in text


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_every_relative_link_leads_to_a_file_and_its_heading(page: Path) -> None:
    broken = []
    for target in _links(page):
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            broken.append(f"{target}: no such heading in {_name(linked)}")
    assert broken == []


def test_every_page_can_be_reached_from_the_readme() -> None:
    reached, frontier = {README}, [README]
    while frontier:
        page = frontier.pop()
        for target in _links(page):
            path = target.partition("#")[0]
            linked = (page.parent / path).resolve() if path else page
            if linked.suffix == ".md" and linked not in reached and linked.is_file():
                reached.add(linked)
                frontier.append(linked)
    assert {_name(p) for p in PAGES} - {_name(p) for p in reached} == set()


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_json_blocks_parse(page: Path) -> None:
    for lang, text in _blocks(page):
        if lang == "json":
            json.loads(text)


def test_curl_bodies_are_json() -> None:
    bodies = _curl_bodies()
    assert len(bodies) >= 10, bodies  # the README's, the six countries', and more
    for page, command, body in bodies:
        try:
            json.loads(body)
        except json.JSONDecodeError as exc:  # pragma: no cover - the message is the point
            pytest.fail(f"{page}: {command}\n{exc}")


def test_invoice_bodies_fit_the_model() -> None:
    bodies = _invoice_bodies()
    countries = {body["country"] for _, body in bodies}
    assert countries >= {"RO", "IT", "PL", "FR", "BE", "DE"}
    for _, body in bodies:
        InvoiceRequest.model_validate(body)


def _python_blocks() -> list[str]:
    return [text for page in PAGES for lang, text in _blocks(page) if lang == "python"]


def test_the_webhook_verifier_accepts_clearways_signatures_and_nothing_else() -> None:
    """docs/webhooks.md's verify(), run as written, against the dispatcher's own signing."""
    (block,) = [text for text in _python_blocks() if "def verify(" in text]
    namespace: dict[str, Any] = {}
    exec(compile(block, "docs/webhooks.md", "exec"), namespace)  # noqa: S102 - the doc's code
    verify = namespace["verify"]
    old, new = new_secret(), new_secret()
    body = b'{"id": "evt_1", "type": "invoice.accepted"}'
    now = int(time.time())

    def headers(secrets: list[str], timestamp: int = now) -> dict[str, str]:
        return {
            "webhook-id": "msg_1",
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature_header(secrets, "msg_1", timestamp, body),
        }

    assert verify(new, headers([new]), body)
    assert verify(old, headers([new, old]), body)  # during a rotation, either secret
    assert not verify(new, headers([new]), body + b" ")
    assert not verify(new_secret(), headers([new]), body)
    assert not verify(new, headers([new], now - 600), body)  # a replay
    assert base64.b64decode(new.removeprefix("whsec_"))  # the secret's form the page states


def test_every_python_block_compiles() -> None:
    blocks = _python_blocks()
    assert blocks
    for text in blocks:
        compile(text, "<docs>", "exec")


@pytest.mark.stack
@pytest.mark.kafka
@pytest.mark.postgres
async def test_invoice_bodies_are_valid_for_the_running_api(api: httpx.AsyncClient) -> None:
    for page, body in _invoice_bodies():
        answer = await api.post("/v1/invoices/validate", json=body)
        assert answer.status_code == 200, (page, answer.text)
        assert answer.json()["valid"] is True, (page, body["country"], answer.json())


async def _placeholders(stack: Stack, api: httpx.AsyncClient) -> dict[str, str]:
    """What the pages leave for the reader to fill in, filled in from the stack: an invoice,
    the dev account's PL connection, and a KSeF token the simulated portal issued for it."""
    invoices = (await api.get("/v1/invoices", params={"limit": 1})).json()["data"]
    if not invoices:
        body = json.loads(
            CURL_BODY.findall(_section(README, "Send an invoice"))[0]  # the README's invoice
        )
        invoices = [(await api.post("/v1/invoices", json=body)).json()["data"]]
    connections = (await api.get("/v1/connections")).json()["data"]
    (pl,) = [c for c in connections if c["countryCode"] == "PL" and c["status"] == "active"]
    nip = SANDBOX_COMPANIES["PL"]["vatNumber"].removeprefix("PL")
    async with httpx.AsyncClient(base_url=stack.govsim_url, timeout=30) as sim:
        issued = await sim.post("/_sim/pl/ksef-tokens", json={"nip": nip})
        assert issued.status_code == 201, issued.text
    return {
        "inv_...": invoices[0]["id"],
        "conn_...": pl["id"],
        '{"token": "…"}': json.dumps({"token": issued.json()["token"]}),
    }


async def _run_shell(script: str, stack: Stack) -> tuple[int, str]:
    # --fail-with-body: an HTTP error is a failed command, and set -e stops the block there.
    prelude = 'set -e\ncurl() { command curl --fail-with-body --max-time 30 "$@"; }\n'
    shell = await asyncio.create_subprocess_exec(
        "sh",
        "-c",
        prelude + script,
        env={
            **os.environ,
            "CLEARWAY_URL": stack.api_url,
            "CLEARWAY_KEY": stack.api_key,
            "CLEARWAY_SIM_URL": stack.govsim_url,
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(shell.communicate(), timeout=120)
    assert shell.returncode is not None
    return shell.returncode, out.decode()


def _json_answers(output: str) -> list[Any]:
    """Every JSON document in the output, in order (the commands' answers run together)."""
    decoder, answers, at = json.JSONDecoder(), [], 0
    while at < len(output):
        if output[at].isspace():
            at += 1
            continue
        try:
            value, at = decoder.raw_decode(output, at)
        except json.JSONDecodeError:
            at = output.find("\n", at) + 1 or len(output)  # not JSON (an SMP's XML): skip it
            continue
        answers.append(value)
    return answers


def test_the_manual_has_curl_blocks_to_run() -> None:
    pages = {page for page, _ in _curl_blocks()}
    assert {"README.md", "docs/sandbox.md", "docs/webhooks.md"} <= pages, pages


@pytest.mark.stack
@pytest.mark.kafka
@pytest.mark.postgres
@pytest.mark.parametrize(("page", "block"), _curl_blocks(), ids=lambda v: str(v)[:40])
async def test_curl_blocks_run_against_the_stack(
    stack: Stack, api: httpx.AsyncClient, page: str, block: str
) -> None:
    script = EXPORT.sub("", block)  # the page's exports: set above to the stack's
    # The shared stack's account also runs the e2e tests, which send the seed invoice under the
    # README's idempotency key: the page's keys get a suffix of this run's own.
    run = secrets.token_hex(4)
    script = IDEMPOTENCY_KEY.sub(lambda key: f"{key.group(0)}-docs-{run}", script)
    for placeholder, value in (await _placeholders(stack, api)).items():
        script = script.replace(placeholder, value)
    code, output = await _run_shell(script, stack)
    assert code == 0, f"{page}:\n{block}\n{output}"
    answers = _json_answers(output)
    assert answers, output
    for answer in answers:
        assert not (isinstance(answer, dict) and "error" in answer), (page, answer)
        data = answer.get("data") if isinstance(answer, dict) else None
        if isinstance(data, dict) and str(data.get("id", "")).startswith("we_"):
            # A webhook endpoint the page registered: gone again, so the shared stack's
            # invoices are not sent to its (made-up) address.
            deleted = await api.delete(f"/v1/webhook-endpoints/{data['id']}")
            assert deleted.status_code in {200, 204}, deleted.text


@pytest.mark.kafka
@pytest.mark.postgres
async def test_the_readmes_python_quick_start_runs_as_written(api_stack: Stack) -> None:
    """The README's "Quick start in Python", verbatim, as a reader runs it: from the repository,
    with the two variables it names exported (here: the API-only stack's)."""
    (block,) = [
        text
        for lang, text in _blocks(README)
        if lang == "python" and text in _section(README, "Quick start in Python")
    ]
    run = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        block,
        cwd=ROOT,
        env={
            **os.environ,
            "CLEARWAY_API_KEY": api_stack.api_key,
            "CLEARWAY_API_URL": api_stack.api_url,
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(run.communicate(), timeout=60)
    assert run.returncode == 0, out.decode()
    invoice_id, status, gross = out.decode().split()
    assert invoice_id.startswith("inv_")
    assert (status, gross) == ("created", "6188.00")
