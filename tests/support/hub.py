"""Test-side Socket.IO clients of the hub (real python-socketio clients over real sockets), and a
small clinic builder: users, appointments, connected clients."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import socketio
from aiohttp import web
from aiohttp.test_utils import TestClient

from domain.appointments import AppointmentKind
from domain.users import Role
from tests.clock import FakeClock
from tests.conftest import Accounts
from tests.support.contract import ack_violation, received_violation

Client = TestClient[web.Request, web.Application]
Predicate = Callable[[Any], bool]


def error_code(ack: Any) -> str:
    """The error code of an ack that must be a refusal (``{"ok": false, "error": {...}}``)."""
    assert isinstance(ack, dict), ack
    assert ack["ok"] is False, ack
    return str(ack["error"]["code"])


class Dropped(Exception):
    """The connection went away before the server acknowledged."""


class HubClient:
    """A Socket.IO client that records every event it receives, can wait for one, and calls
    events with acks that fail fast (``Dropped``) when the connection goes away."""

    def __init__(
        self,
        url: str,
        token: str | None,
        *,
        namespace: str = "/",
        headers: dict[str, str] | None = None,
        transports: list[str] | None = None,
        http_session: aiohttp.ClientSession | None = None,
    ) -> None:
        """``http_session``: the client's own (a TLS context, a local address to connect from);
        the caller closes it."""
        self.url = url
        self.token = token
        self.namespace = namespace
        self.headers = headers or {}
        # ["websocket"], ["polling"], or ["polling", "websocket"] (polling, then upgraded)
        self.transports = transports or ["websocket"]
        self.sio = socketio.AsyncClient(reconnection=False, http_session=http_session)
        self.events: list[tuple[str, Any]] = []
        self.disconnected = asyncio.Event()
        self.disconnect_reason: Any = None
        self._changed = asyncio.Condition()
        self._pending: set[asyncio.Future[Any]] = set()
        self.sio.on("*", self._on_any, namespace=namespace)
        self.sio.on("disconnect", self._on_disconnect, namespace=namespace)
        self.sio.on("connect_error", self._on_connect_error, namespace=namespace)
        self.connect_error: Any = None
        self._listeners: dict[str, list[Callable[[Any], None]]] = {}
        # What broke the hub's declared contract (tests.support.contract), checked at teardown.
        self.violations: list[str] = []

    raw_auth: Any = None

    async def connect(self) -> HubClient:
        auth = {"token": self.token} if self.token is not None else self.raw_auth
        await self.sio.connect(
            self.url,
            auth=auth,
            headers=self.headers,
            transports=self.transports,
            namespaces=[self.namespace],
            wait_timeout=10,
        )
        return self

    @property
    def sid(self) -> str | None:
        return self.sio.get_sid(self.namespace)

    def on(self, event: str, listener: Callable[[Any], None]) -> None:
        """Also call ``listener(data)`` for every ``event`` (it must not block: queue work)."""
        self._listeners.setdefault(event, []).append(listener)

    async def _on_any(self, event: str, *args: Any) -> None:
        data = args[0] if len(args) == 1 else (list(args) if args else None)
        violation = received_violation(self.namespace, event, data)
        if violation is not None:
            self.violations.append(violation)
        async with self._changed:
            self.events.append((event, data))
            self._changed.notify_all()
        for listener in self._listeners.get(event, []):
            listener(data)

    async def _on_connect_error(self, data: Any = None) -> None:
        self.connect_error = data

    async def _on_disconnect(self, reason: Any = None) -> None:
        self.disconnect_reason = reason
        self.disconnected.set()
        for future in list(self._pending):
            if not future.done():
                future.set_exception(Dropped())
        async with self._changed:
            self._changed.notify_all()

    async def call(self, event: str, data: Any = None, *, within: float = 15) -> Any:
        """Emit with an ack and return the ack's payload (``data`` None sends no argument, a
        tuple sends several)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._pending.add(future)

        def ack(*args: Any) -> None:
            if not future.done():
                future.set_result(args[0] if len(args) == 1 else list(args))

        try:
            if self.disconnected.is_set():
                raise Dropped()
            await self.sio.emit(event, data, namespace=self.namespace, callback=ack)
            answer = await asyncio.wait_for(future, within)
        finally:
            self._pending.discard(future)
        violation = ack_violation(self.namespace, event, answer)
        if violation is not None:
            self.violations.append(violation)
        return answer

    def received(self, event: str, predicate: Predicate | None = None) -> list[Any]:
        return [d for e, d in self.events if e == event and (predicate is None or predicate(d))]

    async def wait_for(
        self, event: str, predicate: Predicate | None = None, *, within: float = 15
    ) -> Any:
        """The first received ``event`` matching ``predicate`` (already received or to come)."""

        async def find() -> Any:
            async with self._changed:
                while True:
                    found = self.received(event, predicate)
                    if found:
                        return found[0]
                    await self._changed.wait()

        return await asyncio.wait_for(find(), within)

    async def wait_until(self, check: Callable[[], bool], *, within: float = 15) -> None:
        """Until ``check()`` holds; it is evaluated again whenever an event arrives."""

        async def until() -> None:
            async with self._changed:
                while not check():
                    await self._changed.wait()

        await asyncio.wait_for(until(), within)

    async def wait_disconnected(self, within: float = 15) -> Any:
        await asyncio.wait_for(self.disconnected.wait(), within)
        return self.disconnect_reason

    async def drop(self) -> None:
        """Lose the connection abruptly: the transport closes without a Socket.IO goodbye."""
        ws = self.sio.eio.ws
        if ws is not None:
            await ws.close()
        await self.wait_disconnected()

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            if self.sio.connected:
                await self.sio.disconnect()
        with contextlib.suppress(Exception):
            await self.sio.shutdown()
        with contextlib.suppress(Exception):
            await self.sio.eio.disconnect()  # also closes the HTTP session of a failed connect


@dataclass
class Clinic:
    """A running app (real server, real database) with helpers to set up consultations."""

    client: Client
    clock: FakeClock
    accounts: Accounts
    sockets: list[HubClient] = field(default_factory=list)
    transports: list[str] = field(default_factory=lambda: ["websocket"])  # of its clients

    @property
    def url(self) -> str:
        return str(self.client.make_url("/")).rstrip("/")

    async def user(self, role: Role = Role.PATIENT, **kw: Any) -> dict[str, Any]:
        return await self.accounts.create(role, **kw)

    async def appointment(
        self,
        patient: dict[str, Any],
        doctor: dict[str, Any],
        *,
        start: datetime | None = None,
        minutes: int = 30,
        kind: AppointmentKind = AppointmentKind.VIDEO,
    ) -> str:
        from server import keys

        start = start or self.clock.now
        appointment = await self.client.app[keys.DATABASE].repos.appointments.insert(
            patient_id=patient["id"],
            doctor_id=doctor["id"],
            start=start,
            end=start + timedelta(minutes=minutes),
            kind=kind,
            reason="check-up",
            now=self.clock.now,
        )
        return appointment.id

    async def connect(
        self,
        user: dict[str, Any] | None,
        *,
        namespace: str = "/",
        headers: dict[str, str] | None = None,
        token: str | None = None,
    ) -> HubClient:
        hub_client = HubClient(
            self.url,
            token if token is not None else (user["access_token"] if user else None),
            namespace=namespace,
            headers=headers,
            transports=self.transports,
        )
        self.sockets.append(hub_client)
        return await hub_client.connect()

    async def close(self) -> None:
        await asyncio.gather(*(s.close() for s in self.sockets))

    def contract_violations(self) -> list[str]:
        """What the hub sent these clients outside its declared contract."""
        return [v for s in self.sockets for v in s.violations]

    async def refused(
        self,
        user: dict[str, Any] | None = None,
        *,
        namespace: str = "/",
        headers: dict[str, str] | None = None,
        token: str | None = None,
        auth: Any = None,
    ) -> Any:
        """Try to connect and expect a refusal; returns the ``connect_error`` data."""
        hub_client = HubClient(
            self.url,
            token if token is not None else (user["access_token"] if user else None),
            namespace=namespace,
            headers=headers,
            transports=self.transports,
        )
        if auth is not None:
            hub_client.raw_auth = auth
        self.sockets.append(hub_client)
        try:
            await hub_client.connect()
        except socketio.exceptions.ConnectionError:
            return hub_client.connect_error
        raise AssertionError("the connection was accepted")


async def joined(clinic: Clinic, user: dict[str, Any], appointment_id: str) -> HubClient:
    """A connected client of ``user`` that has joined the appointment's consultation."""
    hub_client = await clinic.connect(user)
    ack = await hub_client.call("consult:join", {"appointment_id": appointment_id})
    assert ack["ok"], ack
    return hub_client


async def in_call(
    clinic: Clinic, patient: dict[str, Any], doctor: dict[str, Any], appointment_id: str
) -> tuple[HubClient, HubClient]:
    """Patient and doctor joined and the patient admitted."""
    patient_socket = await joined(clinic, patient, appointment_id)
    doctor_socket = await joined(clinic, doctor, appointment_id)
    ack = await doctor_socket.call("consult:admit", {"appointment_id": appointment_id})
    assert ack["ok"], ack
    await patient_socket.wait_for("consult:admitted")
    return patient_socket, doctor_socket
