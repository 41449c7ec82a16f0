"""The userspace parts of the impaired link, run inside its network namespaces (started by
:mod:`tests.support.netns` with ``ip netns exec NS python -m tests.support.netns_agent``).

It does one or both of two things there:

- **a delay line** (in the link's router namespace): its iptables send the UDP packets they
  forward (both directions) to netfilter queue ``--queue``; this process holds each one for the
  configured delay plus a random jitter and then lets it go on (``NF_ACCEPT``). Packets leave in
  the order they came (the jitter never reorders them), as on a real path. The kernel has no
  ``netem`` here, and an NFQUEUE verdict is the one way to hold a packet without it. The
  netfilter queue protocol is spoken directly over a netlink socket (about sixty lines below),
  so no C library is needed.
- **a TCP forwarder** (in the far namespace): ``--forward LISTEN=TARGET`` accepts connections
  on the namespace's own loopback and joins them to the server across the link, so that a
  browser in the namespace loads the app from ``http://127.0.0.1:PORT`` (a secure context, like
  any local app) while every byte still crosses the impaired link.

Commands come on stdin, one per line: ``delay MS JITTER_MS``. It prints ``ready`` once the queue
is bound and the forwarder listens, and ``ok`` after each command.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import random
import socket
import struct
import sys
import threading

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET = 0
NFQNL_MSG_VERDICT = 1
NFQNL_MSG_CONFIG = 2
NLMSG_ERROR = 2
NLM_F_REQUEST = 1
NLM_F_ACK = 4
NFQA_CFG_CMD = 1
NFQA_CFG_PARAMS = 2
NFQA_CFG_QUEUE_MAXLEN = 3
NFQA_PACKET_HDR = 1
NFQA_VERDICT_HDR = 2
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1
NF_ACCEPT = 1
NLA_TYPE_MASK = 0x3FFF


def _attr(kind: int, payload: bytes) -> bytes:
    length = 4 + len(payload)
    return struct.pack("=HH", length, kind) + payload + b"\0" * (-length % 4)


def _message(kind: int, flags: int, seq: int, queue: int, attrs: bytes) -> bytes:
    # nfgenmsg: family (AF_UNSPEC), version (NFNETLINK_V0), res_id (the queue, big-endian)
    body = struct.pack("!BBH", socket.AF_UNSPEC, 0, queue) + attrs
    header = struct.pack("=IHHII", 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | kind, flags, seq, 0)
    return header + body


class NetfilterQueue:
    """One netfilter queue, bound over netlink; yields packet ids, accepts them by id."""

    def __init__(self, queue: int) -> None:
        self.queue = queue
        self.seq = 0
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind((0, 0))
        self._configure(_attr(NFQA_CFG_CMD, struct.pack("!BxH", NFQNL_CFG_CMD_BIND, 0)))
        # Only the packet's metadata comes up (its id): the payload stays in the kernel.
        self._configure(_attr(NFQA_CFG_PARAMS, struct.pack("!IB", 0, NFQNL_COPY_META)))
        self._configure(_attr(NFQA_CFG_QUEUE_MAXLEN, struct.pack("!I", 8192)))
        self.sock.setblocking(False)

    def _configure(self, attrs: bytes) -> None:
        self.seq += 1
        self.sock.send(
            _message(NFQNL_MSG_CONFIG, NLM_F_REQUEST | NLM_F_ACK, self.seq, self.queue, attrs)
        )
        reply = self.sock.recv(65536)
        kind = struct.unpack_from("=H", reply, 4)[0]
        if kind == NLMSG_ERROR:
            code = struct.unpack_from("=i", reply, 16)[0]
            if code:
                raise OSError(-code, f"netfilter queue {self.queue}: {errno.errorcode.get(-code)}")

    def packets(self) -> list[int]:
        """The ids of the packets waiting on the socket now (none when it would block)."""
        ids: list[int] = []
        while True:
            try:
                data = self.sock.recv(1 << 16)
            except BlockingIOError:
                return ids
            except OSError as error:  # ENOBUFS: the kernel dropped some; carry on
                if error.errno == errno.ENOBUFS:
                    continue
                raise
            offset = 0
            while offset + 16 <= len(data):
                length, kind = struct.unpack_from("=IH", data, offset)
                if length < 16:
                    break
                if kind == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
                    at = offset + 20  # after nlmsghdr and nfgenmsg
                    while at + 4 <= offset + length:
                        nla_len, nla_type = struct.unpack_from("=HH", data, at)
                        if nla_len < 4:
                            break
                        if nla_type & NLA_TYPE_MASK == NFQA_PACKET_HDR:
                            ids.append(struct.unpack_from("!I", data, at + 4)[0])
                        at += (nla_len + 3) & ~3
                offset += (length + 3) & ~3

    def accept(self, packet_id: int) -> None:
        self.seq += 1
        verdict = _attr(NFQA_VERDICT_HDR, struct.pack("!II", NF_ACCEPT, packet_id))
        with contextlib.suppress(BlockingIOError):
            self.sock.send(
                _message(NFQNL_MSG_VERDICT, NLM_F_REQUEST, self.seq, self.queue, verdict)
            )


class DelayLine:
    def __init__(self, queue: NetfilterQueue) -> None:
        self.queue = queue
        self.delay = 0.0
        self.jitter = 0.0
        self.last_release = 0.0

    def set(self, delay_ms: float, jitter_ms: float) -> None:
        self.delay, self.jitter = delay_ms / 1000, jitter_ms / 1000

    def readable(self) -> None:
        loop = asyncio.get_running_loop()
        for packet_id in self.queue.packets():
            now = loop.time()
            wait = self.delay + random.uniform(-self.jitter, self.jitter)
            release = max(self.last_release, now + max(0.0, wait))
            self.last_release = release
            if release <= now:
                self.queue.accept(packet_id)
            else:
                loop.call_at(release, self.queue.accept, packet_id)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(1 << 16):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def _forward(
    target: tuple[str, int], reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        up_reader, up_writer = await asyncio.open_connection(*target)
    except OSError:
        writer.close()
        return
    await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queue", type=int, help="the netfilter queue to delay (if any)")
    parser.add_argument("--forward", action="append", default=[], help="LISTEN=TARGET, host:port")
    args = parser.parse_args(argv)
    loop = asyncio.get_running_loop()
    line = DelayLine(NetfilterQueue(args.queue)) if args.queue is not None else None
    if line is not None:
        loop.add_reader(line.queue.sock.fileno(), line.readable)
    servers = []
    for spec in args.forward:
        listen, target = (_address(part) for part in spec.split("="))

        async def handle(
            r: asyncio.StreamReader, w: asyncio.StreamWriter, t: tuple[str, int] = target
        ) -> None:
            await _forward(t, r, w)

        servers.append(await asyncio.start_server(handle, *listen))
    commands: asyncio.Queue[str | None] = asyncio.Queue()

    def read_stdin() -> None:  # a thread: stdin is a pipe from the test
        for command in sys.stdin:
            loop.call_soon_threadsafe(commands.put_nowait, command)
        loop.call_soon_threadsafe(commands.put_nowait, None)

    threading.Thread(target=read_stdin, daemon=True).start()
    print("ready", flush=True)
    while (command := await commands.get()) is not None:
        words = command.split()
        if words and words[0] == "delay" and line is not None:
            line.set(float(words[1]), float(words[2]))
        print("ok", flush=True)
    for server in servers:
        server.close()


if __name__ == "__main__":
    asyncio.run(main())
