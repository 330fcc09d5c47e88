"""Where the command's key and URL come from, first found first: --api-key/--api-url; the
profile named by --profile; $CLEARWAY_API_KEY/$CLEARWAY_API_URL (or the README's $CLEARWAY_KEY/
$CLEARWAY_URL); the profile named by $CLEARWAY_PROFILE, else `default`.

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
    chosen = _profile(environ, profile, required=True) if profile else Credentials(None, None)
    from_env = Credentials(
        environ.get("CLEARWAY_API_KEY") or environ.get("CLEARWAY_KEY"),
        environ.get("CLEARWAY_API_URL") or environ.get("CLEARWAY_URL"),
    )
    fallback = _profile(
        environ,
        environ.get("CLEARWAY_PROFILE") or "default",
        required=bool(environ.get("CLEARWAY_PROFILE")),
    )
    return Credentials(
        api_key or chosen.api_key or from_env.api_key or fallback.api_key,
        api_url or chosen.api_url or from_env.api_url or fallback.api_url,
    )
