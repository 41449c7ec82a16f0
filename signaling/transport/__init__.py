"""The hub's Socket.IO server and its transport, tuned for the relay's hot path.

python-socketio and python-engineio do the protocol; this package replaces what costs the most
per message without changing what goes over the wire (docs/BENCHMARKS.md has the figures):

* **No WebSocket compression.** aiohttp accepts ``permessage-deflate`` by default, and every
  browser and the Node.js client offer it; deflating each small signaling frame cost a quarter of
  the hub's CPU, and each socket kept zlib state. The reference socket.io server disables it by
  default for the same reasons.
* **orjson for packets** (``HubPacket``): python-socketio encodes with the standard ``json``
  module; the packets it still builds (room notices, acks of other namespaces) use orjson. The
  relay, its ack and one-socket emits are encoded by the hub directly (``encode_event``). A
  client's binary attachments are decoded, and refused by the hub's payload check.
* **Direct WebSocket writes** (``HubSocket``): Engine.IO queues every packet for a writer task;
  once the transport is a WebSocket and nothing is queued or being written, a packet is written
  at once (frames are written whole and in order; when the client reads slowly, packets queue as
  before, so a slow reader never stalls whoever sends to it).
* **Reads without a timer per frame**: Engine.IO wrapped every read in a task and a
  ``wait_for``; a dead client is found by Engine.IO's own ping timeout, which now also cuts
  the connection.
* **One recipient, no task** (``HubManager``): an emit to one socket sends its packet directly
  instead of through a task per recipient.
* **No Redis publish for a socket of this node** (``HubRedisManager``): python-socketio
  publishes every emit; one addressed to a single socket connected here is only delivered.
* **A bound on what a slow client may leave unsent** (``SendQueue``): the send queue counts
  the characters it holds and remembers the transport its writer sends on; the hub drops a
  connection whose queue holds more than its limit (``Housekeeping.drop_slow_clients``: the
  socket is disconnected and its transport aborted). The client may reconnect and catch up.
* **Hostile bytes never reach the libraries' error paths**: a WebSocket frame that is not an
  Engine.IO packet, a message that is not a valid Socket.IO packet, or a client event named
  like the server's own ``connect``/``disconnect`` closes that one connection (as the reference
  Socket.IO server does on a parse error), with a warning in the log and nothing else.
* **Event frames in one step** (``HubServer``): a Socket.IO event of the default namespace is
  decoded, dispatched and acknowledged without the packet objects and dispatch layers of
  python-socketio and python-engineio (their per-message cost was most of the hub's CPU). A
  handler that needs no waiting answers at once (no coroutine per frame), and each WebSocket's
  frames are read in a task of their own: a frame wakes that short coroutine instead of
  resuming the request handler's whole chain (aiohttp, the middlewares, Engine.IO's request
  and upgrade), which had cost about a quarter of the hub's CPU per signal.
* **Every connection ends**: a deadline to connect a namespace (``HubServer(connect_timeout)``,
  again whenever its last namespace is disconnected, by the client or by the server), a
  deadline to finish a WebSocket's closing handshake (``close_timeout``), long-polling POST
  bodies capped before they are read and read whole, a closed session's requests answered 400.

Each library's internals are used in one module of this package, whose docstring names every
private name it uses, the version verified and why: ``aiohttp_websocket`` (aiohttp),
``engineio_socket`` (python-engineio), ``socketio_server`` (python-socketio). Every upstream
function copied or replaced is listed in ``signaling/upstream/copied.py``.
"""

from signaling.cluster import ROOM_PROBE, SESSION_ENDED
from signaling.transport.socketio_server import (
    HubManager,
    HubRedisManager,
    HubServer,
    RoomEvents,
)

__all__ = [
    "ROOM_PROBE",
    "SESSION_ENDED",
    "HubManager",
    "HubRedisManager",
    "HubServer",
    "RoomEvents",
]
