"""Fixtures for the hub tests: a running app with a fake clock, and a clinic builder."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from server.settings import ConsultSettings, Settings
from tests.clock import FakeClock
from tests.conftest import Accounts, AppFactory
from tests.support.hub import Clinic

# Fast housekeeping and no practical rate limit, unless a test says otherwise.
FAST_HUB = {
    "hub_tick": 0.05,
    "hub_housekeeping": 0.2,
    "socket_rate": 10_000.0,
    "socket_burst": 10_000,
}

ClinicFactory = Callable[..., Awaitable[Clinic]]


def hub_settings(settings: Settings, **consult: Any) -> Settings:
    return settings.with_(consult=ConsultSettings(**(FAST_HUB | consult)))


@pytest.fixture
async def make_clinic(make_client: AppFactory, settings: Settings) -> AsyncIterator[ClinicFactory]:
    clinics: list[Clinic] = []

    async def factory(
        base: Settings | None = None, *, clock: FakeClock | None = None, **consult: Any
    ) -> Clinic:
        clock = clock or FakeClock()
        client = await make_client(hub_settings(base or settings, **consult), clock=clock)
        clinic = Clinic(client=client, clock=clock, accounts=Accounts(client))
        clinics.append(clinic)
        return clinic

    yield factory
    for clinic in clinics:
        await clinic.close()
    # Every event and ack the test's clients received kept the hub's declared contract (the
    # models of the AsyncAPI document, tests/support/contract.py).
    violations = [v for clinic in clinics for v in clinic.contract_violations()]
    assert not violations, "\n".join(violations)


@pytest.fixture
async def clinic(make_clinic: ClinicFactory) -> Clinic:
    return await make_clinic()
