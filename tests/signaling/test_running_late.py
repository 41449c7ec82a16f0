"""``POST /doctors/{id}/running-late``: every patient waiting for that doctor hears it
(``consult:running_late``), nobody else; refused for anyone but that doctor, rate-limited,
audited without its text when it carries one."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from domain.users import Role
from tests.conftest import bearer
from tests.support.hub import Clinic, joined


async def post(clinic: Clinic, doctor_id: str, who: dict[str, Any], body: Any) -> tuple[int, Any]:
    response = await clinic.client.post(
        f"/api/v1/doctors/{doctor_id}/running-late", json=body, headers=bearer(who["access_token"])
    )
    return response.status, await response.json()


async def test_the_doctor_tells_everyone_waiting_and_only_them(clinic: Clinic) -> None:
    doctor = await clinic.user(Role.DOCTOR, name="Dr Li")
    other_doctor = await clinic.user(Role.DOCTOR)
    first, second, elsewhere = [await clinic.user(Role.PATIENT) for _ in range(3)]
    a1 = await clinic.appointment(first, doctor)
    a2 = await clinic.appointment(second, doctor, start=clinic.clock.now + timedelta(minutes=5))
    a3 = await clinic.appointment(elsewhere, other_doctor)
    p1, p2 = await joined(clinic, first, a1), await joined(clinic, second, a2)
    p3 = await joined(clinic, elsewhere, a3)

    note = "Emergency on the ward, sorry 急诊耽搁了"
    status, sent = await post(clinic, doctor["id"], doctor, {"minutes": 20, "message": note})
    assert status == 200, sent
    assert sent["notified"] == 2
    for socket, appointment in ((p1, a1), (p2, a2)):
        event = await socket.wait_for("consult:running_late")
        assert event["appointment_id"] == appointment
        assert (event["doctor_id"], event["doctor_name"]) == (doctor["id"], "Dr Li")
        assert (event["minutes"], event["message"]) == (20, note)
    assert p3.received("consult:running_late") == []

    # Audited, without the text.
    admin = await clinic.user(Role.ADMIN)
    audit = await clinic.client.get(
        f"/api/v1/admin/audit?actor={doctor['id']}", headers=bearer(admin["access_token"])
    )
    entries = [e for e in (await audit.json())["entries"] if e["action"] == "waiting.running_late"]
    assert len(entries) == 1
    assert entries[0]["details"] == {"patients": 2}
    assert "Emergency" not in str(entries[0])

    # Only that doctor; bad input changes nothing.
    assert (await post(clinic, doctor["id"], other_doctor, {}))[0] == 404
    assert (await post(clinic, doctor["id"], first, {}))[0] == 403
    for bad in ({"minutes": 0}, {"minutes": "soon"}, {"message": "x" * 201}, {"extra": 1}):
        status, problem = await post(clinic, doctor["id"], doctor, bad)
        assert status == 422, (bad, problem)
    assert len(p1.received("consult:running_late")) == 1

    # Three per ten minutes: the fourth is refused and sends nothing.
    assert (await post(clinic, doctor["id"], doctor, {"minutes": 30}))[0] == 200
    assert (await post(clinic, doctor["id"], doctor, {}))[0] == 200
    await p1.wait_until(lambda: len(p1.received("consult:running_late")) == 3)
    status, problem = await post(clinic, doctor["id"], doctor, {"minutes": 40})
    assert status == 429
    assert problem["code"] == "rate_limited"
