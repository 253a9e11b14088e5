from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from riskdesk.config import InsecureSettings, Settings
from riskdesk.security.crypto import generate_key


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_production_refuses_the_development_defaults() -> None:
    with pytest.raises(InsecureSettings) as caught:
        settings(env="production").check_production_safety()
    message = str(caught.value)
    assert "RISKDESK_SECRET_KEY" in message
    assert "RISKDESK_ENCRYPTION_KEYS" in message
    assert "RISKDESK_BLIND_INDEX_KEY" in message


def test_production_starts_with_real_secrets() -> None:
    settings(
        env="production", secret_key="s" * 40, encryption_keys=f"prod1:{generate_key()}", blind_index_key="b" * 40
    ).check_production_safety()


def test_key_ring_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = generate_key(), generate_key()
    monkeypatch.setenv("RISKDESK_ENCRYPTION_KEYS", f"a:{first},b:{second}")
    loaded = settings()
    assert loaded.encryption_keys == {"a": first, "b": second}
    assert loaded.encryption_active_key == "b"


def test_short_keys_are_refused_with_the_fix() -> None:
    with pytest.raises(ValidationError, match="riskdesk keys generate"):
        settings(encryption_keys="a:c2hvcnQ=")


def test_active_key_must_be_in_the_ring() -> None:
    with pytest.raises(ValidationError, match="not in"):
        settings(encryption_keys=f"a:{generate_key()}", encryption_active_key="z")


def test_default_database_is_a_sqlite_file_under_var() -> None:
    assert settings().resolved_database_url == "sqlite:///var/riskdesk.db"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("en;q=0.1, zh;q=0.9", "zh"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("en-US,en", "en"),
        ("fr, de", "zh"),
        ("en, zh", "en"),
        ("zh;q=0, en;q=0.5", "en"),
        ("", "zh"),
    ],
)
def test_language_follows_accept_language_quality_values(header: str, expected: str) -> None:
    from riskdesk.web.i18n import pick_language

    assert pick_language(None, header) == expected


def test_production_cookies_are_secure_unless_switched_off() -> None:
    assert settings(env="production").secure_cookies
    assert not settings().secure_cookies
    assert not settings(env="production", cookie_secure=False).secure_cookies


def test_the_settings_table_names_every_setting() -> None:
    table = (Path(__file__).parents[2] / "docs" / "settings.md").read_text(encoding="utf-8")
    assert [name for name in Settings.model_fields if f"`RISKDESK_{name.upper()}`" not in table] == []


def test_the_public_url_must_be_http_and_loses_its_trailing_slash() -> None:
    assert settings(public_url="https://riskdesk.example/").public_url == "https://riskdesk.example"
    with pytest.raises(ValidationError, match="RISKDESK_PUBLIC_URL must start with https://"):
        settings(public_url="riskdesk.example")
