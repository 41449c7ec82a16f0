"""A third participant's seat in the room state machine (domain.consultation): the guest
waits, the doctor admits or removes it, it signals to one named peer, it leaves or drops
cleanly; a room without guests is the two-party room it always was; the Redis encoding keeps
every guest field."""

from __future__ import annotations

import pytest

from domain.appointments import AppointmentStatus
from domain.consultation import (
    MAX_ADMITTED_GUESTS,
    GuestNotWaiting,
    GuestRemoved,
    GuestState,
    Room,
    RoomFull,
    SeatState,
)
from domain.errors import Forbidden, NotFound
from signaling.models import room_view
from signaling.redis_registry import decode_room, encode_room
from tests.unit.test_consultation_room import DOCTOR, NODE, PATIENT, START, join, room

S = AppointmentStatus
GUEST = "9" * 24
OTHER_GUEST = "8" * 24


def in_call() -> Room:
    """Doctor (sid d) and patient (sid p) in a consultation in progress."""
    r = join(join(room(), PATIENT, "p"), DOCTOR, "d")
    return r.started(START)


def guest_joins(r: Room, sid: str = "g", guest_id: str = GUEST) -> Room:
    joined, _ = r.guest_join(
        guest_id=guest_id, name="Li Na", kind="interpreter", sid=sid, node=NODE
    )
    return joined


def test_a_guest_waits_until_the_doctor_admits_it() -> None:
    r, joined = in_call().guest_join(
        guest_id=GUEST, name="Li Na", kind="interpreter", sid="g", node=NODE
    )
    assert joined.state is GuestState.WAITING
    assert joined.replaced_sid is None
    guest = r.guest(GUEST)
    assert guest is not None
    assert (guest.state, guest.sid, guest.connected) == (GuestState.WAITING, "g", True)
    # Waiting, it signals nobody; the patient cannot admit it.
    with pytest.raises(Forbidden):
        r.relay_to("g", DOCTOR)
    with pytest.raises(Forbidden):
        r.admit_guest("p", GUEST)

    r, admitted = r.admit_guest("d", GUEST)
    assert admitted.state is GuestState.ADMITTED
    assert r.relay_to("g", DOCTOR) == (GUEST, "d")
    assert r.relay_to("d", GUEST) == (DOCTOR, "g")
    assert r.relay_to("p", GUEST) == (PATIENT, "g")
    # Admitting twice is a conflict, not a second admission.
    with pytest.raises(GuestNotWaiting):
        r.admit_guest("d", GUEST)
    # The two seats are untouched: the doctor and the patient signal each other as always.
    assert r.relay_target("d")[1] == r.seat_of_user(PATIENT)
    assert r.seats == in_call().seats


def test_targets_must_be_participants_of_the_room() -> None:
    r, _ = guest_joins(in_call()).admit_guest("d", GUEST)
    with pytest.raises(Forbidden):
        r.relay_to("d", OTHER_GUEST)  # nobody of this room
    with pytest.raises(Forbidden):
        r.relay_to("d", DOCTOR)  # oneself
    with pytest.raises(Forbidden):
        r.relay_to("stranger", GUEST)  # a socket without a seat
    # A participant of the room who is not in the call now: nothing to deliver to.
    waiting = guest_joins(r, sid="g2", guest_id=OTHER_GUEST)
    assert waiting.relay_to("d", OTHER_GUEST) == (DOCTOR, None)
    dropped = r.disconnect("p")
    assert dropped is not None
    assert dropped.relay_to("g", PATIENT) == (GUEST, None)


def test_the_doctor_removes_a_guest_who_cannot_come_back() -> None:
    r, _ = guest_joins(in_call()).admit_guest("d", GUEST)
    with pytest.raises(Forbidden):
        r.remove_guest("p", GUEST)
    with pytest.raises(Forbidden):
        r.remove_guest("g", GUEST)
    r, removed = r.remove_guest("d", GUEST)
    assert removed.sid == "g"  # the socket the hub sends away
    guest = r.guest(GUEST)
    assert guest is not None
    assert (guest.state, guest.sid) == (GuestState.REMOVED, None)
    assert not r.holds("g")
    with pytest.raises(GuestRemoved):
        guest_joins(r, sid="g-again")
    with pytest.raises(NotFound):
        r.remove_guest("d", GUEST)
    with pytest.raises(Forbidden):
        r.relay_to("d", GUEST)
    assert room_view(r).get("guests") is None  # a removed guest is shown to nobody


def test_leaving_dropping_and_coming_back() -> None:
    r, _ = guest_joins(in_call()).admit_guest("d", GUEST)
    # A drop keeps the admission: back in the call at once (a reload), the old socket replaced.
    dropped = r.disconnect("g")
    assert dropped is not None
    back, joined = dropped.guest_join(
        guest_id=GUEST, name="Li Na", kind="interpreter", sid="g2", node=NODE
    )
    assert joined.state is GuestState.ADMITTED
    second, again = back.guest_join(
        guest_id=GUEST, name="Li Na", kind="interpreter", sid="g3", node=NODE
    )
    assert again.replaced_sid == "g2"
    assert second.holds("g3")
    assert not second.holds("g2")
    # Leaving on purpose: it waits for the doctor again when it comes back.
    left = second.leave("g3")
    assert left is not None
    gone = left.guest(GUEST)
    assert gone is not None
    assert gone.state is GuestState.LEFT
    _, rejoined = left.guest_join(
        guest_id=GUEST, name="Li Na", kind="interpreter", sid="g4", node=NODE
    )
    assert rejoined.state is GuestState.WAITING


def test_a_guest_keeps_a_room_that_has_not_started_and_the_sweep_releases_it() -> None:
    # Alone in the room before anyone else: the room stays while it waits.
    alone = guest_joins(room())
    assert alone.anyone_connected
    assert alone.status is S.BOOKED
    # Its node died: the seat is released, and with nobody connected the room goes.
    assert alone.release_where(lambda seat: seat.node == NODE) is None
    # With the two present, releasing the guest leaves them as they were.
    r = guest_joins(in_call())
    released = r.release_where(lambda seat: seat.sid == "g")
    assert released is not None
    assert released.seats == r.seats
    guest = released.guest(GUEST)
    assert guest is not None
    assert not guest.connected


def test_only_so_many_guests_in_the_call() -> None:
    r = in_call()
    for n in range(MAX_ADMITTED_GUESTS):
        r = guest_joins(r, sid=f"g{n}", guest_id=f"{n}" * 24)
        r, _ = r.admit_guest("d", f"{n}" * 24)
    r = guest_joins(r, sid="late", guest_id="f" * 24)
    with pytest.raises(RoomFull):
        r.admit_guest("d", "f" * 24)


def test_a_two_party_room_looks_as_it_always_did() -> None:
    r = in_call()
    assert r.guests == ()
    view = room_view(r)
    assert "guests" not in view
    assert "guests" not in encode_room(r)
    assert decode_room(encode_room(r)) == r


def test_guest_seats_survive_the_redis_encoding() -> None:
    r, _ = guest_joins(in_call()).admit_guest("d", GUEST)
    r = guest_joins(r, sid="g2", guest_id=OTHER_GUEST)
    r, _ = r.remove_guest("d", OTHER_GUEST)
    assert decode_room(encode_room(r)) == r
    view = room_view(r)
    assert view["guests"] == [
        {
            "guest_id": GUEST,
            "name": "Li Na",
            "kind": "interpreter",
            "state": "admitted",
            "connected": True,
        }
    ]
    assert [p["state"] for p in view["participants"]] == [SeatState.ADMITTED] * 2
