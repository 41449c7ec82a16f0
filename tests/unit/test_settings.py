"""Settings from TELEMED_* variables, with one-line errors on bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.secrets import resolve_jwt_secret
from server.settings import (
    AuthSettings,
    CoreSettings,
    Environment,
    HttpSettings,
    Settings,
    SettingsError,
)


def test_defaults_match_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TELEMED_HOST", "TELEMED_PORT", "TELEMED_MONGODB_URL", "TELEMED_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    s = Settings.from_env()
    assert (s.http.host, s.http.port) == ("127.0.0.1", 8080)
    assert s.database.mongodb_url is None
    assert s.redis.redis_url is None
    assert s.core.data_dir == Path("./var")


def test_values_are_read_and_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEMED_PORT", "9000")
    monkeypatch.setenv("TELEMED_CORS_ORIGINS", "https://clinic.example, http://localhost:3000/")
    monkeypatch.setenv("TELEMED_ICE_SERVERS", '[{"urls": ["stun:stun.example:3478"]}]')
    monkeypatch.setenv("TELEMED_REDIS_URL", "redis://r:6379/0")
    s = Settings.from_env()
    assert s.http.port == 9000
    assert s.http.cors_origins == ["https://clinic.example", "http://localhost:3000"]
    assert s.media.ice_servers[0].urls == ["stun:stun.example:3478"]
    assert s.redis.redis_url == "redis://r:6379/0"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("TELEMED_PORT", "eighty", "TELEMED_PORT"),
        ("TELEMED_PORT", "70000", "TELEMED_PORT"),
        ("TELEMED_ENV", "staging", "TELEMED_ENV"),
        ("TELEMED_MONGODB_URL", "http://db", "TELEMED_MONGODB_URL"),
        ("TELEMED_ICE_SERVERS", "[{", "TELEMED_ICE_SERVERS"),
        ("TELEMED_CORS_ORIGINS", "https://a.example/path", "TELEMED_CORS_ORIGINS"),
    ],
)
def test_bad_values_give_a_one_line_message(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        Settings.from_env()
    message = str(info.value)
    assert expected in message
    assert "\n" not in message


def test_secret_values_are_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEMED_JWT_SECRET", "short-but-secret")
    settings = Settings.from_env()
    with pytest.raises(SettingsError) as info:
        resolve_jwt_secret(settings)
    assert "short-but-secret" not in str(info.value)
    assert "short-but-secret" not in repr(settings)


def test_development_secret_is_generated_once_and_kept(tmp_path: Path) -> None:
    settings = Settings(core=CoreSettings(data_dir=tmp_path))
    first = resolve_jwt_secret(settings)
    assert len(first) >= 32
    assert resolve_jwt_secret(settings) == first
    assert (tmp_path / "jwt-secret").stat().st_mode & 0o777 == 0o600


def test_production_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    settings = Settings(core=CoreSettings(env=Environment.PRODUCTION, data_dir=tmp_path))
    with pytest.raises(SettingsError, match="TELEMED_JWT_SECRET is required"):
        resolve_jwt_secret(settings)
    assert not (tmp_path / "jwt-secret").exists()
    ok = settings.with_(auth=AuthSettings(jwt_secret="p" * 40))
    assert resolve_jwt_secret(ok) == "p" * 40


@pytest.mark.parametrize(
    ("url", "explicit", "expected"),
    [
        ("mongodb://db.internal:27017/clinic", None, "clinic"),
        ("mongodb://u:p%2F@h1,h2/clinic?replicaSet=rs&authSource=admin", None, "clinic"),
        ("mongodb://db.internal:27017/clinic", "clinic", "clinic"),
        ("mongodb://db.internal:27017/", None, "telemed"),
        ("mongodb://db.internal:27017/?replicaSet=rs", "other", "other"),
        ("mongodb://db.internal:27017", None, "telemed"),
    ],
)
def test_the_database_named_in_the_url_is_used(
    monkeypatch: pytest.MonkeyPatch, url: str, explicit: str | None, expected: str
) -> None:
    monkeypatch.setenv("TELEMED_MONGODB_URL", url)
    if explicit is None:
        monkeypatch.delenv("TELEMED_MONGODB_DATABASE", raising=False)
    else:
        monkeypatch.setenv("TELEMED_MONGODB_DATABASE", explicit)
    assert Settings.from_env().database.mongodb_database == expected


def test_a_url_and_a_database_that_disagree_refuse_to_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TELEMED_MONGODB_URL", "mongodb://u:hunter2@db.internal/clinic")
    monkeypatch.setenv("TELEMED_MONGODB_DATABASE", "telemed")
    with pytest.raises(SettingsError) as info:
        Settings.from_env()
    message = str(info.value)
    assert "TELEMED_MONGODB_DATABASE" in message
    assert "clinic" in message
    assert "hunter2" not in message
    assert "\n" not in message


def test_the_relay_policy_needs_a_turn_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEMED_ICE_TRANSPORT_POLICY", "relay")
    monkeypatch.setenv("TELEMED_ICE_SERVERS", '[{"urls": "stun:stun.example:3478"}]')
    with pytest.raises(SettingsError, match="TELEMED_ICE_TRANSPORT_POLICY"):
        Settings.from_env()
    monkeypatch.setenv("TELEMED_ICE_SERVERS", '[{"urls": "turns:t.example:5349", "username": "u"}]')
    assert Settings.from_env().media.ice_transport_policy == "relay"
    monkeypatch.setenv("TELEMED_ICE_SERVERS", "[]")
    monkeypatch.setenv("TELEMED_TURN_SECRET", "s")
    monkeypatch.setenv("TELEMED_TURN_URLS", "turn:t.example:3478")
    assert Settings.from_env().media.ice_transport_policy == "relay"
    monkeypatch.setenv("TELEMED_ICE_TRANSPORT_POLICY", "direct")
    with pytest.raises(SettingsError, match="TELEMED_ICE_TRANSPORT_POLICY"):
        Settings.from_env()


@pytest.mark.parametrize(
    ("host", "port", "url"),
    [
        ("127.0.0.1", 8080, "http://localhost:8080"),
        ("0.0.0.0", 9000, "http://localhost:9000"),  # noqa: S104 - the setting under test
        ("::", 8080, "http://localhost:8080"),
        ("clinic.lan", 8443, "http://clinic.lan:8443"),
    ],
)
def test_the_local_url_is_what_a_person_on_this_machine_opens(
    host: str, port: int, url: str
) -> None:
    assert HttpSettings(host=host, port=port).local_url == url
