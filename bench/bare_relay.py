"""The other peer: a bare python-socketio relay with default settings (aiohttp, the standard
asyncio loop, the standard json module), doing the same relay as ``node/relay-server.js``.

Usage: python -m bench.bare_relay PORT
"""

from __future__ import annotations

import sys
from typing import Any

import socketio
from aiohttp import web

sio = socketio.AsyncServer(async_mode="aiohttp")
rooms: dict[str, str] = {}  # sid -> its room


@sio.on("consult:join")  # type: ignore[untyped-decorator]
async def join(sid: str, payload: dict[str, Any]) -> dict[str, Any]:
    room = "consult:" + payload["appointment_id"]
    first = not any(True for _ in sio.manager.get_participants("/", room))
    rooms[sid] = room
    await sio.enter_room(sid, room)
    return {"ok": True, "state": "waiting" if first else "admitted"}


@sio.on("consult:admit")  # type: ignore[untyped-decorator]
async def admit(sid: str, payload: dict[str, Any]) -> dict[str, Any]:
    await sio.emit(
        "consult:admitted",
        {"appointment_id": payload["appointment_id"]},
        room=rooms[sid],
        skip_sid=sid,
    )
    return {"ok": True}


@sio.on("rtc:signal")  # type: ignore[untyped-decorator]
async def signal(sid: str, payload: dict[str, Any]) -> dict[str, Any]:
    await sio.emit(
        "rtc:signal",
        {"appointment_id": payload["appointment_id"], "from": sid, "data": payload["data"]},
        room=rooms[sid],
        skip_sid=sid,
    )
    return {"ok": True, "delivered": True}


@sio.on("chat:send")  # type: ignore[untyped-decorator]
async def chat(sid: str, payload: dict[str, Any]) -> dict[str, Any]:
    message = {"appointment_id": payload["appointment_id"], "text": payload["text"]}
    await sio.emit("chat:message", message, room=rooms[sid])
    return {"ok": True, "message": message}


@sio.event  # type: ignore[untyped-decorator]
async def disconnect(sid: str, reason: Any = None) -> None:
    rooms.pop(sid, None)


def main() -> None:
    port = int(sys.argv[1])
    app = web.Application()
    sio.attach(app)
    web.run_app(
        app,
        host="127.0.0.1",
        port=port,
        print=lambda _: print(f"listening {port}", flush=True),
        access_log=None,
    )


if __name__ == "__main__":
    main()
