"""`telemed precall` as an operator runs it: a separate process against a real server."""

from __future__ import annotations

from typing import Any

import pytest

from domain.users import Role
from media.probe import ProbeError, ProbeOptions, run_precall
from server import keys
from server.settings import MediaSettings, Settings
from storage.embedded import free_port
from tests.conftest import STRONG_PASSWORD, Accounts, AppFactory
from tests.support.cli import telemed_json


async def telemed_precall(url: str, email: str, password: str) -> tuple[int, dict[str, Any]]:
    return await telemed_json(
        "precall",
        "--url",
        url,
        "--email",
        email,
        "--password",
        "-",
        "--width",
        "320",
        "--height",
        "240",
        "--fps",
        "15",
        "--timeout",
        "30",
        password=password,
    )


async def test_a_check_from_the_command_line(make_client: AppFactory, settings: Settings) -> None:
    client = await make_client(settings.with_(media=MediaSettings(precall_measure_seconds=2)))
    user = await Accounts(client).create(Role.PATIENT)
    url = str(client.make_url("/"))

    code, result = await telemed_precall(url, user["email"], STRONG_PASSWORD)
    assert code == 0, result
    assert result["ok"] is True
    assert result["verdict"] in ("good", "poor")
    assert result["echo_frames"] > 0  # it saw its own picture come back
    assert result["audio_frames"] > 0
    assert result["rtt_ms"] > 0
    assert result["bitrate_kbps"] > 0
    assert result["measured_seconds"] >= 2
    assert 0 <= result["connect_ms"] <= result["first_echo_ms"]
    assert client.app[keys.PRECALL].open_peers == 0  # it stopped its check

    code, result = await telemed_precall(url, user["email"], "wrong password, surely")
    assert code == 3
    assert result == {
        "ok": False,
        "error": {"code": "unauthorized", "message": result["error"]["message"]},
    }


async def test_an_unreachable_server() -> None:
    code, result = await telemed_precall(f"http://127.0.0.1:{free_port()}", "a@b.example", "x")
    assert code == 3
    assert result["error"]["code"] == "unreachable"


async def test_bad_video_options_are_refused_before_anything_runs() -> None:
    options = ProbeOptions(url="http://127.0.0.1:9", email="a@b.example", password="x", width=330)
    with pytest.raises(ProbeError) as caught:
        await run_precall(options)
    assert caught.value.code == "invalid_argument"
