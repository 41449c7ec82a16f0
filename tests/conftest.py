"""Shared fixtures: a real SecantusDB (MongoDB wire) server and a real Redis server, each
started once per test session as a separate process; one fresh database per test."""

from __future__ import annotations

import gc
import os
import shutil
import tracemalloc
import uuid
import warnings
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from argon2 import PasswordHasher
from pymongo import MongoClient

from domain.users import Role
from server.app import create_app
from server.auth.passwords import Passwords
from server.settings import (
    AuthSettings,
    CoreSettings,
    DatabaseSettings,
    Environment,
    HttpSettings,
    NotificationSettings,
    PharmacySettings,
    PrescriptionReview,
    RedisSettings,
    Settings,
)
from storage.embedded import EmbeddedDatabase
from tests.support.redis_server import RedisProcess

ROOT = Path(__file__).resolve().parents[1]
# The browser tests' screenshots (tests/e2e/conftest.py), of this run only.
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"

TEST_SECRET = "test-secret-" + "x" * 40

# argon2id with small costs: same algorithm and code path, far less CPU per test.
FAST_PASSWORDS = Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture(scope="session")
def mongo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real MongoDB-wire server for the whole session (SecantusDB as a child process),
    or TELEMED_TEST_MONGODB_URL when given."""
    given = os.environ.get("TELEMED_TEST_MONGODB_URL")
    if given:
        yield given
        return
    path = tmp_path_factory.mktemp("secantus")
    with EmbeddedDatabase(path / "data", log_path=path / "secantusdb.log") as db:
        yield db.url


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis server for the session (``redis-server`` must be installed; the README's
    test command installs it)."""
    given = os.environ.get("TELEMED_TEST_REDIS_URL")
    if given:
        yield given
        return
    try:
        server = RedisProcess(tmp_path_factory.mktemp("redis"), persistent=False)
    except RuntimeError as exc:  # not installed
        pytest.fail(str(exc))
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def db_name(mongo_url: str) -> Iterator[str]:
    name = "t_" + uuid.uuid4().hex[:16]
    yield name
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_url)
    try:
        client.drop_database(name)
    finally:
        client.close()


METRICS_TOKEN = "test-metrics-token-0123456789"
# The headers a Prometheus scraper sends to GET /metrics (the token of make_settings).
METRICS = {"Authorization": f"Bearer {METRICS_TOKEN}"}


def make_settings(
    mongo_url: str, db_name: str, data_dir: Path, *, redis_url: str | None = None, **auth: Any
) -> Settings:
    return Settings(
        core=CoreSettings(env=Environment.TEST, data_dir=data_dir, log_level="WARNING"),
        http=HttpSettings(
            rate_limit="100000/minute",
            rate_limit_anonymous="100000/minute",
            metrics_token=METRICS_TOKEN,
        ),
        database=DatabaseSettings(mongodb_url=mongo_url, mongodb_database=db_name),
        redis=RedisSettings(redis_url=redis_url),
        auth=AuthSettings(jwt_secret=TEST_SECRET, **auth),
        # Today's behaviour for the tests of everything else; the pharmacy tests turn review on.
        pharmacy=PharmacySettings(prescription_review=PrescriptionReview.OFF),
        # Appointment notifications only where a test reads them (tests/server/notify.py's sink
        # turns them on): elsewhere their background sends and audit entries are noise.
        notifications=NotificationSettings(notify_enabled=False),
    )


def long_sessions(settings: Settings) -> Settings:
    """Tokens and sessions that outlive the days these tests move the fake clock by.

    Sessions are dated by the fake clock (March 2026) but the database's TTL monitor deletes
    them a week past their expiry by the real clock, so they must expire years after the
    fake dates, or a test would find its sign-in gone mid-run.
    """
    day = 86_400
    return settings.with_(
        auth=AuthSettings(
            jwt_secret=TEST_SECRET,
            access_token_ttl=day,
            idle_timeout=20 * 365 * day,
            refresh_token_ttl=20 * 365 * day,
        )
    )


@pytest.fixture
def settings(mongo_url: str, db_name: str, tmp_path: Path) -> Settings:
    return make_settings(mongo_url, db_name, tmp_path / "var")


AppFactory = Callable[..., Awaitable[TestClient[web.Request, web.Application]]]


@pytest.fixture
def make_client(aiohttp_client: Any) -> AppFactory:
    """Build the real application from settings and serve it on a real socket."""

    async def factory(
        settings: Settings, **kwargs: Any
    ) -> TestClient[web.Request, web.Application]:
        kwargs.setdefault("passwords", FAST_PASSWORDS)
        app = create_app(settings, **kwargs)
        client: TestClient[web.Request, web.Application] = await aiohttp_client(app)
        return client

    return factory


@pytest.fixture
async def client(
    make_client: AppFactory, settings: Settings
) -> TestClient[web.Request, web.Application]:
    return await make_client(settings)


# ---------------------------------------------------------------------------- accounts


STRONG_PASSWORD = "correct-Horse-battery-staple-42"


class Accounts:
    """Creates users through the real service and signs them in through the real API."""

    def __init__(self, client: TestClient[web.Request, web.Application]) -> None:
        self.client = client
        self._n = 0

    async def create(
        self,
        role: Role = Role.PATIENT,
        *,
        name: str | None = None,
        specialty: str | None = None,
        timezone: str = "UTC",
    ) -> dict[str, Any]:
        from server import keys

        self._n += 1
        email = f"{role.value}{self._n}-{uuid.uuid4().hex[:6]}@example.com"
        user = await self.client.app[keys.ACCOUNTS].create_user(
            email=email,
            password=STRONG_PASSWORD,
            name=name or f"{role.value.title()} {self._n}",
            role=role,
            specialty=specialty or ("General practice" if role is Role.DOCTOR else None),
            timezone=timezone,
        )
        tokens = await self.login(email)
        return {"user": tokens["user"], "email": email, "id": user.id, **tokens}

    async def login(self, email: str, password: str = STRONG_PASSWORD) -> dict[str, Any]:
        response = await self.client.post(
            "/api/v1/auth/login", json={"email": email, "password": password}
        )
        assert response.status == 200, await response.text()
        body: dict[str, Any] = await response.json()
        return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def accounts(client: TestClient[web.Request, web.Application]) -> Accounts:
    return Accounts(client)


class _BrowserLanesPlugin:
    """Under ``--dist loadscope`` (scripts/test.sh), a module's tests run on one worker and one
    module at a time drives Chromium (tests/support/xdist_lanes.py). Registered only when xdist
    is loaded: pytest refuses a hook it does not know (``-p no:xdist``)."""

    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> Any:
        if config.getvalue("dist") != "loadscope":
            return None
        from tests.support.xdist_lanes import BrowserLanes

        return BrowserLanes(config, log)


def pytest_configure(config: pytest.Config) -> None:
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_BrowserLanesPlugin(), "telemed-browser-lanes")


def pytest_sessionstart(session: pytest.Session) -> None:
    """Empties the screenshots folder once per run: in the process that runs the session, not
    in pytest-xdist's workers (``workerinput``), which share the folder, each writing the files
    of its own tests."""
    if not hasattr(session.config, "workerinput"):
        shutil.rmtree(SCREENSHOTS, ignore_errors=True)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """What is still unclosed when the session ends, and belongs to no test in particular (a
    leak inside a test still fails that test: warnings are errors), is listed here instead of
    failing the run after every test passed. The list is printed; a leak listed here is a bug to
    find (with PYTHONTRACEMALLOC=20 the warning says where the object was made). One is known:
    a socket with a local address and no peer is PyMongo's (4.20): an AsyncMongoClient closed
    while it connects to a database that refuses leaves the connecting socket unclosed
    (``pool_shared._async_create_connection`` closes it on OSError and timeouts, not on
    cancellation; upstream PYTHON-5867). Tests that stop a database make it happen. The socket
    sits in a reference cycle, so the collector may also find it during a later test: the
    ``filterwarnings`` of pyproject.toml let exactly that socket through there."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        for _ in range(3):
            gc.collect()
    for warning in caught:
        print(f"\nleft unclosed at the end of the session: {warning.message}")
        made = tracemalloc.get_object_traceback(warning.source) if warning.source else None
        if made is not None:
            print("made at (most recent call last):\n" + "\n".join(made.format()))
