"""A periodic job runs every interval while inside, survives a failed round, and stops with
the app."""

from __future__ import annotations

import asyncio

from server.periodic import periodically


async def test_a_job_runs_every_interval_survives_a_failure_and_stops() -> None:
    rounds: list[int] = []
    fourth = asyncio.Event()

    async def job() -> int:
        rounds.append(len(rounds))
        if len(rounds) == 2:
            raise RuntimeError("the database went away")
        if len(rounds) == 4:
            fourth.set()
        return 1

    async with periodically(job, interval=0.01, name="test-job"):
        await asyncio.wait_for(fourth.wait(), 5)  # the failed second round did not end the job
    seen = len(rounds)
    await asyncio.sleep(0.05)
    assert len(rounds) == seen  # stopped with the context
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "test-job"]
