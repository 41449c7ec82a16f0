"""What a careful chat client does (the contract's ``client_msg_id``): every message keeps its id
until the server acknowledges it as stored; anything not acknowledged (an error ack, a dropped
connection, no answer) is sent again, with the same id, through whatever connection the client
has now. The server answers a resend with the stored message, so nothing is lost or doubled."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from tests.support.hub import Dropped, HubClient


@dataclass
class Outbox:
    appointment_id: str
    tag: str
    pending: dict[str, str] = field(default_factory=dict)  # client_msg_id -> text, in order
    acked: dict[str, dict[str, Any]] = field(default_factory=dict)  # client_msg_id -> message
    refusals: list[str] = field(default_factory=list)  # error codes seen
    _n: int = 0

    def write(self, text: str | None = None) -> str:
        """Queue a new message; returns its client_msg_id."""
        self._n += 1
        client_msg_id = f"{self.tag}-{self._n}"
        self.pending[client_msg_id] = text or f"{self.tag} message {self._n}"
        return client_msg_id

    async def send_one(self, client: HubClient, client_msg_id: str, *, within: float = 5) -> bool:
        text = self.pending.get(client_msg_id)
        if text is None:
            return True
        payload = {"appointment_id": self.appointment_id, "client_msg_id": client_msg_id}
        try:
            ack = await client.call("chat:send", {**payload, "text": text}, within=within)
        except (Dropped, TimeoutError, ConnectionError, OSError):
            self.refusals.append("dropped")
            return False
        except Exception as exc:  # the socket.io client refusing to emit on a dead connection
            self.refusals.append(type(exc).__name__)
            return False
        if ack.get("ok") is True:
            message = ack["message"]
            assert message["client_msg_id"] == client_msg_id, ack
            assert message["text"] == text, ack
            previous = self.acked.setdefault(client_msg_id, message)
            assert previous == message, (previous, message)  # a resend answers the same message
            self.pending.pop(client_msg_id, None)
            return True
        self.refusals.append(str(ack["error"]["code"]))
        return False

    async def flush(self, client: HubClient) -> bool:
        """Send everything still pending, in order; True when nothing is left."""
        for client_msg_id in list(self.pending):
            if not await self.send_one(client, client_msg_id):
                return False
        return not self.pending

    async def flush_until_done(
        self, client: HubClient, *, within: float = 60, every: float = 0.2
    ) -> None:
        async with asyncio.timeout(within):
            while not await self.flush(client):  # noqa: ASYNC110 - the server has no event
                await asyncio.sleep(every)
