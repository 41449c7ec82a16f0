"""A download link's ticket never lands in the server's log: ``telemed serve`` as a process
(as deployed: its own logging, no access log), logging at DEBUG, serving a link's download, a
range of it, and the refusals a ticket can meet; then its whole output is searched."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from domain.clock import utc_now
from domain.ids import UserId, new_id
from domain.recording import Recording, RecordingStatus
from domain.users import Role
from tests.conftest import TEST_SECRET
from tests.support.cluster import People, shared_database, sign_in, start_node, wait_ready

pytestmark = pytest.mark.slow


async def test_a_ticket_never_reaches_the_server_log(
    tmp_path: Path, mongo_url: str, db_name: str
) -> None:
    node = start_node(
        tmp_path,
        {
            "TELEMED_ENV": "test",
            "TELEMED_MONGODB_URL": mongo_url,
            "TELEMED_MONGODB_DATABASE": db_name,
            "TELEMED_JWT_SECRET": TEST_SECRET,
            "TELEMED_LOG_LEVEL": "DEBUG",
        },
    )
    tickets: list[str] = []
    try:
        await asyncio.to_thread(wait_ready, [node])
        async with shared_database(mongo_url, db_name, tmp_path) as db:
            people = People(database=db, tmp_path=tmp_path, mongo_url=mongo_url, db_name=db_name)
            patient = await people.user(Role.PATIENT, f"p-{new_id()}@example.com")
            doctor = await people.user(Role.DOCTOR, f"d-{new_id()}@example.com")
            recording_id = new_id()
            folder = node.log_path.parent / "recordings"  # the node's TELEMED_DATA_DIR
            await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
            await asyncio.to_thread((folder / f"{recording_id}.webm").write_bytes, b"w" * 4096)
            await db.repos.recordings.insert(
                Recording(
                    id=recording_id,
                    appointment_id=new_id(),
                    patient_id=UserId(patient.id),
                    doctor_id=UserId(doctor.id),
                    status=RecordingStatus.COMPLETE,
                    started_at=utc_now(),
                    started_by=UserId(doctor.id),
                    node="test",
                    file_name=f"{recording_id}.webm",
                )
            )
        signed_in = await sign_in(node, patient.email)
        auth = {"Authorization": f"Bearer {signed_in['access_token']}"}

        async with aiohttp.ClientSession(node.url) as http:

            async def status(method: str, url: str, **kw: Any) -> int:
                async with http.request(method, url, **kw) as response:
                    await response.read()
                    return response.status

            async def link() -> str:
                async with http.post(
                    f"/api/v1/recordings/{recording_id}/download-link", headers=auth
                ) as response:
                    assert response.status == 200, await response.text()
                    url: str = (await response.json())["url"]
                tickets.append(url.partition("ticket=")[2])
                return url

            url = await link()
            assert await status("GET", url) == 200
            assert await status("GET", url, headers={"Range": "bytes=10-99"}) == 206
            assert await status("GET", url, headers=auth) == 400  # both credentials
            other = f"/api/v1/recordings/{new_id()}/file?ticket={tickets[0]}"
            assert await status("GET", other) == 401  # another recording
            assert await status("GET", url + "x") == 401  # tampered
            # A ticket of a sign-in that ended.
            url = await link()
            assert await status("POST", "/api/v1/auth/logout", headers=auth, json={}) == 204
            assert await status("GET", url) == 401
    finally:
        await asyncio.to_thread(node.stop)

    log = node.log()
    assert '"event": "login"' in log  # the log was written, at the level asked for
    assert len(tickets) == 2
    for ticket in tickets:
        _, payload, signature = ticket.split(".")
        for part in (ticket, payload, signature):
            assert part not in log
