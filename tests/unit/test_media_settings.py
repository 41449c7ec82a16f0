"""Media settings: TURN REST and the pre-call check, each mistake a one-line message."""

from __future__ import annotations

import pytest

from server.settings import Settings, SettingsError


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TELEMED_TURN_SECRET", "TELEMED_TURN_URLS", "TELEMED_PRECALL_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    media = Settings.from_env().media
    assert media.turn_secret is None
    assert (media.precall_timeout, media.precall_measure_seconds) == (60.0, 5.0)
    assert (media.precall_max_per_user, media.precall_max_total) == (2, 10)
    assert media.precall_rate_limit == "10/minute"


def test_values_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEMED_TURN_SECRET", "very-secret-turn")
    monkeypatch.setenv("TELEMED_TURN_URLS", "turn:t.example:3478, turns:t.example:5349")
    monkeypatch.setenv("TELEMED_PRECALL_TIMEOUT", "30")
    monkeypatch.setenv("TELEMED_PRECALL_RATE_LIMIT", "3/minute")
    settings = Settings.from_env()
    assert settings.media.turn_urls == ["turn:t.example:3478", "turns:t.example:5349"]
    assert settings.media.precall_timeout == 30.0
    assert "very-secret-turn" not in repr(settings)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"TELEMED_TURN_SECRET": "very-secret-x"}, "TELEMED_TURN_URLS is required"),
        (
            {"TELEMED_PRECALL_TIMEOUT": "5", "TELEMED_PRECALL_MEASURE_SECONDS": "5"},
            "TELEMED_PRECALL_MEASURE_SECONDS must be below",
        ),
        ({"TELEMED_PRECALL_TIMEOUT": "0"}, "TELEMED_PRECALL_TIMEOUT"),
        ({"TELEMED_PRECALL_MAX_PER_USER": "0"}, "TELEMED_PRECALL_MAX_PER_USER"),
        ({"TELEMED_PRECALL_RATE_LIMIT": "lots"}, "TELEMED_PRECALL_RATE_LIMIT"),
    ],
)
def test_mistakes_are_one_line(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        Settings.from_env()
    message = str(info.value)
    assert expected in message
    assert "\n" not in message
    assert "very-secret" not in message
