"""digest.toml + environment -> typed Settings, read once by a face (cli, daemon, web).

No stage reads files or the environment itself: the faces pass these plain values down.
"""
from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .errors import ConfigError


@dataclass(frozen=True)
class DigestSettings:
    timezone: str = "UTC"
    sender: str = "Partnerships digest <digest@example.org>"
    recipients: tuple[str, ...] = ()
    lists: tuple[str, ...] = ("wikimediaannounce-l", "wikimedia-l")
    subject_prefix: str = "[Partnerships digest]"
    list_unsubscribe: str = ""     # e.g. "<mailto:digest-leave@example.org>"
    archive_url: str = ""          # where the searchable archive lives, printed in the footer
    skip_empty: bool = False       # an empty week sends nothing when true
    also_on_lists: bool = False    # add an "also on the lists" section of other new threads
    templates: str = ""            # a folder of templates overriding the bundled ones


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = 25
    security: str = "none"         # "none", "starttls", "ssl"
    username: str = ""
    password: str = field(default="", repr=False)  # only from DIGEST_SMTP_PASSWORD
    timeout: float = 30.0
    retries: int = 3


@dataclass(frozen=True)
class HttpSettings:
    contact: str = ""              # required before any remote request (User-Agent policy)
    requests_per_second: float = 1.0
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_download_mb: float = 200.0
    retries: int = 4
    cache_dir: str = ""            # raw download cache; default beside the store


@dataclass(frozen=True)
class ListSource:
    name: str
    kind: str                      # "hyperkitty", "pipermail", "mbox-url"
    url: str
    since: str = ""                # ISO date
    enabled: bool = True           # false: kept for `digest sync --list NAME` only (fallbacks)


@dataclass(frozen=True)
class ClassifySettings:
    rules: str = ""                # a TOML file whose rules and weights override the bundled ones
    threshold: float | None = None


@dataclass(frozen=True)
class Settings:
    store: str = ""
    config_path: str = ""
    digest: DigestSettings = DigestSettings()
    smtp: SmtpSettings = SmtpSettings()
    http: HttpSettings = HttpSettings()
    lists: tuple[ListSource, ...] = ()
    classify: ClassifySettings = ClassifySettings()


def default_data_dir(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_DATA_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".local" / "share")
    return Path(base) / "digest"


def find_config(explicit: str | None, env: Mapping[str, str]) -> Path | None:
    """--config, else DIGEST_CONFIG, else ./digest.toml, else ~/.config/digest/digest.toml."""
    for candidate, must_exist in ((explicit, True), (env.get("DIGEST_CONFIG"), True),
                                  ("digest.toml", False)):
        if candidate:
            path = Path(candidate)
            if path.is_file():
                return path
            if must_exist:
                raise ConfigError(f"{candidate}: configuration file not found")
    home = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".config")
    path = Path(home) / "digest" / "digest.toml"
    return path if path.is_file() else None


def load_settings(config: str | None = None, store: str | None = None,
                  env: Mapping[str, str] | None = None) -> Settings:
    """Settings from the config file and environment; `store` (the --store flag) wins."""
    env = os.environ if env is None else env
    path = find_config(config, env)
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: {exc}") from None
    where = str(path) if path else "<defaults>"
    known = {"store", "digest", "smtp", "http", "lists", "classify"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown section or key {unknown[0]!r}")
    if "password" in data.get("smtp", {}):
        raise ConfigError(f"{where}: smtp.password is not read from files; set DIGEST_SMTP_PASSWORD")
    smtp = _section(SmtpSettings, data.get("smtp", {}), "smtp", where)
    smtp = replace(smtp, password=env.get("DIGEST_SMTP_PASSWORD", ""))
    lists = []
    for i, item in enumerate(data.get("lists", []), 1):
        src = _section(ListSource, item, f"lists[{i}]", where)
        if src.kind not in ("hyperkitty", "pipermail", "mbox-url"):
            raise ConfigError(f"{where}: lists[{i}].kind must be hyperkitty, pipermail or mbox-url")
        if not isinstance(src.enabled, bool):
            raise ConfigError(f"{where}: lists[{i}].enabled must be true or false")
        lists.append(src)
    store_url = store or env.get("DIGEST_STORE") or str(data.get("store", "")) or str(
        default_data_dir(env) / "digest.sqlite3")
    digest = _section(DigestSettings, data.get("digest", {}), "digest", where)
    _check_timezone(digest.timezone, where)
    if smtp.security not in ("none", "starttls", "ssl"):
        raise ConfigError(f"{where}: smtp.security must be none, starttls or ssl")
    return Settings(store=store_url, config_path=str(path or ""), digest=digest, smtp=smtp,
                    http=_section(HttpSettings, data.get("http", {}), "http", where),
                    lists=tuple(lists),
                    classify=_section(ClassifySettings, data.get("classify", {}), "classify", where))


def _check_timezone(name: str, where: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{where}: digest.timezone {name!r} is not a known time zone") from None


def _section(cls: type, values: Any, name: str, where: str) -> Any:
    if not isinstance(values, dict):
        raise ConfigError(f"{where}: [{name}] must be a table")
    # the defaults type-check the values; a class with required fields (ListSource) takes them as
    # given
    defaults = {f.name: f.default for f in fields(cls)}
    if MISSING in defaults.values():
        defaults = {key: None for key in defaults}
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        if key not in defaults or key == "password":   # the password comes only from the env
            raise ConfigError(f"{where}: unknown key {name}.{key}")
        default = defaults[key]
        if isinstance(default, tuple):
            if isinstance(value, str):
                value = (value,)
            if not isinstance(value, list | tuple):
                raise ConfigError(f"{where}: {name}.{key} must be a list")
            value = tuple(str(v) for v in value)
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise ConfigError(f"{where}: {name}.{key} must be true or false")
        elif isinstance(default, int | float):
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise ConfigError(f"{where}: {name}.{key} must be a number")
            value = type(default)(value)
        kwargs[key] = value
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"{where}: [{name}]: {exc}") from None
