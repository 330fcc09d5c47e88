"""Which government endpoint a sandbox or live invoice uses (clearway.config): the sandbox set
for sk_test_, the live set for sk_live_, and a live government that is not configured refused
by name, never answered with the sandbox. Credentials never show in a repr or an error."""

from __future__ import annotations

import logging

import pytest
from clearway.config import (
    GovernmentEndpoints,
    LiveNotConfiguredError,
    Settings,
    live_or_error,
    variables,
)
from clearway.governments.ro.settings import ANAF_LIVE_OAUTH_URL, ANAF_LIVE_REST_URL

# Environment variables, as a deployment sets them.
REQUIRED = {"DATABASE_URL": "postgresql://db/clearway", "KAFKA_BOOTSTRAP": "127.0.0.1:9092"}
LIVE_SECRETS = {
    "ANAF_LIVE_CLIENT_SECRET": "anaf-live-secret-do-not-print",
    "PEPPOL_LIVE_AP_API_KEY": "peppol-live-key-do-not-print",
    "ZRE_LIVE_API_KEY": "zre-live-key-do-not-print",
    "FR_PA_LIVE_API_KEY": "pa-live-key-do-not-print",
}
LIVE = {
    "ANAF_LIVE_CLIENT_ID": "clearway-prod",
    "KSEF_LIVE_API_URL": "https://ksef.live.test/v2",
    "SDI_LIVE_URL": "https://sdi.live.test",
    "SDI_LIVE_CA_FILE": "/etc/clearway/sdi-ca.pem",
    "PEPPOL_LIVE_AP_URL": "https://ap.live.test",
    "PEPPOL_LIVE_REGISTRATION_URL": "https://smp.live.test/participants",
    "ZRE_LIVE_URL": "https://zre.live.test",
    "FR_PA_LIVE_URL": "https://pa.live.test",
    **LIVE_SECRETS,
}


def _settings(**environment: str) -> Settings:
    return Settings.from_env({**REQUIRED, **environment})


def test_sandbox_is_the_existing_settings_and_never_depends_on_live_ones() -> None:
    for settings in (_settings(), _settings(**LIVE)):
        governments = settings.governments()
        assert governments.anaf.for_mode(False).rest_url == settings.anaf.rest_url
        assert governments.anaf.for_mode(False).client_id == settings.anaf.client_id
        assert governments.ksef.for_mode(False).api_url == settings.ksef.api_url
        assert governments.sdi.for_mode(False).url == settings.sdi.url
        assert governments.peppol.for_mode(False).ap_url == settings.peppol.ap_url
        assert governments.peppol.for_mode(False).registration_url is None
        assert governments.zre.for_mode(False).url == settings.zre.url
        assert governments.fr_pa.for_mode(False).api_key == settings.fr_pa.api_key


def test_live_uses_the_live_set() -> None:
    governments = _settings(**LIVE).governments()
    anaf = governments.anaf.for_mode(True)
    # ANAF's production hosts are documented, so they are the defaults.
    assert (anaf.rest_url, anaf.oauth_url) == (ANAF_LIVE_REST_URL, ANAF_LIVE_OAUTH_URL)
    assert (anaf.client_id, anaf.client_secret) == (
        "clearway-prod",
        LIVE_SECRETS["ANAF_LIVE_CLIENT_SECRET"],
    )
    assert governments.ksef.for_mode(True).api_url == "https://ksef.live.test/v2"
    sdi = governments.sdi.for_mode(True)
    assert (sdi.url, sdi.ca_file) == ("https://sdi.live.test", "/etc/clearway/sdi-ca.pem")
    peppol = governments.peppol.for_mode(True)
    assert (peppol.ap_url, peppol.ap_api_key, peppol.registration_url) == (
        "https://ap.live.test",
        LIVE_SECRETS["PEPPOL_LIVE_AP_API_KEY"],
        "https://smp.live.test/participants",
    )
    assert governments.zre.for_mode(True).url == "https://zre.live.test"
    assert governments.fr_pa.for_mode(True).url == "https://pa.live.test"


@pytest.mark.parametrize(
    ("government", "missing"),
    [
        ("anaf", ("ANAF_LIVE_CLIENT_ID", "ANAF_LIVE_CLIENT_SECRET")),
        ("ksef", ("KSEF_LIVE_API_URL",)),
        ("sdi", ("SDI_LIVE_URL",)),
        ("peppol", ("PEPPOL_LIVE_AP_URL", "PEPPOL_LIVE_AP_API_KEY")),
        ("zre", ("ZRE_LIVE_URL", "ZRE_LIVE_API_KEY")),
        ("fr_pa", ("FR_PA_LIVE_URL", "FR_PA_LIVE_API_KEY")),
    ],
)
def test_an_unconfigured_live_government_is_refused_naming_its_variables(
    government: str, missing: tuple[str, ...]
) -> None:
    endpoints: GovernmentEndpoints[object] = getattr(_settings().governments(), government)
    assert endpoints.live is None
    with pytest.raises(LiveNotConfiguredError) as refused:
        endpoints.for_mode(True)
    assert refused.value.missing == missing
    assert refused.value.government == endpoints.government
    for variable in missing:
        assert variable in str(refused.value)
    # The sandbox still answers sandbox callers.
    assert endpoints.for_mode(False) is endpoints.sandbox


def test_a_partial_or_empty_live_set_is_not_configured() -> None:
    # A URL without its key, and values set to "" (an empty ConfigMap entry), are unset.
    settings = _settings(
        PEPPOL_LIVE_AP_URL="https://ap.live.test", ANAF_LIVE_CLIENT_ID="", ZRE_LIVE_API_KEY=""
    )
    with pytest.raises(LiveNotConfiguredError) as peppol:
        settings.governments().peppol.for_mode(True)
    assert peppol.value.missing == ("PEPPOL_LIVE_AP_API_KEY",)
    with pytest.raises(LiveNotConfiguredError) as anaf:
        settings.governments().anaf.for_mode(True)
    assert "ANAF_LIVE_CLIENT_ID" in anaf.value.missing
    # ANAF's documented hosts emptied on purpose are missing too: never a silent default.
    emptied = _settings(**LIVE, ANAF_LIVE_REST_URL="")
    with pytest.raises(LiveNotConfiguredError) as no_host:
        emptied.governments().anaf.for_mode(True)
    assert no_host.value.missing == ("ANAF_LIVE_REST_URL",)


def test_live_settings_come_from_their_environment_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", REQUIRED["DATABASE_URL"])
    monkeypatch.setenv("KAFKA_BOOTSTRAP", REQUIRED["KAFKA_BOOTSTRAP"])
    for name, value in LIVE.items():
        monkeypatch.setenv(name, value)
    from_process = Settings.from_env()
    assert from_process.governments() == _settings(**LIVE).governments()
    assert from_process == Settings()  # pydantic-settings' own way of reading it agrees
    # Each variable sets its government's nested field (e.g. anaf.live_client_id).
    declared = {variable.name: variable.path for variable in variables()}
    for name, value in LIVE.items():
        group, field = declared[name].split(".")
        assert "_LIVE_" in name
        assert getattr(getattr(from_process, group), field) == value


def test_credentials_never_show_in_a_repr_or_an_error(caplog: pytest.LogCaptureFixture) -> None:
    settings = _settings(**LIVE)
    governments = settings.governments()
    shown = [
        repr(settings),
        str(settings),
        repr(governments),
        repr(governments.anaf.for_mode(True)),
        repr(governments.peppol.for_mode(True)),
    ]
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("clearway.test").info("settings %s, %r", settings, governments)
    shown.append(caplog.text)
    partial = _settings(**{k: v for k, v in LIVE.items() if k != "PEPPOL_LIVE_AP_URL"})
    with pytest.raises(LiveNotConfiguredError) as refused:
        partial.governments().peppol.for_mode(True)
    shown.append(str(refused.value))
    for text in shown:
        for secret in LIVE_SECRETS.values():
            assert secret not in text


def test_live_or_error_builds_once_from_the_live_endpoint_or_says_why_not() -> None:
    built: list[str] = []

    def make(url: str) -> str:
        built.append(url)
        return f"client for {url}"

    configured = GovernmentEndpoints("KSeF", "sandbox-url", "live-url")
    assert live_or_error(configured, make) == "client for live-url"
    assert built == ["live-url"]
    missing = GovernmentEndpoints[str]("KSeF", "sandbox-url", None, ("KSEF_LIVE_API_URL",))
    error = live_or_error(missing, make)
    assert isinstance(error, LiveNotConfiguredError)
    assert error.missing == ("KSEF_LIVE_API_URL",)
    assert built == ["live-url"]  # nothing was built for the sandbox instead


def test_every_country_connects_with_one_government() -> None:
    governments = _settings().governments()
    for country in ("RO", "PL", "IT", "BE", "DE", "FR"):
        with pytest.raises(LiveNotConfiguredError):
            governments.for_connections(country).for_mode(True)
    configured = _settings(**LIVE).governments()
    assert configured.for_connections("DE") is configured.peppol
    assert configured.for_connections("RO").for_mode(True).client_id == "clearway-prod"
