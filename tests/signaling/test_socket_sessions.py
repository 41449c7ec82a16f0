"""Sign-ins behind sockets: logging out (or a revocation over REST) drops that sign-in's sockets
at once on every node (with Redis, the node that handled it announces it on the hub's channel),
and a node that missed the announcement finds out at its next session check; automatic logoff
after inactivity applies to sockets, and socket activity (or being in a consultation) counts as
activity."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

import pytest
import redis.asyncio
import structlog

from domain.users import Role
from server import keys
from server.auth.service import AccountService
from server.settings import AuthSettings, RedisSettings, Settings
from signaling.transport import SESSION_ENDED
from storage.sessions import SessionRepository
from tests.clock import FakeClock
from tests.conftest import TEST_SECRET, bearer
from tests.signaling.conftest import ClinicFactory
from tests.support.hub import Clinic, HubClient, joined

HISTORY = {"appointment_id": "f" * 24}


async def logout(clinic: Clinic, user: dict[str, Any]) -> None:
    response = await clinic.client.post(
        "/api/v1/auth/logout",
        json={"refresh_token": user["refresh_token"]},
        headers=bearer(user["access_token"]),
    )
    assert response.status == 204


async def ended(socket: HubClient) -> dict[str, Any]:
    notice: dict[str, Any] = await socket.wait_for("auth:expired")
    assert notice["code"] == "session_ended"
    await socket.wait_disconnected()
    return notice


# Housekeeping so rare that the periodic session check cannot be what drops a socket here.
NO_CHECK = {"hub_housekeeping": 60.0}


async def test_logout_drops_the_sign_ins_sockets_and_only_those(
    make_clinic: ClinicFactory,
) -> None:
    clinic = await make_clinic(**NO_CHECK)  # one node, no Redis
    user = await clinic.user()
    other_sign_in = await clinic.accounts.login(user["email"])
    main = await clinic.connect(user)
    admin_feed_user = await clinic.user(Role.ADMIN)
    feed = await clinic.connect(admin_feed_user, namespace="/admin")
    kept = await clinic.connect(user, token=other_sign_in["access_token"])

    await logout(clinic, user)
    await ended(main)
    assert not kept.disconnected.is_set()
    assert (await kept.call("chat:history", HISTORY))["error"]["code"] == "not_found"
    assert not feed.disconnected.is_set()
    # The signed-out token cannot come back.
    assert (await clinic.refused(user))["message"] == "unauthorized"


async def two_nodes(
    make_clinic: ClinicFactory, settings: Settings, redis_url: str, **consult: Any
) -> tuple[Clinic, Clinic]:
    clock = FakeClock()
    shared = settings.with_(redis=RedisSettings(redis_url=redis_url))
    return (
        await make_clinic(shared, clock=clock, **consult),
        await make_clinic(shared, clock=clock, **consult),
    )


async def still_connected(socket: HubClient) -> None:
    """The socket answers a round trip made after everything before it, and was never told
    its sign-in ended."""
    assert (await socket.call("chat:history", HISTORY))["error"]["code"] == "not_found"
    assert not socket.disconnected.is_set()
    assert socket.received("auth:expired") == []


@pytest.mark.redis
async def test_logout_on_one_node_drops_the_sign_ins_sockets_on_another_at_once(
    make_clinic: ClinicFactory, settings: Settings, redis_url: str
) -> None:
    one, two = await two_nodes(make_clinic, settings, redis_url, **NO_CHECK)
    user, bystander = await one.user(), await one.user()
    here = await one.connect(user)
    elsewhere = await two.connect(user)
    other_sign_in = await two.connect(
        user, token=(await one.accounts.login(user["email"]))["access_token"]
    )
    other_user = await two.connect(bystander)

    await logout(one, user)  # node one serves it and announces it; node two drops at once
    assert (await ended(here))["reason"] == "signed_out"
    assert (await ended(elsewhere))["reason"] == "signed_out"
    await still_connected(other_sign_in)  # the same user's other sign-in
    await still_connected(other_user)


@pytest.mark.redis
async def test_a_sign_in_revoked_over_rest_loses_its_sockets_on_every_node(
    make_clinic: ClinicFactory, settings: Settings, redis_url: str
) -> None:
    """A refresh token used twice revokes its sign-in (``POST /auth/refresh``): its sockets go
    at once, on the node that saw the reuse and on the others, with reason ``revoked``."""
    one, two = await two_nodes(make_clinic, settings, redis_url, **NO_CHECK)
    user, bystander = await one.user(), await one.user()
    here, elsewhere = await one.connect(user), await two.connect(user)
    other_user = await two.connect(bystander)
    refresh = {"refresh_token": user["refresh_token"]}
    assert (await one.client.post("/api/v1/auth/refresh", json=refresh)).status == 200
    reused = await one.client.post("/api/v1/auth/refresh", json=refresh)
    assert reused.status == 401
    assert (await reused.json())["reason"] == "revoked"
    assert (await ended(here))["reason"] == "revoked"
    assert (await ended(elsewhere))["reason"] == "revoked"
    await still_connected(other_user)


@pytest.mark.redis
async def test_an_announcement_ends_only_the_session_it_names_and_a_malformed_one_nothing(
    make_clinic: ClinicFactory, settings: Settings, redis_url: str
) -> None:
    """What a node hears on the channel ends the sockets of the one session it names, with the
    reason it gives; a malformed message is ignored (with a warning) and the listener goes on."""
    one, two = await two_nodes(make_clinic, settings, redis_url, **NO_CHECK)
    user, bystander = await one.user(), await one.user()
    target, other_user = await two.connect(user), await two.connect(bystander)
    sessions = {
        s.sid: two.client.app[keys.HUB]._sockets[s.sid].principal.session_id
        for s in (target, other_user)
    }
    kept_session = sessions[other_user.sid]

    def message(**fields: Any) -> dict[str, Any]:
        return {"method": SESSION_ENDED, "host_id": "another-node"} | fields

    malformed: list[Any] = [
        message(),
        message(session_id=kept_session),  # no reason
        message(session_id=kept_session, reason=7),
        message(session_id=kept_session, reason="Signed out!"),
        message(session_id=kept_session, reason="x" * 1000),
        message(session_id=[kept_session], reason="signed_out"),
        message(session_id={"$ne": ""}, reason="signed_out"),
        message(session_id="", reason="signed_out"),
        message(session_id=f"{kept_session} *", reason="signed_out"),
        message(session_id=None, reason="signed_out"),
    ]
    channel = f"telemed:{settings.database.mongodb_database}:socketio"
    publisher = redis.asyncio.Redis.from_url(redis_url)
    with structlog.testing.capture_logs() as logs:
        try:
            for bad in malformed:
                await publisher.publish(channel, json.dumps(bad))
            await publisher.publish(channel, "not json")
            await publisher.publish(channel, json.dumps([SESSION_ENDED, kept_session]))
            # A well-formed one for a session nobody here has, then the target's, after them.
            for session_id in ("f" * 24, sessions[target.sid]):
                announced = message(session_id=session_id, reason="revoked")
                await publisher.publish(channel, json.dumps(announced))
            assert (await ended(target))["reason"] == "revoked"
        finally:
            await publisher.aclose()
    await still_connected(other_user)
    # Each node warns of each malformed one; node two heard them all before the target's.
    malformed_seen = [e for e in logs if e["event"] == "hub_session_ended_malformed"]
    assert len(malformed) <= len(malformed_seen) <= 2 * len(malformed)


async def test_a_socket_checked_just_before_its_sign_in_ended_is_refused(
    make_clinic: ClinicFactory,
) -> None:
    """A socket's token is checked (the sign-in is live), then the sign-in ends and the
    ending reaches this node, then the socket would register: the ending found no socket to
    drop, so the node remembers it and refuses the socket rather than let it live until the
    next session check. Here the ending is announced without the database knowing it yet,
    which is where such a socket stands."""
    clinic = await make_clinic(**NO_CHECK)
    user = await clinic.user()
    other_sign_in = await clinic.accounts.login(user["email"])
    hub = clinic.client.app[keys.HUB]
    probe = await clinic.connect(user)
    session_id = hub._sockets[probe.sid].principal.session_id
    await probe.close()

    assert await hub.end_session_here(session_id, "signed_out") == 0  # nobody to drop
    error = await clinic.refused(user)
    assert error["message"] == "unauthorized", error
    # Only that sign-in: the user's other one connects.
    kept = await clinic.connect(user, token=other_sign_in["access_token"])
    await still_connected(kept)


@pytest.mark.redis
async def test_a_node_that_missed_the_announcement_finds_out_at_its_session_check(
    make_clinic: ClinicFactory, settings: Settings, redis_url: str
) -> None:
    one, two = await two_nodes(make_clinic, settings, redis_url)  # fast housekeeping
    user = await one.user()
    elsewhere = await two.connect(user)
    # Signed out with nothing announced (as if node two had not heard it).
    session_id = two.client.app[keys.HUB]._sockets[elsewhere.sid].principal.session_id
    database = one.client.app[keys.DATABASE]
    assert await database.repos.sessions.revoke(session_id, one.clock.now, "logout")
    notice = await ended(elsewhere)
    assert notice["reason"] == "signed_out"


def idle_settings(settings: Settings) -> Settings:
    # Access tokens outlive the idle timeout here, so only inactivity can end the sockets.
    auth = AuthSettings(jwt_secret=TEST_SECRET, access_token_ttl=7200, idle_timeout=30 * 60)
    return settings.with_(auth=auth)


async def test_an_idle_socket_is_logged_off(make_clinic: ClinicFactory, settings: Settings) -> None:
    clinic = await make_clinic(idle_settings(settings))
    user = await clinic.user()
    socket = await clinic.connect(user)
    clinic.clock.advance(minutes=29)
    assert (await socket.call("chat:history", HISTORY))["ok"] is False  # activity at minute 29
    await clinic.client.app[keys.HUB].check_sessions()  # recorded within one housekeeping run
    clinic.clock.advance(minutes=29)  # minute 58: 29 idle minutes
    refreshed = await socket.call("auth:refresh", {"token": user["access_token"]})
    assert refreshed["ok"] is True, refreshed
    clinic.clock.advance(minutes=2)  # 31 minutes without a person doing anything
    notice = await ended(socket)
    assert notice["reason"] == "inactivity"  # the sign-in page says why
    # The whole sign-in was logged off, for REST too, and the 401s say why.
    response = await clinic.client.get("/api/v1/me", headers=bearer(user["access_token"]))
    assert response.status == 401
    problem = await response.json()
    assert (problem["code"], problem["reason"]) == ("unauthorized", "inactivity")
    response = await clinic.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": user["refresh_token"]}
    )
    assert response.status == 401
    assert (await response.json())["reason"] == "inactivity"


async def test_a_session_check_waits_for_the_one_already_running(
    make_clinic: ClinicFactory, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two session checks at once (housekeeping's and a logout's, say): the second returns
    only after the first stored the activity it took, so no sign-in is judged idle by a last
    activity that is still on its way to the database."""
    clinic = await make_clinic(idle_settings(settings), **NO_CHECK)  # only this test's checks
    user = await clinic.user()
    socket = await clinic.connect(user)
    recorded = AccountService.live_sessions

    async def slow_to_record(
        self: AccountService, session_ids: Collection[str], *, active: Collection[str]
    ) -> set[str]:
        if active:
            await asyncio.sleep(0.3)  # a slow write of the activity
        return await recorded(self, session_ids, active=active)

    monkeypatch.setattr(AccountService, "live_sessions", slow_to_record)
    hub = clinic.client.app[keys.HUB]
    clinic.clock.advance(minutes=29)
    assert (await socket.call("chat:history", HISTORY))["ok"] is False  # activity at minute 29
    first = asyncio.create_task(hub.check_sessions())  # takes the socket's activity
    await asyncio.sleep(0)
    await hub.check_sessions()
    clinic.clock.advance(minutes=29)  # minute 58: 29 idle minutes, if minute 29 was stored
    refreshed = await socket.call("auth:refresh", {"token": user["access_token"]})
    assert refreshed["ok"] is True, refreshed
    await first


async def test_socket_activity_keeps_the_sign_in_alive(
    make_clinic: ClinicFactory, settings: Settings
) -> None:
    clinic = await make_clinic(idle_settings(settings))
    user = await clinic.user()
    socket = await clinic.connect(user)
    for _ in range(4):  # 80 minutes of socket activity, never 30 idle, no REST call at all
        clinic.clock.advance(minutes=20)
        ack = await socket.call("chat:history", HISTORY)
        assert ack["error"]["code"] == "not_found"
        await clinic.client.app[keys.HUB].check_sessions()  # the activity is recorded
    assert not socket.disconnected.is_set()
    response = await clinic.client.get("/api/v1/me", headers=bearer(user["access_token"]))
    assert response.status == 200


async def test_a_session_check_writes_each_active_sign_in_once_every_one_to_two_minutes(
    make_clinic: ClinicFactory, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check runs every few seconds; a sign-in whose activity is under a minute old is not
    written again (the write's own filter would refuse it), each one is written once within its
    second minute, and what is written is the activity that keeps the sign-in alive."""
    clinic = await make_clinic(idle_settings(settings), **NO_CHECK)  # only this test's checks
    users = [await clinic.user() for _ in range(3)]
    sockets = [await clinic.connect(user) for user in users]
    idle = await clinic.connect(await clinic.user())  # connected, never active
    written: list[tuple[datetime, list[str]]] = []
    write = SessionRepository.touch_many

    async def recorded(
        self: SessionRepository, session_ids: list[str], now: datetime, **kwargs: Any
    ) -> None:
        if session_ids:
            written.append((now, session_ids))
        await write(self, session_ids, now, **kwargs)

    monkeypatch.setattr(SessionRepository, "touch_many", recorded)
    hub = clinic.client.app[keys.HUB]
    repository = clinic.client.app[keys.DATABASE].repos.sessions
    session_of = {c.sid: c.principal.session_id for c in hub._sockets.values()}
    active = sorted(session_of[s.sid] for s in sockets if s.sid is not None)
    signed_in = clinic.clock.now

    async def check() -> None:
        for socket in sockets:
            assert (await socket.call("chat:history", HISTORY))["ok"] is False  # activity
        await hub.check_sessions()

    for _ in range(25):  # two minutes of checks every five seconds
        await check()
        clinic.clock.advance(seconds=5)
    when = {session_id: at for at, ids in written for session_id in ids}
    assert sorted(when) == active
    assert sum(len(ids) for _, ids in written) == len(active)  # each one once
    assert all(
        timedelta(minutes=1) < at - signed_in <= timedelta(minutes=2) for at in when.values()
    )
    stored = await repository.get_many(active)
    assert {i: s.last_used_at for i, s in stored.items()} == when

    # 29 more minutes without activity after the first of those writes: still alive; the
    # socket idle since its sign-in is not.
    clinic.clock.now = min(when.values()) + timedelta(minutes=29, seconds=45)
    await hub.check_sessions()
    assert not any(s.disconnected.is_set() for s in sockets)
    assert (await ended(idle))["reason"] == "inactivity"


async def test_a_session_check_reads_only_new_sign_ins_and_those_that_may_have_ended(
    make_clinic: ClinicFactory, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sign-in found live stays live unless it is revoked since, or expires, or goes idle by
    what the node knows: a check reads the sign-ins it has not seen, those revoked since the
    previous check (one query, whoever revoked them and even with a clock a little behind),
    and those idle by the activity it knows, each judged by what it reads."""
    clinic = await make_clinic(idle_settings(settings), **NO_CHECK)  # only this test's checks
    users = [await clinic.user() for _ in range(3)]
    sockets = [await clinic.connect(user) for user in users]
    read: list[list[str]] = []
    get_many = SessionRepository.get_many

    async def recorded(self: SessionRepository, session_ids: list[str]) -> Any:
        read.append(session_ids)
        return await get_many(self, session_ids)

    monkeypatch.setattr(SessionRepository, "get_many", recorded)
    hub = clinic.client.app[keys.HUB]
    sessions = clinic.client.app[keys.DATABASE].repos.sessions

    def session_of(socket: HubClient) -> str:
        assert socket.sid is not None
        return hub._sockets[socket.sid].principal.session_id

    ids = [session_of(s) for s in sockets]
    await hub.check_sessions()
    assert read == [sorted(ids)]  # all new
    clinic.clock.advance(seconds=5)
    await hub.check_sessions()
    assert read[1:] == [[]]  # nothing new, nothing suspect: no read at all

    late = await clinic.connect(await clinic.user())
    late_id = session_of(late)
    clinic.clock.advance(seconds=5)
    await hub.check_sessions()
    assert read[2:] == [[late_id]]

    # Revoked in the database by another node whose clock is five minutes behind, and not
    # announced: the next check reads that one sign-in again and drops its socket.
    behind = clinic.clock.now - timedelta(minutes=5)
    assert await sessions.revoke(ids[0], behind, "logout")
    clinic.clock.advance(seconds=5)
    await hub.check_sessions()
    assert read[3:] == [[ids[0]], [ids[0]]]  # judged; then why it ended, for the notice
    assert (await ended(sockets[0]))["reason"] == "signed_out"

    # 31 quiet minutes by this node's knowledge; one sign-in was used meanwhile elsewhere (a
    # REST request on another node): the suspects are read again and only the idle ones end.
    clinic.clock.advance(minutes=20)
    await sessions.touch(ids[1], clinic.clock.now, min_interval=timedelta(0))
    clinic.clock.advance(minutes=11)
    await hub.check_sessions()
    assert read[5] == sorted([ids[1], ids[2], late_id])
    assert (await ended(sockets[2]))["reason"] == "inactivity"
    assert (await ended(late))["reason"] == "inactivity"
    assert not sockets[1].disconnected.is_set()


async def test_a_silent_consultation_is_not_inactivity(
    make_clinic: ClinicFactory, settings: Settings
) -> None:
    """A call carries its media peer to peer: the sockets may say nothing for a long time, and
    the participants are there. Holding a seat counts as activity."""
    clinic = await make_clinic(idle_settings(settings))
    patient = await clinic.user(Role.PATIENT)
    doctor = await clinic.user(Role.DOCTOR)
    appointment = await clinic.appointment(patient, doctor, minutes=90)
    p = await joined(clinic, patient, appointment)
    lobby = await clinic.connect(patient)  # the same patient's other, idle socket
    hub = clinic.client.app[keys.HUB]
    for _ in range(3):
        clinic.clock.advance(minutes=20)
        await hub.check_sessions()
    assert not p.disconnected.is_set()
    assert not lobby.disconnected.is_set()  # one sign-in: active through its seated socket
