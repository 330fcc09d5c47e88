"""Clearway's configuration (clearway.config): every setting declared once, with its environment
variable and a description; the variables set nested groups; a bad value is refused naming its
variable; and what the docs and deployment manifests say agrees with the declarations."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from clearway.config import (
    SecuritySettings,
    Settings,
    SettingsError,
    WebhookConfig,
    variable,
    variables,
)
from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[3]
REQUIRED = {"DATABASE_URL": "postgresql://db/clearway", "KAFKA_BOOTSTRAP": "127.0.0.1:9092"}


def _groups(model: type[BaseModel]) -> list[type[BaseModel]]:
    found = [model]
    for info in model.model_fields.values():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found += _groups(annotation)
    return found


def test_every_setting_and_group_has_a_description() -> None:
    for model in _groups(Settings):
        for name, info in model.model_fields.items():
            assert info.description, f"{model.__name__}.{name} has no description"


def test_every_variable_is_declared_once_and_only_the_connections_are_required() -> None:
    names = [declared.name for declared in variables()]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[A-Z][A-Z0-9_]+", name) for name in names)
    assert {declared.name for declared in variables() if declared.required} == set(REQUIRED)


@pytest.mark.parametrize(
    ("name", "value", "path", "expected"),
    [
        ("ANAF_CALLS_PER_MINUTE", "50", "anaf.calls_per_minute", 50),
        ("ANAF_REST_URL", "http://anaf.test/rest", "anaf.rest_url", "http://anaf.test/rest"),
        ("KSEF_LIVE_API_URL", "https://ksef.test/v2", "ksef.live_api_url", "https://ksef.test/v2"),
        ("PEPPOL_AP_API_KEY", "k", "peppol.ap_api_key", "k"),
        ("FR_PA_URL", "http://pa.test", "fr_pa.url", "http://pa.test"),
        ("WEBHOOK_RETRY_SCHEDULE", "1, 2.5,10", "webhooks.retry_schedule", (1.0, 2.5, 10.0)),
        ("WEBHOOK_MAX_IN_FLIGHT", "8", "webhooks.max_in_flight", 8),
        ("CLEARWAY_SCHEMATRON_DIR", "/srv/sch", "conformance.schematron_dir", Path("/srv/sch")),
        ("CLEARWAY_GATE_WORKERS", "3", "conformance.gate_workers", 3),
        ("REDRIVE_STALLED_AFTER", "2.5", "redrive_stalled_after", 2.5),
        ("CLEARWAY_HTTP_PORT", "9100", "http_port", 9100),
    ],
)
def test_a_variable_sets_its_nested_field(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, path: str, expected: Any
) -> None:
    assert {declared.name: declared.path for declared in variables()}[name] == path

    def at_path(settings: Settings) -> Any:
        found: Any = settings
        for part in path.split("."):
            found = getattr(found, part)
        return found

    assert at_path(Settings.from_env({**REQUIRED, name: value})) == expected
    assert at_path(Settings.from_env(REQUIRED)) != expected  # the default is something else
    # The process environment, read by from_env and by pydantic-settings' Settings() alike.
    for required, given in {**REQUIRED, name: value}.items():
        monkeypatch.setenv(required, given)
    assert at_path(Settings.from_env()) == expected
    assert at_path(Settings()) == expected


def test_a_group_reads_alone_what_settings_reads() -> None:
    environment = {**REQUIRED, "WEBHOOK_TIMEOUT_SECONDS": "3", "CLEARWAY_MASTER_KEYS": "k=AA"}
    settings = Settings.from_env(environment)
    assert WebhookConfig.from_env(environment) == settings.webhooks
    assert SecuritySettings.from_env(environment) == settings.security
    assert variable(SecuritySettings, "master_keys") == "CLEARWAY_MASTER_KEYS"


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        (
            {"ANAF_CALLS_PER_MINUTE": "plenty-secret-value"},
            "ANAF_CALLS_PER_MINUTE: Input should be a valid integer",
        ),
        ({"WEBHOOK_RETRY_SCHEDULE": "5,soon"}, "WEBHOOK_RETRY_SCHEDULE: Input should be a valid"),
        ({"DATABASE_POOL_MAX": "0"}, "DATABASE_POOL_MAX: Input should be greater than or equal"),
        ({"DATABASE_URL": None}, "DATABASE_URL is not set"),
        (
            {"DATABASE_POOL_MIN": "5", "DATABASE_POOL_MAX": "2"},
            "DATABASE_POOL_MIN (5) exceeds DATABASE_POOL_MAX (2)",
        ),
    ],
)
def test_an_invalid_value_is_refused_naming_its_variable_not_its_value(
    environment: dict[str, str | None], message: str
) -> None:
    given = {**REQUIRED, **environment}
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({name: value for name, value in given.items() if value is not None})
    assert message in str(refused.value)
    assert "plenty-secret-value" not in str(refused.value)


def test_settings_never_read_variables_they_do_not_declare() -> None:
    # An unrelated variable, or a field's Python name, sets nothing.
    settings = Settings.from_env({**REQUIRED, "calls_per_minute": "1", "ANAF__REST_URL": "x"})
    assert settings == Settings.from_env(REQUIRED)


def _table(markdown: str, heading: str) -> list[list[str]]:
    """The rows of the first table after `heading`, cells stripped, header and rule dropped."""
    after = markdown[markdown.index(heading) :]
    rows = []
    for line in after.splitlines():
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
        elif rows:
            break
    return rows[2:]


def _shown(value: Any) -> str:
    return f"{value:g}" if isinstance(value, int | float) else str(value)


def test_the_operations_guide_shows_the_pool_settings_as_declared() -> None:
    rows = _table((ROOT / "docs" / "operations.md").read_text(), "## Pool settings")
    declared = {declared.name: declared for declared in variables()}
    pool = [name for name in declared if name.startswith("DATABASE_") and name != "DATABASE_URL"]
    assert [row[0].strip("`") for row in rows] == pool
    for name, default, description in rows:
        setting = declared[name.strip("`")]
        assert default == f"`{_shown(setting.default)}`"
        assert description == setting.description


def test_the_manual_lists_every_live_variable_and_only_declared_ones() -> None:
    page = (ROOT / "docs" / "operations.md").read_text()
    rows = _table(page, "| country | a live deployment sets |")
    listed = {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row[1])}
    live = {declared.name for declared in variables() if "_LIVE_" in declared.name}
    assert listed == live


def test_the_deployment_manifests_set_only_declared_variables() -> None:
    declared = {declared.name for declared in variables()}
    manifests = ROOT / "deploy" / "kubernetes"
    config = next(
        document
        for document in yaml.safe_load_all((manifests / "config.yaml").read_text())
        if document and document.get("kind") == "ConfigMap"
    )
    secret = yaml.safe_load((manifests / "secret.example.yaml").read_text())
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    service_env = compose["x-service-env"]
    for names in (config["data"], secret["stringData"], service_env):
        # OTEL_* are OpenTelemetry's own variables, read by its SDK.
        assert {name for name in names if not name.startswith("OTEL_")} <= declared
