"""Pure parts of the hub: token bucket, origin policy, payload parsing, registry revisions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from domain.appointments import Appointment, AppointmentKind, AppointmentStatus
from domain.consultation import JoinWindow, Room
from domain.errors import InvalidInput, PayloadTooLarge
from domain.ids import AppointmentId, UserId
from signaling.acks import parse_payload
from signaling.models import ChatSendIn, Payload, SignalIn
from signaling.origins import OriginPolicy
from signaling.ratelimit import TokenBucket
from signaling.redis_registry import decode_room, encode_room
from signaling.registry import MemoryRoomRegistry, opening_rev


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_allows_a_burst_then_the_rate() -> None:
    ticks = Ticks()
    bucket = TokenBucket(rate=2, burst=3, monotonic=ticks)
    assert [bucket.take() for _ in range(3)] == [0, 0, 0]
    assert bucket.take() == pytest.approx(0.5)
    ticks.now += 0.5
    assert bucket.take() == 0
    ticks.now += 100  # never more than the burst
    assert [bucket.take() for _ in range(4)][-1] > 0


@pytest.mark.parametrize(
    ("origin", "host", "allowed"),
    [
        (None, "clinic.example", True),  # not a browser: the token decides
        ("https://clinic.example", "clinic.example", True),  # the server's own origin
        ("http://localhost:8080", "localhost:8080", True),
        ("https://evil.example", "clinic.example", False),
        ("https://clinic.example.evil.example", "clinic.example", False),
        ("https://app.partner.example", "clinic.example", True),  # configured
        ("https://APP.partner.example", "clinic.example", True),
        ("https://public.example", "10.0.0.1:8080", True),  # the public URL behind a proxy
        ("null", "clinic.example", False),
    ],
)
def test_origin_policy(origin: str | None, host: str, allowed: bool) -> None:
    policy = OriginPolicy(["https://app.partner.example"], public_url="https://public.example/")
    assert policy(origin, {"HTTP_HOST": host}) is allowed


def test_payload_parsing() -> None:
    good = {"appointment_id": "a" * 24, "client_msg_id": "m-1", "text": "hi"}
    assert parse_payload(ChatSendIn, (good,), max_bytes=1000).text == "hi"
    with pytest.raises(PayloadTooLarge):
        parse_payload(ChatSendIn, ({**good, "text": "x" * 2000},), max_bytes=1000)
    for bad in [(), (good, good), ("text",), ([good],), (b"\x00",)]:
        with pytest.raises(InvalidInput):
            parse_payload(ChatSendIn, bad, max_bytes=1000)
    with pytest.raises(InvalidInput) as caught:
        parse_payload(ChatSendIn, ({**good, "appointment_id": "B", "extra": 1},), max_bytes=1000)
    fields = {d["field"] for d in caught.value.details}
    assert fields == {"appointment_id", "extra"}
    with pytest.raises(InvalidInput):  # strict JSON types: no "5" for a number, no 1 for a str
        parse_payload(ChatSendIn, ({**good, "text": 5},), max_bytes=1000)
    assert parse_payload(Payload, (), max_bytes=10) == Payload()


def test_signal_payloads() -> None:
    ref = "a" * 24
    offer = parse_payload(
        SignalIn, ({"appointment_id": ref, "data": {"type": "offer", "sdp": "v=0"}},), max_bytes=99
    )
    assert offer.data.sdp == "v=0"
    candidate = {"candidate": "candidate:1 1 udp 1 1.2.3.4 5 typ host", "sdpMid": "0"}
    parsed = parse_payload(
        SignalIn,
        ({"appointment_id": ref, "data": {"type": "candidate", "candidate": candidate}},),
        max_bytes=999,
    )
    assert parsed.data.model_dump(exclude_unset=True) == {
        "type": "candidate",
        "candidate": candidate,
    }
    for data in [{"type": "offer"}, {"type": "hello"}, {"sdp": "v=0"}, "offer"]:
        with pytest.raises(InvalidInput):
            parse_payload(SignalIn, ({"appointment_id": ref, "data": data},), max_bytes=999)


def _room() -> Room:
    start = datetime(2030, 1, 1, tzinfo=UTC)
    appointment = Appointment(
        id=AppointmentId("a" * 24),
        patient_id=UserId("p" * 24),
        doctor_id=UserId("d" * 24),
        start=start,
        end=start + timedelta(minutes=30),
        kind=AppointmentKind.VIDEO,
        reason="",
        status=AppointmentStatus.BOOKED,
        created_at=start,
        updated_at=start,
    )
    window = JoinWindow(early=timedelta(minutes=15), grace=timedelta(minutes=30))
    return Room.open(appointment, doctor_name="D", patient_name="P", window=window, now=start)


async def test_memory_registry_stamps_revisions() -> None:
    registry = MemoryRoomRegistry()
    before = opening_rev()
    opened = await registry.update("a" * 24, lambda r: (_room(), "opened"))
    assert opened.changed
    assert opened.result == "opened"
    assert before <= opened.rev <= opening_rev()  # opens at the clock's microseconds
    same = await registry.update("a" * 24, lambda r: (r, None))
    assert not same.changed
    assert same.after is not None
    assert same.after.rev == opened.rev
    bumped = await registry.update("a" * 24, lambda r: (replace(_room(), message_count=1), None))
    assert bumped.rev == opened.rev + 1
    removed = await registry.update("a" * 24, lambda r: (None, None))
    assert removed.removed
    assert removed.rev == opened.rev + 2
    assert await registry.all() == []
    # Opened again (the patient came back): above every revision of the room before.
    again = await registry.update("a" * 24, lambda r: (_room(), None))
    assert again.rev > removed.rev


def test_rooms_survive_the_trip_through_redis_json() -> None:
    room = _room()
    room, _ = room.join(
        user_id=room.patient.id,
        name="P",
        sid="s1",
        node="n1",
        status=AppointmentStatus.WAITING,
        now=room.opened_at,
    )
    assert decode_room(encode_room(room)) == room
    noted, _ = room.noted("s1", "我到了 🙂", room.opened_at)
    assert noted.waiting_note is not None
    assert decode_room(encode_room(noted)) == noted
