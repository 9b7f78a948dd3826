"""The one configuration loader, shared by the web app and the worker.

Precedence, lowest first: the defaults below, then a private ``config.yaml`` (refused when other
users can read it, since it holds secrets), then ``TOOL_*`` environment variables as Toolforge's
``toolforge envvars`` delivers them: nested keys joined by ``__`` (``TOOL_OAUTH__CLIENT_ID``).
``TOOL_TOOLSDB_USER`` / ``TOOL_TOOLSDB_PASSWORD`` select ToolsDB when no database URL is set.
Every key is documented in ``config.yaml.example``.
"""

from __future__ import annotations

import dataclasses
import os
import stat
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
ENV_PREFIX = "TOOL_"
TOOLSDB_HOST = "tools.db.svc.wikimedia.cloud"
MAX_DEPTH = 10  # projects.depth's check constraint


class ConfigError(ValueError):
    """The configuration cannot be used; the message says which key and why."""


@dataclass(frozen=True)
class AppConfig:
    name: str = "Likeness"
    version: str = "0.1.0"
    url: str = "https://likeness.toolforge.org/"
    contact: str = "tools.likeness@toolforge.org"
    admins: tuple[int, ...] = ()  # Wikimedia central user ids: names can change hands
    default_locale: str = "en"
    proxy_hops: int = 0  # X-Forwarded-* hops added by trusted proxies (Toolforge: 1)
    session_days: int = 30  # a login lasts this long, however active the session

    def __post_init__(self) -> None:
        _at_least(self.proxy_hops, 0, "app.proxy_hops")
        _at_least(self.session_days, 1, "app.session_days")


@dataclass(frozen=True)
class DatabaseConfig:
    url: str = ""
    toolsdb_database: str = "likeness"
    pool_size: int = 2
    pool_recycle: int = 280
    echo: bool = False


@dataclass(frozen=True)
class WikiConfig:
    commons_api: str = "https://commons.wikimedia.org/w/api.php"
    wikidata_api: str = "https://www.wikidata.org/w/api.php"
    oauth_base: str = "https://meta.wikimedia.org/w/rest.php"
    upload_host: str = "https://upload.wikimedia.org"
    commons_wiki: str = "https://commons.wikimedia.org/wiki/"
    wikidata_wiki: str = "https://www.wikidata.org/wiki/"
    timeout: float = 20.0
    maxlag: int = 5


@dataclass(frozen=True)
class OAuthConfig:
    client_id: str = ""
    client_secret: str = ""
    owner_only_token: str = ""
    token_key: str = ""


@dataclass(frozen=True)
class WorkerConfig:
    pool_size: int = 2
    poll_interval: float = 2.0
    lease_seconds: int = 120
    heartbeat_stale_seconds: int = 30
    task_timeout: float = 120.0
    child_memory_mb: int = 1536
    child_cpu_seconds: int = 600
    thumb_width: int = 1280
    max_download_bytes: int = 40_000_000
    download_timeout: float = 30.0
    max_attempts: int = 5
    retry_base_seconds: int = 60
    recrawl_hours: float = 24.0
    batch_size: int = 8
    health_file: str = "/tmp/likeness-worker-health"  # noqa: S108 - a liveness marker only


@dataclass(frozen=True)
class EditsConfig:
    pace_seconds: float = 6.0
    max_badtoken_retries: int = 2
    summary_prefix: str = "Likeness"
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourcesConfig:
    search_files: int = 500
    reupload_checks: int = 2000


@dataclass(frozen=True)
class RetentionConfig:
    inactive_project_days: int = 365


@dataclass(frozen=True)
class QuotaConfig:
    """Per-user limits that keep one person from taking the shared workers for themselves."""

    projects_per_user: int = 20
    files_per_project: int = 10_000
    max_depth: int = 5

    def __post_init__(self) -> None:
        _at_least(self.projects_per_user, 1, "quotas.projects_per_user")
        _at_least(self.files_per_project, 1, "quotas.files_per_project")
        _at_least(self.max_depth, 0, "quotas.max_depth")
        if self.max_depth > MAX_DEPTH:
            raise ConfigError(f"quotas.max_depth: at most {MAX_DEPTH} (the schema's limit)")


def _at_least(value: int, low: int, key: str) -> None:
    if value < low:
        raise ConfigError(f"{key}: must be at least {low}, not {value}")


@dataclass(frozen=True)
class Config:
    secret_key: str = ""
    data_dir: str = str(REPO_ROOT / "instance")
    secure_cookies: bool = True
    app: AppConfig = field(default_factory=AppConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    wiki: WikiConfig = field(default_factory=WikiConfig)
    oauth: OAuthConfig = field(default_factory=OAuthConfig)
    worker: WorkerConfig = field(default_factory=WorkerConfig)
    edits: EditsConfig = field(default_factory=EditsConfig)
    sources: SourcesConfig = field(default_factory=SourcesConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    quotas: QuotaConfig = field(default_factory=QuotaConfig)
    toolsdb_user: str = ""
    toolsdb_password: str = ""

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL: explicit, else ToolsDB from its credentials, else local SQLite."""
        if self.database.url:
            return self.database.url
        if self.toolsdb_user:
            user = self.toolsdb_user
            name = f"{user}__{self.database.toolsdb_database}"
            return (
                f"mysql+pymysql://{quote_plus(user)}:{quote_plus(self.toolsdb_password)}"
                f"@{TOOLSDB_HOST}/{name}?charset=utf8mb4"
            )
        return f"sqlite:///{Path(self.data_dir) / 'likeness.db'}"

    @property
    def oauth_configured(self) -> bool:
        return bool(self.oauth.client_id and self.oauth.client_secret)

    @property
    def login_available(self) -> bool:
        return self.oauth_configured or bool(self.oauth.owner_only_token)


def load_config(
    path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Defaults < config.yaml < TOOL_* environment < explicit overrides (for tests)."""
    environ = os.environ if environ is None else environ
    if path is None:
        path = environ.get("LIKENESS_CONFIG") or REPO_ROOT / "config.yaml"
    merged: dict[str, Any] = {}
    _merge(merged, read_private_yaml(Path(path)))
    _merge(merged, env_to_mapping(environ))
    _merge(merged, dict(overrides or {}))
    return _build(Config, merged, "")


def read_private_yaml(path: Path) -> dict[str, Any]:
    """Read the YAML file if it exists; refuse it when group or others may read it."""
    if not path.exists():
        return {}
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"{path} is readable by other users (mode {stat.filemode(mode)}); it holds secrets. "
            f"Run: chmod 600 {path}"
        )
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping at the top level")
    return data


def env_to_mapping(environ: Mapping[str, str]) -> dict[str, Any]:
    """TOOL_OAUTH__CLIENT_ID=x -> {"oauth": {"client_id": "x"}} (Toolforge uppercases names)."""
    result: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        keys = name[len(ENV_PREFIX):].lower().split("__")
        node = result
        for key in keys[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{name} conflicts with another variable")
        node[keys[-1]] = value
    return result


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        elif isinstance(value, Mapping):
            base[key] = {}
            _merge(base[key], value)
        else:
            base[key] = value


def _build(cls: type, values: Mapping[str, Any], prefix: str) -> Any:
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - known
    if unknown:
        names = ", ".join(prefix + k for k in sorted(unknown))
        raise ConfigError(f"unknown config key(s): {names}")
    kwargs = {}
    for name, value in values.items():
        hint = hints[name]
        key = prefix + name
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            if not isinstance(value, Mapping):
                raise ConfigError(f"{key} must be a mapping")
            kwargs[name] = _build(hint, value, key + ".")
        else:
            kwargs[name] = _coerce(value, hint, key)
    return cls(**kwargs)


def _coerce(value: Any, hint: Any, key: str) -> Any:
    """Turn YAML values and environment strings into the declared type."""
    if typing.get_origin(hint) is tuple:
        if isinstance(value, str):
            value = [item.strip() for item in value.split(",") if item.strip()]
        elif not isinstance(value, list | tuple):
            value = [value]
        item_type = typing.get_args(hint)[0]
        return tuple(_coerce(item, item_type, key) for item in value)
    if isinstance(hint, types.UnionType):
        hint = next(h for h in typing.get_args(hint) if h is not type(None))
    try:
        if hint is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(value)
        if hint in (int, float):
            return hint(value)
        return str(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{key}: cannot read {value!r} as {hint.__name__}") from exc
