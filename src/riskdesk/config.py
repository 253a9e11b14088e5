"""Typed settings from ``RISKDESK_*`` environment variables and an optional ``.env`` file.

Nothing here opens a file or a connection: :func:`get_settings` only reads the environment. Every field is
listed, with its default and meaning, in ``docs/settings.md``; change both together.
"""

from __future__ import annotations

import base64
import binascii
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Development defaults. They are public, so production refuses to start with any of them.
DEV_SECRET_KEY = "riskdesk-development-secret-key-do-not-use-in-production"  # noqa: S105 - public on purpose; production refuses it
DEV_ENCRYPTION_KEY_ID = "dev"
DEV_ENCRYPTION_KEY = base64.b64encode(b"riskdesk-dev-encryption-key-32b!").decode()
DEV_BLIND_INDEX_KEY = "riskdesk-development-blind-index-key"


class Environment(StrEnum):
    development = "development"
    production = "production"


class InsecureSettings(RuntimeError):
    """Production was asked to start with a missing or public default secret."""


def _parse_key_ring(raw: object) -> dict[str, str]:
    """Accept ``id1:base64key,id2:base64key`` or a JSON object ``{"id1": "base64key"}``."""
    if isinstance(raw, dict):
        return {str(k): str(v) for k, v in raw.items()}
    if not isinstance(raw, str):
        raise ValueError("RISKDESK_ENCRYPTION_KEYS must be 'id:base64key,...' or a JSON object")
    text = raw.strip()
    if not text:
        return {}
    if text.startswith("{"):
        import json

        parsed = json.loads(text)
        if not isinstance(parsed, dict):
            raise ValueError("RISKDESK_ENCRYPTION_KEYS JSON must be an object of key id to base64 key")
        return {str(k): str(v) for k, v in parsed.items()}
    ring: dict[str, str] = {}
    for part in text.split(","):
        key_id, sep, key = part.strip().partition(":")
        if not sep or not key_id or not key:
            raise ValueError(f"RISKDESK_ENCRYPTION_KEYS entry {part.strip()!r} is not 'id:base64key'")
        ring[key_id] = key
    return ring


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RISKDESK_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    env: Environment = Environment.development
    database_url: str = ""
    data_dir: Path = Path("var")
    documents_dir: Path | None = None  # default: <data_dir>/documents
    models_dir: Path | None = None  # default: <data_dir>/models — registered PD model versions
    secret_key: SecretStr = SecretStr(DEV_SECRET_KEY)
    encryption_keys: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=lambda: {DEV_ENCRYPTION_KEY_ID: DEV_ENCRYPTION_KEY}, repr=False
    )
    encryption_active_key: str = ""
    blind_index_key: SecretStr = SecretStr(DEV_BLIND_INDEX_KEY)

    session_hours: int = Field(default=12, ge=1, le=24 * 30)
    token_days: int = Field(default=90, ge=1, le=3650)
    login_max_failures: int = Field(default=5, ge=1)
    login_lockout_minutes: int = Field(default=15, ge=1)
    password_min_length: int = Field(default=10, ge=8)
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65536, ge=8)

    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    max_upload_bytes: int = Field(default=20_971_520, ge=1024)
    page_size: int = Field(default=50, ge=1, le=500)
    audit_block_size: int = Field(default=1024, ge=2)
    log_json: bool = False

    credit_policy_file: Path | None = None  # default: the expert policy shipped in riskdesk/credit
    watch_review_days: int = Field(default=30, ge=1, le=366)  # a watch-listed customer is reviewed this often

    # Registry verification through an HTTP API; without registry_url the imported snapshot is used.
    registry_url: str = ""  # e.g. https://registry.example/api/company?code={uscc}
    registry_headers: dict[str, str] = Field(default_factory=dict, repr=False)  # JSON; may hold an API key
    registry_fields: dict[str, str] = Field(default_factory=dict)  # our field → dotted path in the answer (JSON)
    registry_found_path: str = ""
    registry_error_path: str = ""  # e.g. error_code: a non-zero value there makes the check incomplete …
    registry_not_found_codes: list[str] = Field(default_factory=list)  # … except these, meaning "no such company"
    registry_timeout_seconds: float = Field(default=5.0, gt=0)
    registry_retries: int = Field(default=2, ge=0, le=10)
    registry_cache_seconds: float = Field(default=86400.0, ge=0)
    registry_max_per_second: float = Field(default=5.0, gt=0)
    cookie_secure: bool | None = None  # None: Secure cookies in production, plain in development
    # Monitoring events through a Redis Stream (scale-out mode): `riskdesk monitor worker` reads it as a group.
    redis_url: str = ""  # e.g. redis://127.0.0.1:6379/0
    events_stream: str = Field(default="riskdesk:events", min_length=1)
    events_group: str = Field(default="riskdesk-monitoring", min_length=1)
    events_partitions: int = Field(default=1, ge=1, le=256)
    worker_batch: int = Field(default=500, ge=1, le=1000)
    worker_block_ms: int = Field(default=100, ge=1, le=60_000)
    worker_claim_idle_seconds: float = Field(default=30.0, gt=0)

    # Notifications (riskdesk.comms): e-mail over SMTP, webhooks, and the web app's delivery loop.
    smtp_host: str = ""  # empty: e-mail notifications fail with a last error saying so
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_from: str = "riskdesk@localhost"
    smtp_username: str = ""  # empty: no AUTH
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = True
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    notifications_interval_seconds: float = Field(default=0.0, ge=0)  # 0: the web app runs no delivery loop
    public_url: str = ""  # e.g. https://riskdesk.example: links in e-mails become absolute

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("RISKDESK_PUBLIC_URL must start with https:// or http://, e.g. https://riskdesk.example")
        return value

    @field_validator("encryption_keys", mode="before")
    @classmethod
    def _ring(cls, value: object) -> dict[str, str]:
        return _parse_key_ring(value)

    @field_validator("encryption_keys")
    @classmethod
    def _keys_are_256_bit(cls, ring: dict[str, str]) -> dict[str, str]:
        for key_id, key in ring.items():
            try:
                raw = base64.b64decode(key, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise ValueError(f"encryption key {key_id!r} is not valid base64") from exc
            if len(raw) != 32:
                raise ValueError(
                    f"encryption key {key_id!r} must decode to 32 bytes (AES-256), got {len(raw)};"
                    " make one with `riskdesk keys generate`"
                )
        return ring

    @model_validator(mode="after")
    def _registry_mapping(self) -> Self:
        if self.registry_url:
            if "{uscc}" not in self.registry_url:
                raise ValueError("RISKDESK_REGISTRY_URL needs a {uscc} placeholder where the code goes")
            missing = {"name", "uscc"} - set(self.registry_fields)
            if missing:
                raise ValueError(
                    "RISKDESK_REGISTRY_FIELDS must map at least name and uscc to paths in the answer, e.g."
                    ' {"name": "result.name", "uscc": "result.creditCode"}; missing: ' + ", ".join(sorted(missing))
                )
        return self

    @model_validator(mode="after")
    def _active_key_in_ring(self) -> Self:
        if not self.encryption_keys:
            raise ValueError("RISKDESK_ENCRYPTION_KEYS is empty; give at least one 'id:base64key'")
        if not self.encryption_active_key:
            self.encryption_active_key = list(self.encryption_keys)[-1]
        if self.encryption_active_key not in self.encryption_keys:
            raise ValueError(
                f"RISKDESK_ENCRYPTION_ACTIVE_KEY {self.encryption_active_key!r} is not in"
                f" RISKDESK_ENCRYPTION_KEYS ({', '.join(self.encryption_keys)})"
            )
        return self

    @property
    def is_production(self) -> bool:
        return self.env is Environment.production

    @property
    def secure_cookies(self) -> bool:
        return self.is_production if self.cookie_secure is None else self.cookie_secure

    @property
    def resolved_documents_dir(self) -> Path:
        return self.documents_dir or self.data_dir / "documents"

    @property
    def resolved_models_dir(self) -> Path:
        return self.models_dir or self.data_dir / "models"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'riskdesk.db').as_posix()}"

    def insecure_reasons(self) -> list[str]:
        """What would make this configuration unsafe in production (empty when it is fine)."""
        reasons = []
        secret = self.secret_key.get_secret_value()
        if secret == DEV_SECRET_KEY or len(secret) < 32:
            reasons.append("RISKDESK_SECRET_KEY is missing, the development default, or shorter than 32 characters")
        if self.encryption_keys.get(DEV_ENCRYPTION_KEY_ID) == DEV_ENCRYPTION_KEY or any(
            key == DEV_ENCRYPTION_KEY for key in self.encryption_keys.values()
        ):
            reasons.append("RISKDESK_ENCRYPTION_KEYS contains the public development key")
        blind = self.blind_index_key.get_secret_value()
        if blind == DEV_BLIND_INDEX_KEY or len(blind) < 32:
            reasons.append(
                "RISKDESK_BLIND_INDEX_KEY is missing, the development default, or shorter than 32 characters"
            )
        return reasons

    def check_production_safety(self) -> None:
        """Refuse to run in production with a secret anybody can read in this source."""
        if self.is_production:
            reasons = self.insecure_reasons()
            if reasons:
                raise InsecureSettings(
                    "refusing to start in production: " + "; ".join(reasons) + ". Set them in the environment."
                )


def get_settings(**overrides: object) -> Settings:
    """Read settings from the environment; keyword overrides win (used by the demo and tests)."""
    return Settings(**overrides)  # type: ignore[arg-type]
