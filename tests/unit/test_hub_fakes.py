"""The in-memory stand-ins of tests/support/hub_fakes.py and fake_outbox.py behave as what they
stand for (the appointments repository's compare-and-set, the consultation service over the
in-memory registry, an outbox's rooms), so that a handler's unit test built on them means what
it says."""

from __future__ import annotations

from domain.appointments import AppointmentStatus as S
from domain.consultation import SeatState
from signaling.consultations import Caller
from signaling.registry import Updated
from tests.support.fake_outbox import FakeOutbox
from tests.support.hub_fakes import APPOINTMENT, DOCTOR, PATIENT, Clinic


async def test_a_transition_is_a_compare_and_set() -> None:
    clinic = Clinic()
    now = clinic.clock.now
    moved = await clinic.appointments.transition(APPOINTMENT, S.CANCELLED, now=now)
    assert moved is not None
    assert moved.status is S.CANCELLED
    assert await clinic.appointments.transition(APPOINTMENT, S.IN_PROGRESS, now=now) is None
    stored = await clinic.appointments.get(APPOINTMENT)
    assert stored is not None
    assert stored.status is S.CANCELLED


async def test_the_consultation_service_runs_over_the_fakes() -> None:
    clinic = Clinic()
    consult = clinic.consultations()
    patient = await consult.join(Caller(user_id=PATIENT, name="Wang Fang", sid="p1"), APPOINTMENT)
    assert patient.result.state is SeatState.WAITING
    await consult.join(Caller(user_id=DOCTOR, name="Dr Li", sid="d1"), APPOINTMENT)
    admitted = await consult.admit(Caller(user_id=DOCTOR, name="Dr Li", sid="d1"), APPOINTMENT)
    assert admitted.after is not None
    assert admitted.after.require_seat("p1").state is SeatState.ADMITTED
    stored = await clinic.appointments.get(APPOINTMENT)
    assert stored is not None
    assert stored.status is S.IN_PROGRESS
    assert stored.started_at == clinic.clock.now


async def test_the_fake_outbox_reaches_a_socket_by_id_or_through_its_rooms() -> None:
    out = FakeOutbox()
    await out.enter("p1", "consult:x")
    await out.enter("d1", "consult:x")
    await out.emit("a", 1, to="consult:x", skip=["d1"])
    await out.emit("b", 2, to="d1")
    await out.leave("p1", "consult:x")
    await out.emit("c", 3, to="consult:x")
    assert [s.event for s in out.reached("p1")] == ["a"]
    assert [s.event for s in out.reached("d1")] == ["b", "c"]
    unchanged: Updated[None] = Updated(before=None, after=None, result=None, changed=False)
    await out.publish(unchanged)
    assert out.published == []
