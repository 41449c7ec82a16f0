"""The Redis room registry against a real Redis: atomic changes from several nodes, node
liveness, and the sweep releasing seats of a node that died."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import pytest
import redis.asyncio as aioredis

from domain.appointments import AppointmentKind, AppointmentStatus
from domain.clock import utc_now
from domain.consultation import JoinWindow, Room
from domain.ids import UserId
from domain.users import Role
from signaling.consultations import Caller, ConsultationService
from signaling.redis_registry import RedisRoomRegistry
from signaling.registry import Change, Updated
from storage.mongo import Repositories, open_database

pytestmark = pytest.mark.redis

T = TypeVar("T")

WINDOW = JoinWindow(early=timedelta(minutes=15), grace=timedelta(minutes=30))


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def prefix() -> str:
    return f"test:{uuid.uuid4().hex[:8]}:hub"


@pytest.fixture
async def repos(mongo_url: str, db_name: str, tmp_path: Path) -> AsyncIterator[Repositories]:
    async with open_database(url=mongo_url, database=db_name, data_dir=tmp_path) as db:
        yield db.repos


async def booked(repos: Repositories) -> tuple[str, str, str]:
    now = utc_now()
    patient = await repos.users.create(
        email=f"p{uuid.uuid4().hex[:6]}@example.com",
        name="P",
        role=Role.PATIENT,
        password_hash="x",
        created_at=now,
    )
    doctor = await repos.users.create(
        email=f"d{uuid.uuid4().hex[:6]}@example.com",
        name="D",
        role=Role.DOCTOR,
        password_hash="x",
        created_at=now,
        specialty="GP",
    )
    appointment = await repos.appointments.insert(
        patient_id=patient.id,
        doctor_id=doctor.id,
        start=now,
        end=now + timedelta(minutes=30),
        kind=AppointmentKind.VIDEO,
        reason="",
        now=now,
    )
    return appointment.id, patient.id, doctor.id


def service(repos: Repositories, registry: RedisRoomRegistry) -> ConsultationService:
    return ConsultationService(
        appointments=repos.appointments,
        users=repos.users,
        messages=repos.messages,
        registry=registry,
        window=WINDOW,
        clock=utc_now,
    )


async def live_services(
    repos: Repositories, *registries: RedisRoomRegistry
) -> list[ConsultationService]:
    """A service on each registry, each registry's node alive (its heartbeat sent)."""
    for registry in registries:
        await registry.heartbeat()
    return [service(repos, registry) for registry in registries]


async def test_changes_from_several_nodes_are_atomic(
    redis_client: aioredis.Redis, prefix: str, repos: Repositories
) -> None:
    nodes = [RedisRoomRegistry(redis_client, prefix=prefix) for _ in range(3)]
    appointment_id, patient_id, _ = await booked(repos)
    first = service(repos, nodes[0])
    await first.join(Caller(user_id=UserId(patient_id), name="P", sid="s1"), appointment_id)
    opened = await nodes[0].get(appointment_id)
    assert opened is not None

    def bump(room: Room | None) -> tuple[Room | None, None]:
        assert room is not None
        return replace(room, message_count=room.message_count + 1), None

    await asyncio.gather(*(nodes[i % 3].update(appointment_id, bump) for i in range(60)))
    room = await nodes[1].get(appointment_id)
    assert room is not None
    assert room.message_count == 60  # no lost update
    assert room.rev == opened.rev + 60
    assert [r.appointment_id for r in await nodes[2].all()] == [appointment_id]


async def test_node_liveness(redis_client: aioredis.Redis, prefix: str) -> None:
    alive = RedisRoomRegistry(redis_client, prefix=prefix, node_ttl=30)
    stopped = RedisRoomRegistry(redis_client, prefix=prefix, node_ttl=30)
    await alive.heartbeat()
    await stopped.heartbeat()
    both = {alive.node_id, stopped.node_id}
    assert await alive.live_nodes(both | {"never-seen"}) == both
    await stopped.close()
    assert await alive.live_nodes(both) == {alive.node_id}
    assert await alive.live_nodes([]) == set()


async def test_expired_room_keys_are_forgotten(redis_client: aioredis.Redis, prefix: str) -> None:
    registry = RedisRoomRegistry(redis_client, prefix=prefix)
    await redis_client.sadd(f"{prefix}:rooms", "a" * 24)  # its key expired
    assert await registry.all() == []
    assert await redis_client.scard(f"{prefix}:rooms") == 0


async def test_sweep_releases_the_seats_of_a_dead_node_and_keeps_the_consultation(
    redis_client: aioredis.Redis, prefix: str, repos: Repositories
) -> None:
    survivor = RedisRoomRegistry(redis_client, prefix=prefix)
    dying = RedisRoomRegistry(redis_client, prefix=prefix)
    on_survivor, on_dying = await live_services(repos, survivor, dying)
    appointment_id, patient_id, doctor_id = await booked(repos)
    await on_dying.join(Caller(user_id=UserId(patient_id), name="P", sid="p1"), appointment_id)
    await on_survivor.join(Caller(user_id=UserId(doctor_id), name="D", sid="d1"), appointment_id)
    await on_survivor.admit(Caller(user_id=UserId(doctor_id), name="D", sid="d1"), appointment_id)

    assert await on_survivor.sweep(lambda sid: sid == "d1") == []  # everyone is there
    await redis_client.delete(f"{prefix}:node:{dying.node_id}")  # the node died silently

    swept = await on_survivor.sweep(lambda sid: sid == "d1")
    assert len(swept) == 1
    room = swept[0].update.after
    assert room is not None
    assert [(s.role, s.connected) for s in room.seats] == [
        (Role.DOCTOR, True),
        (Role.PATIENT, False),
    ]
    assert room.status is AppointmentStatus.IN_PROGRESS

    # The doctor's socket vanished from its own node too: the room stays (in progress) until
    # its window is over, then the consultation is completed and the room goes.
    swept = await on_survivor.sweep(lambda sid: False)
    assert swept[0].update.after is not None
    assert not swept[0].update.after.anyone_connected
    later = ConsultationService(
        appointments=repos.appointments,
        users=repos.users,
        messages=repos.messages,
        registry=survivor,
        window=WINDOW,
        clock=lambda: utc_now() + timedelta(hours=2),
    )
    swept = await later.sweep(lambda sid: False)
    assert [s.ended for s in swept] == ["expired"]
    assert await survivor.get(appointment_id) is None
    stored = await repos.appointments.get(appointment_id)
    assert stored is not None
    assert stored.status is AppointmentStatus.COMPLETED


class CountingRegistry(RedisRoomRegistry):
    """The real registry, counting its transactions (one ``update`` each)."""

    def __init__(self, client: aioredis.Redis, *, prefix: str) -> None:
        super().__init__(client, prefix=prefix)
        self.updated: list[str] = []

    async def update(self, appointment_id: str, change: Change[T]) -> Updated[T]:
        self.updated.append(appointment_id)
        return await super().update(appointment_id, change)


async def test_sweep_writes_only_the_rooms_it_has_something_to_do_in(
    redis_client: aioredis.Redis, prefix: str, repos: Repositories
) -> None:
    survivor = CountingRegistry(redis_client, prefix=prefix)
    dying = RedisRoomRegistry(redis_client, prefix=prefix)
    on_survivor, on_dying = await live_services(repos, survivor, dying)
    here, there = await booked(repos), await booked(repos)
    for appointment_id, patient_id, doctor_id in (here, there):
        on_patients_node = on_dying if appointment_id == there[0] else on_survivor
        patient = Caller(user_id=UserId(patient_id), name="P", sid=f"p-{appointment_id}")
        doctor = Caller(user_id=UserId(doctor_id), name="D", sid=f"d-{appointment_id}")
        await on_patients_node.join(patient, appointment_id)
        await on_survivor.join(doctor, appointment_id)
        await on_survivor.admit(doctor, appointment_id)

    def present(sid: str) -> bool:
        return True

    survivor.updated = []
    assert await on_survivor.sweep(present) == []
    assert survivor.updated == []  # nobody gone: no room is written

    await redis_client.delete(f"{prefix}:node:{dying.node_id}")  # the node of one patient died
    swept = await on_survivor.sweep(present)
    assert [s.update.after.appointment_id for s in swept if s.update.after] == [there[0]]
    assert survivor.updated == [there[0]]  # the other room is not touched


# ----------------------------------------------------------------------------- the node's cache


class Announcements:
    """Two registries' announcements, delivered by hand (the hub sends them on its channel)."""

    def __init__(self, *nodes: RedisRoomRegistry) -> None:
        self.nodes = nodes
        self.sent: list[tuple[str, int]] = []
        for node in nodes:
            node.announce_with(self.send)
            node.listening(True)

    async def send(self, appointment_id: str, rev: int) -> None:
        self.sent.append((appointment_id, rev))

    def deliver(self) -> None:
        for appointment_id, rev in self.sent:
            for node in self.nodes:
                node.room_changed(appointment_id, rev)
        self.sent.clear()


async def test_a_node_knows_a_room_only_while_it_hears_every_change(
    redis_client: aioredis.Redis, prefix: str, repos: Repositories
) -> None:
    one, two = (RedisRoomRegistry(redis_client, prefix=prefix) for _ in range(2))
    appointment_id, patient_id, doctor_id = await booked(repos)
    patient = Caller(user_id=UserId(patient_id), name="P", sid="p1")
    assert one.known(appointment_id) is None  # nothing announced: nothing cached
    await service(repos, one).join(patient, appointment_id)
    assert one.known(appointment_id) is None

    announcements = Announcements(one, two)
    await service(repos, one).join(Caller(UserId(doctor_id), "D", "d1"), appointment_id)
    joined = one.known(appointment_id)
    assert joined is not None  # the writer knows what it wrote
    assert await two.get(appointment_id) == joined
    assert two.known(appointment_id) == joined  # the reader knows what it read
    announcements.deliver()
    assert two.known(appointment_id) == joined  # its own revision: still current

    # Node one replaces the patient's socket: node two's room is stale once it hears so.
    await service(repos, one).join(replace(patient, sid="p2"), appointment_id)
    assert announcements.sent == [(appointment_id, joined.rev + 1)]
    assert two.known(appointment_id) == joined  # not heard yet (the channel is in flight)
    announcements.deliver()
    assert two.known(appointment_id) is None
    fresh = await two.get(appointment_id)
    assert fresh is not None
    assert fresh.seat_of_sid("p1") is None
    assert two.known(appointment_id) == fresh

    # A node that may have missed changes forgets, and keeps no read begun before it hears again.
    two.listening(False)
    assert two.known(appointment_id) is None
    reading = asyncio.ensure_future(two.get(appointment_id))
    await asyncio.sleep(0)  # the read has begun: it waits for Redis
    two.listening(True)
    await reading
    assert two.known(appointment_id) is None
    await two.get(appointment_id)
    assert two.known(appointment_id) is not None


async def test_a_read_older_than_an_announced_change_is_not_kept(
    redis_client: aioredis.Redis, prefix: str, repos: Repositories
) -> None:
    one, two = (RedisRoomRegistry(redis_client, prefix=prefix) for _ in range(2))
    announcements = Announcements(one, two)
    appointment_id, patient_id, _ = await booked(repos)
    await service(repos, one).join(Caller(UserId(patient_id), "P", "p1"), appointment_id)
    old = await two.get(appointment_id)
    assert old is not None
    two.room_changed(appointment_id, old.rev + 1)  # heard before the read that returns `old`
    two._remember(appointment_id, old, two._epoch)
    assert two.known(appointment_id) is None
    announcements.deliver()


async def test_a_known_room_is_read_again_after_a_second(
    redis_client: aioredis.Redis, prefix: str, repos: Repositories
) -> None:
    """The bound on what one lost announcement could cost."""
    registry = RedisRoomRegistry(redis_client, prefix=prefix)
    Announcements(registry)
    now = [100.0]
    registry._monotonic = lambda: now[0]
    appointment_id, patient_id, _ = await booked(repos)
    await service(repos, registry).join(Caller(UserId(patient_id), "P", "p1"), appointment_id)
    assert registry.known(appointment_id) is not None
    now[0] += 1.01
    assert registry.known(appointment_id) is None


class SweptWhileJoining(RedisRoomRegistry):
    """A real Redis registry whose ``all()`` lets a join on another node happen right after its
    read: the interleaving of a sweep with a join that a busy machine produces by chance."""

    join: Callable[[], Awaitable[object]] | None = None

    async def all(self) -> list[Room]:
        rooms = await super().all()
        if self.join is not None:
            join, self.join = self.join, None
            await join()
        return rooms


async def test_sweep_keeps_a_seat_taken_on_another_node_after_it_read_the_rooms(
    redis_client: aioredis.Redis, prefix: str, repos: Repositories
) -> None:
    sweeping = SweptWhileJoining(redis_client, prefix=prefix)
    other = RedisRoomRegistry(redis_client, prefix=prefix)
    await sweeping.heartbeat()
    await other.heartbeat()
    appointment_id, patient_id, doctor_id = await booked(repos)
    on_sweeping, on_other = service(repos, sweeping), service(repos, other)
    await on_sweeping.join(Caller(user_id=UserId(patient_id), name="P", sid="p1"), appointment_id)
    doctor = Caller(user_id=UserId(doctor_id), name="D", sid="d1")
    sweeping.join = lambda: on_other.join(doctor, appointment_id)

    # The room was read with the patient only; the doctor's node is alive, never judged dead.
    assert await on_sweeping.sweep(lambda sid: sid == "p1") == []
    room = await other.get(appointment_id)
    assert room is not None
    assert [(s.role, s.connected) for s in room.seats] == [
        (Role.DOCTOR, True),
        (Role.PATIENT, True),
    ]
    await on_other.admit(doctor, appointment_id)  # what failed when the seat was swept
