"""Fixtures of the REST tests: the clinic most of them run in (tests/server/clinic.py)."""

from __future__ import annotations

import pytest

from server.settings import Settings
from tests.clock import FakeClock
from tests.conftest import AppFactory, long_sessions
from tests.server.clinic import MONDAY, Clinic


@pytest.fixture
async def clinic(make_client: AppFactory, settings: Settings) -> Clinic:
    """The clinic on a fake clock at :data:`MONDAY`, with sessions that outlast the tests'
    clock moves. A test module that needs other settings defines its own ``clinic``."""
    clock = FakeClock(MONDAY)
    client = await make_client(long_sessions(settings), clock=clock)
    return await Clinic.open(client, clock)
