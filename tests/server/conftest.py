"""Fixtures of the REST tests: the clinic most of them run in (tests/server/clinic.py)."""

from __future__ import annotations

import pytest

from server.settings import Settings
from tests.clock import FakeClock
from tests.conftest import AppFactory, long_sessions
from tests.server.clinic import MONDAY, Clinic, monday_ahead


@pytest.fixture
async def clinic(make_client: AppFactory, settings: Settings) -> Clinic:
    """The clinic on a fake clock at :data:`MONDAY`, with sessions that outlast the tests'
    clock moves. A test module that needs other settings defines its own ``clinic``."""
    clock = FakeClock(MONDAY)
    client = await make_client(long_sessions(settings), clock=clock)
    return await Clinic.open(client, clock)


@pytest.fixture
async def clinic_ahead(make_client: AppFactory, settings: Settings) -> Clinic:
    """The clinic on a fake clock at a Monday ahead of the real date (:func:`monday_ahead`), for
    the modules whose documents expire by a TTL index."""
    clock = FakeClock(monday_ahead())
    client = await make_client(long_sessions(settings), clock=clock)
    return await Clinic.open(client, clock)
