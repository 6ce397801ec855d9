"""Settings from ZTC_* environment variables (and an optional .env), validated once in main()."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values  # python-dotenv: pydantic-settings reads .env with it too
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.db import async_url

LOCALES = ("zh_CN", "en")


class SettingsError(Exception):
    """A setting is missing or bad; the message names it."""


def data_dir() -> Path:
    """Where ztc keeps its files when no URL or path says otherwise (an absolute path, never
    the current directory): ZTC_DATA_DIR; else systemd's StateDirectory= (/var/lib/ztc for
    `StateDirectory=ztc`, deploy/ztc.service); else `$XDG_DATA_HOME/ztc`
    (~/.local/share/ztc)."""
    if value := os.environ.get("ZTC_DATA_DIR"):
        return Path(value).expanduser().resolve()
    if value := os.environ.get("STATE_DIRECTORY"):
        return Path(value.split(":")[0]).resolve()  # systemd lists one per StateDirectory
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg).expanduser().resolve() / "ztc"


def default_database_url() -> str:
    """SQLite in the data folder."""
    return f"sqlite:///{data_dir() / 'ztc.db'}"


def env_files() -> tuple[Path, ...]:
    """The .env files read, the later overriding: the data folder's, then the current one's."""
    return (data_dir() / ".env", Path(".env"))


class Settings(BaseSettings):
    """Everything configurable about a deployment."""

    model_config = SettingsConfigDict(env_prefix="ZTC_", env_file=".env", extra="ignore")

    bot_token: SecretStr | None = None
    bot_username: str | None = None
    database_url: str = Field(default_factory=default_database_url)
    bot_api_url: str = "https://api.telegram.org"
    policy: Path | None = None
    timezone: str = "Asia/Shanghai"
    default_locale: str = "zh_CN"
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    # The group robots' platforms (another address: a proxy, or a test's fake).
    wecom_api_url: str = "https://qyapi.weixin.qq.com"
    dingtalk_api_url: str = "https://oapi.dingtalk.com"
    feishu_api_url: str = "https://open.feishu.cn"
    # The intake API served inside `ztc run` (bot/api/): off unless a port is given.
    api_port: int | None = Field(default=None, ge=1, le=65535)
    api_host: str = "127.0.0.1"
    # /healthz and /metrics (bot/ops.py), served inside `ztc run`: off unless a port is given.
    ops_port: int | None = Field(default=None, ge=1, le=65535)
    ops_host: str = "127.0.0.1"
    log_format: Literal["text", "json"] = "text"  # json: one object per line, for machines

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        async_url(value)  # raises ValueError for a scheme we cannot drive
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("default_locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        if value not in LOCALES:
            raise ValueError(f"must be one of {', '.join(LOCALES)}")
        return value

    @property
    def tz(self) -> ZoneInfo:
        """The city's time zone."""
        return ZoneInfo(self.timezone)

    def secret(self, name: str) -> str | None:
        """A variable the policy's groups name (a robot's key, a signing secret): from the
        environment, else the `.env` file. Read when needed and never kept as a field, so it
        is never printed with the settings."""
        value = os.environ.get(name)
        for path in reversed(env_files()):  # the current folder's first, as for the settings
            if value is None and path.is_file():
                value = dotenv_values(path).get(name)
        return (value or "").strip() or None


def load_settings() -> Settings:
    """Read the settings; raise SettingsError naming the first bad variable."""
    try:
        return Settings(_env_file=env_files())
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "ZTC_" + str(first["loc"][0]).upper() if first["loc"] else "ZTC_*"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"{name}: {message}") from None
