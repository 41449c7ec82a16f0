"""The `telemed` command line: settings errors, user creation, the demo clinic."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient

from server import keys
from server.demo import DEMO_USERS, seed_demo
from server.settings import Settings
from tests.conftest import STRONG_PASSWORD, Accounts, bearer

Client = TestClient[web.Request, web.Application]


def telemed(*args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TELEMED_")} | env
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        env=environment,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_bad_setting_is_one_clear_line(tmp_path: Path) -> None:
    result = telemed("serve", TELEMED_PORT="eighty", TELEMED_DATA_DIR=str(tmp_path))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "TELEMED_PORT" in lines[0]


def test_production_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    result = telemed("serve", TELEMED_ENV="production", TELEMED_DATA_DIR=str(tmp_path))
    assert result.returncode == 2
    assert "TELEMED_JWT_SECRET is required" in result.stderr
    assert not (tmp_path / "db").exists()  # refused before anything started


def test_user_create(tmp_path: Path, mongo_url: str, db_name: str) -> None:
    env = {
        "TELEMED_MONGODB_URL": mongo_url,
        "TELEMED_MONGODB_DATABASE": db_name,
        "TELEMED_DATA_DIR": str(tmp_path),
    }
    created = telemed(
        "user",
        "create",
        "--email",
        "root@example.com",
        "--password",
        "-",
        "--name",
        "Root",
        "--role",
        "admin",
        stdin=STRONG_PASSWORD + "\n",
        **env,
    )
    assert created.returncode == 0, created.stderr
    assert "created admin root@example.com" in created.stdout
    doctor = telemed(
        "user",
        "create",
        "--email",
        "doc@example.com",
        "--password",
        STRONG_PASSWORD,
        "--name",
        "Doc",
        "--role",
        "doctor",
        "--specialty",
        "Dermatology",
        **env,
    )
    assert doctor.returncode == 0, doctor.stderr
    duplicate = telemed(
        "user",
        "create",
        "--email",
        "ROOT@example.com",
        "--password",
        STRONG_PASSWORD,
        "--name",
        "Again",
        "--role",
        "admin",
        **env,
    )
    assert duplicate.returncode == 1
    assert "already exists" in duplicate.stderr
    weak = telemed(
        "user",
        "create",
        "--email",
        "w@example.com",
        "--password",
        "password",
        "--name",
        "W",
        "--role",
        "patient",
        **env,
    )
    assert weak.returncode == 1
    assert "password" in weak.stderr


async def test_demo_seed_is_idempotent_and_its_sign_ins_work(client: Client) -> None:
    await seed_demo(client.app)
    await seed_demo(client.app)
    # The demo's sign-ins, and Zhang Wei's son, a family member without one: once each.
    assert await client.app[keys.DATABASE].repos.users.count() == len(DEMO_USERS) + 1
    for demo in DEMO_USERS:
        response = await client.post(
            "/api/v1/auth/login", json={"email": demo.email, "password": demo.password}
        )
        assert response.status == 200
        assert (await response.json())["user"]["role"] == demo.role.value


async def test_user_deactivate_and_reactivate(
    client: Client, accounts: Accounts, settings: Settings, tmp_path: Path
) -> None:
    """``telemed user deactivate EMAIL`` ends the account's sign-ins in the database (its access
    token is refused at once by the running server) and refuses new ones; ``reactivate``
    lets it sign in again."""
    user = await accounts.create()
    env = {
        "TELEMED_MONGODB_URL": settings.database.mongodb_url,
        "TELEMED_MONGODB_DATABASE": settings.database.mongodb_database,
        "TELEMED_DATA_DIR": str(tmp_path),
    }
    loop = asyncio.get_running_loop()
    done = await loop.run_in_executor(
        None, lambda: telemed("user", "deactivate", user["email"].upper(), **env)
    )
    assert done.returncode == 0, done.stderr
    assert f"deactivated {user['email']}" in done.stdout
    assert "1 sign-in(s) ended" in done.stdout
    assert (await client.get("/api/v1/me", headers=bearer(user["access_token"]))).status == 401
    login = {"email": user["email"], "password": STRONG_PASSWORD}
    assert (await client.post("/api/v1/auth/login", json=login)).status == 401

    missing = await loop.run_in_executor(
        None, lambda: telemed("user", "deactivate", "nobody@example.com", **env)
    )
    assert missing.returncode == 1
    assert "no such user" in missing.stderr

    back = await loop.run_in_executor(
        None, lambda: telemed("user", "reactivate", user["email"], **env)
    )
    assert back.returncode == 0, back.stderr
    assert (await client.post("/api/v1/auth/login", json=login)).status == 200


def test_user_create_applies_the_display_text_rule(
    tmp_path: Path, mongo_url: str, db_name: str
) -> None:
    """A name or specialty with a bidi override, a zero-width space or a control character is
    refused with one line naming the field and the character; nothing is created."""
    env = {
        "TELEMED_MONGODB_URL": mongo_url,
        "TELEMED_MONGODB_DATABASE": db_name,
        "TELEMED_DATA_DIR": str(tmp_path),
    }
    base = ["user", "create", "--password", STRONG_PASSWORD, "--role", "doctor"]
    cases = [
        (["--name", "Dr \u202egnaW", "--specialty", "Cardiology"], "name", "U+202E"),
        (["--name", "Dr Wang", "--specialty", "Cardio\u200blogy"], "specialty", "U+200B"),
        (["--name", "Dr \x1b[31mWang", "--specialty", "Cardiology"], "name", "U+001B"),
    ]
    for n, (args, field, char) in enumerate(cases):
        result = telemed(*base, "--email", f"d{n}@example.com", *args, **env)
        assert result.returncode == 1, result.stdout
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1
        assert f"{field} must not contain the character {char}" in lines[0]
    fine = telemed(
        *base, "--email", "ok@example.com", "--name", "王医生", "--specialty", "心内科", **env
    )
    assert fine.returncode == 0, fine.stderr
    again = telemed(*base, "--email", "d0@example.com", "--name", "D", "--specialty", "C", **env)
    assert again.returncode == 0, again.stderr  # the refused address was never taken
