"""The impaired link itself (tests/support/netns.py), measured with plain sockets across it
before any call relies on it: the delay line delays, loss loses, the cap caps, the cut cuts the
media but not the signalling port, and nothing is left behind."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from tests.support import netns
from tests.support.netns import Impairment

# Runs in the far namespace: sends COUNT UDP datagrams to the echo, one after another, each
# waiting up to WAIT seconds for its echo; prints the round trips (ms) of those answered.
PROBE = """
import socket, sys, time
host, port, count, wait = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(wait)
for i in range(count):
    sent = time.monotonic()
    s.sendto(i.to_bytes(4, "big") + bytes(196), (host, port))
    try:
        while int.from_bytes(s.recvfrom(4096)[0][:4], "big") != i:
            pass
        print(round((time.monotonic() - sent) * 1000, 1))
    except socket.timeout:
        pass
"""

# Runs in the far namespace: 1,000-byte datagrams to the sink, about 16 Mbit/s, for SECONDS.
FLOOD = """
import socket, sys, time
host, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
end = time.monotonic() + seconds
while time.monotonic() < end:
    s.sendto(bytes(1000), (host, port))
    time.sleep(0.0005)
"""


@pytest.fixture(scope="module")
def link() -> Iterator[netns.Link]:
    reason = netns.unsupported()
    if reason:
        pytest.skip(f"no impaired link on this machine: {reason}")
    with netns.link() as made:
        yield made


@pytest.fixture(scope="module")
def echo(link: netns.Link) -> Iterator[int]:
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind((link.near_ip, 0))

    def serve() -> None:
        while True:
            try:
                data, sender = server.recvfrom(4096)
                server.sendto(data, sender)
            except OSError:
                return

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1]
    server.close()


def in_far(link: netns.Link, script: str, *args: object) -> str:
    argv = [sys.executable, "-c", script, link.near_ip, *(str(a) for a in args)]
    command = ["ip", "netns", "exec", link.far, *argv]
    return subprocess.run(command, capture_output=True, text=True, check=True, timeout=60).stdout


def round_trips(link: netns.Link, port: int, count: int, wait: float = 1.0) -> list[float]:
    return [float(x) for x in in_far(link, PROBE, port, count, wait).split()]


def test_delay_loss_and_the_cap_are_what_was_set(link: netns.Link, echo: int) -> None:
    link.set(netns.CLEAR)
    clean = round_trips(link, echo, 20)
    assert len(clean) == 20
    assert max(clean) < 100

    link.set(Impairment(delay_ms=150, jitter_ms=20))
    delayed = sorted(round_trips(link, echo, 20))
    assert len(delayed) == 20
    assert 260 <= delayed[len(delayed) // 2] <= 400  # 2 x (150 ± 20) ms, and some scheduling

    link.set(Impairment(loss=0.3))
    answered = len(round_trips(link, echo, 100, wait=0.1))
    # Each echo crosses twice: 0.7 ** 2 = 49 % answered; far from 0 % and from 100 %.
    assert 25 <= answered <= 75

    # About 16 Mbit/s offered for 2 s through a 300 kbit/s cap: what arrives is the cap's worth.
    link.set(Impairment(rate_kbit=300))
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind((link.near_ip, 0))
    sink.settimeout(0.5)
    received = 0

    def count() -> None:
        nonlocal received
        while True:
            try:
                received += len(sink.recv(4096))
            except OSError:  # 0.5 s without anything: the flood is over
                return

    counter = threading.Thread(target=count)
    counter.start()
    in_far(link, FLOOD, sink.getsockname()[1], 2)
    counter.join()
    sink.close()
    kbit_per_second = received * 8 / 2 / 1000
    assert 150 <= kbit_per_second <= 450, kbit_per_second


def test_a_cut_drops_the_media_but_not_the_signalling(link: netns.Link, echo: int) -> None:
    link.set(netns.CLEAR)
    listener = socket.create_server((link.near_ip, 0))
    port = listener.getsockname()[1]
    link.forward([port])  # this port is the signalling: never cut

    def answer() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.sendall(connection.recv(100))

    threading.Thread(target=answer, daemon=True).start()
    link.cut()
    try:
        assert round_trips(link, echo, 5, wait=0.3) == []
        client = (
            "import socket, sys; s = socket.create_connection(('127.0.0.1', int(sys.argv[2])), 5);"
            "s.sendall(b'offer'); print(s.recv(100).decode())"
        )
        assert in_far(link, client, port).strip() == "offer"
    finally:
        link.cut(False)
        listener.close()
    assert len(round_trips(link, echo, 5)) == 5


def test_nothing_is_left_behind() -> None:
    if netns.unsupported():
        pytest.skip("no impaired link on this machine")
    with netns.link() as made:
        made.set(Impairment(loss=0.1, delay_ms=10, rate_kbit=500))
        names = (made.router, made.far)
    time.sleep(0.1)
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert not any(name in namespaces for name in names)
    assert made.dev("h") not in links
    assert made.delay_line is not None
    assert made.delay_line.process.poll() is not None
