"""Where the command's key and URL come from: the first of these that has a key, and the URL
from that same source (else the default URL, never another source's, so a key is never sent
to a host set up for another key): --api-key/--api-url; the profile named by --profile;
$CLEARWAY_API_KEY/$CLEARWAY_API_URL (the pair `Clearway()` reads); the profile named by
$CLEARWAY_PROFILE, else `default`.

Profiles live in $CLEARWAY_CONFIG, else $XDG_CONFIG_HOME/clearway/config.toml (~/.config/…):

    [profiles.default]
    api_key = "sk_test_…"
    api_url = "http://127.0.0.1:8080"
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from clearway_client._core import DEFAULT_BASE_URL


class ConfigError(Exception):
    """A profile asked for that the file does not have, or a file that is not TOML."""


@dataclass(frozen=True)
class Credentials:
    api_key: str | None
    api_url: str | None


def config_path(environ: Mapping[str, str]) -> Path:
    if environ.get("CLEARWAY_CONFIG"):
        return Path(environ["CLEARWAY_CONFIG"])
    base = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "clearway" / "config.toml"


def _profile(environ: Mapping[str, str], name: str, *, required: bool) -> Credentials:
    path = config_path(environ)
    try:
        profiles = tomllib.loads(path.read_text(encoding="utf-8")).get("profiles", {})
    except FileNotFoundError:
        if required:
            raise ConfigError(f"profile {name!r} asked for, but {path} does not exist") from None
        return Credentials(None, None)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not TOML: {exc}") from exc
    profile = profiles.get(name)
    if profile is None:
        if required:
            known = ", ".join(sorted(profiles)) or "none"
            raise ConfigError(f"{path} has no profile {name!r} (it has: {known})")
        return Credentials(None, None)
    return Credentials(profile.get("api_key"), profile.get("api_url"))


def credentials(
    environ: Mapping[str, str],
    *,
    api_key: str | None,
    api_url: str | None,
    profile: str | None,
) -> Credentials:
    """The key and URL of the first source with a key (the module's docstring)."""
    if api_url and not api_key:
        raise ConfigError(
            "--api-url without --api-key: give both, so a key is not sent to a host it was "
            "not set up for"
        )
    named = _profile(environ, profile, required=True) if profile else Credentials(None, None)
    sources = (
        Credentials(api_key, api_url),
        named,
        Credentials(environ.get("CLEARWAY_API_KEY"), environ.get("CLEARWAY_API_URL")),
        _profile(
            environ,
            environ.get("CLEARWAY_PROFILE") or "default",
            required=bool(environ.get("CLEARWAY_PROFILE")),
        ),
    )
    for source in sources:
        if source.api_key:
            # The default URL spelled out: Clearway() given none would read $CLEARWAY_API_URL.
            return Credentials(source.api_key, source.api_url or DEFAULT_BASE_URL)
    return Credentials(None, None)
