"""A real, impaired network link on one machine, for calls that cross it.

Topology (three network namespaces, two veth pairs)::

    this namespace                  NS-link (a router)                 NS-far
    the server, the doctor's        forwards between its two veths;    the patient's browser,
    browser                         impairs what it forwards           the agent's forwarder
    <ID>h  A.1/30 ============ A.2/30 <ID>r     <ID>s A.5/30 ============ A.6/30 <ID>f
           route A.4/30 via A.2     tbf on both (rate cap, each way)      default via A.5
                                    iptables FORWARD, all but the
                                    signalling's TCP port:
                                      cut: DROP; loss: statistic; delay, jitter: NFQUEUE

The server binds the near address (A.1) as well as 127.0.0.1; in NS-far the agent
(:mod:`tests.support.netns_agent`) forwards ``127.0.0.1:PORT`` across the link to it, so the
patient's browser loads the app from a local (secure) origin while every byte crosses the link.

Why a router in the middle: a packet that netfilter drops on its way *out* of a host fails the
sender's ``sendto()`` with EPERM, which no real network does; dropped or held while forwarded,
it is lost or late, as on a real path. All the impairing happens in NS-link, so the ends run
unmodified.

What the link can do, with what this kernel has (it has no ``netem`` qdisc):

- **loss**: the iptables ``statistic`` match drops that share of packets, each way;
- **delay and jitter**: NS-link queues every packet it forwards to netfilter queue 0, and
  the agent there holds it for the delay (± the jitter, never reordering) before it accepts
  it: 150 ms each way is a 300 ms round trip on the media path. This is the "UDP relay in the
  middle" done in the kernel's own path, so ICE needs no change at all: the peers use each
  other's real host candidates, and the STUN checks, RTP and RTCP are all delayed alike;
- **a bandwidth cap**: a ``tbf`` qdisc on each of NS-link's veths (all traffic: the media and
  the signalling over TCP share the cap, as on a real access link);
- **a cut of the media path**: everything dropped both ways but the signalling, so the call
  must recover by itself (ICE restart) while the hub still carries its offers.

Loss, delay and the cut apply to the media path: every packet but the signalling's (the TCP
connections to the server's port, see ``Link.forward``), so media that an ICE restart moves to
TCP candidates is cut too. Everything is torn down on exit, even
when the body raised (deleting the namespaces deletes the veths with their qdiscs, iptables
and routes; the agents are killed).

``unsupported()`` says why this machine cannot make such a link (not root, no ``ip``/``tc``/
``iptables``, a kernel without network namespaces, veth, tbf, the statistic match or netfilter
queues), found by making one, so a test skips with that reason and only then.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
QUEUE = 0


def _run(*argv: str, ns: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    command = ["ip", "netns", "exec", ns, *argv] if ns else list(argv)
    return subprocess.run(command, capture_output=True, text=True, check=check, timeout=30)


@dataclass(frozen=True)
class Impairment:
    """What the link does to the media path, each way."""

    loss: float = 0.0  # share of packets dropped
    delay_ms: float = 0.0  # one way
    jitter_ms: float = 0.0
    rate_kbit: int | None = None  # the cap (None: the veth's own speed)

    def describe(self) -> str:
        rate = f"{self.rate_kbit} kbit/s" if self.rate_kbit else "uncapped"
        rtt = f"{2 * self.delay_ms:.0f} ms RTT ± {self.jitter_ms:.0f} ms"
        return f"{self.loss:.0%} loss, {rtt}, {rate}"


CLEAR = Impairment()


class Agent:
    """A :mod:`tests.support.netns_agent` process in a namespace, driven through its stdin."""

    def __init__(self, ns: str, args: list[str]) -> None:
        argv = [sys.executable, "-m", "tests.support.netns_agent", *args]
        self.process = subprocess.Popen(
            ["ip", "netns", "exec", ns, *argv],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        self.expect("ready")

    def expect(self, word: str) -> None:
        assert self.process.stdout
        line = self.process.stdout.readline().strip()
        if line != word:
            self.stop()
            raise RuntimeError(f"the link's agent said {line!r}, not {word!r}")

    def send(self, command: str) -> None:
        assert self.process.stdin
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        self.expect("ok")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.communicate(timeout=10)


@dataclass
class Link:
    tag: str
    subnet: tuple[int, int, int, int]  # a /29: the near /30 and the far /30
    delay_line: Agent | None = None
    forwarder: Agent | None = None
    current: Impairment = CLEAR
    cut_now: bool = False
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="netns-")))

    @property
    def router(self) -> str:
        return f"telemed-{self.tag}-link"

    @property
    def far(self) -> str:
        return f"telemed-{self.tag}-far"

    def ip(self, n: int) -> str:
        a, b, c, d = self.subnet
        return f"{a}.{b}.{c}.{d + n}"

    @property
    def near_ip(self) -> str:
        """This namespace's address on the link (bind servers the far side reaches here)."""
        return self.ip(1)

    @property
    def far_ip(self) -> str:
        return self.ip(6)

    def dev(self, end: str) -> str:
        return f"tm{self.tag}{end}"

    def executable(self, program: str) -> str:
        """A wrapper that runs ``program`` in the far namespace (e.g. for Playwright's
        ``executable_path``): that namespace's network, this machine's files."""
        wrapper = self.workdir / f"{Path(program).name}-in-{self.far}"
        wrapper.write_text(f'#!/bin/sh\nexec ip netns exec {self.far} {program} "$@"\n')
        wrapper.chmod(0o755)
        return str(wrapper)

    def forward(self, ports: list[int]) -> None:
        """The far namespace's ``127.0.0.1:PORT`` leads to ``near_ip:PORT``, for each port."""
        if self.forwarder is not None:
            self.forwarder.stop()
        args = [f"--forward=127.0.0.1:{port}={self.near_ip}:{port}" for port in ports]
        self.forwarder = Agent(self.far, args)
        # These connections are the signalling: capped like the rest, but never lost, delayed or
        # cut with the media (which may run over UDP or, after an ICE restart, over TCP).
        for port in ports:
            _run(
                "iptables",
                "-I",
                "FORWARD",
                "-p",
                "tcp",
                "-m",
                "multiport",
                "--ports",
                str(port),
                "-j",
                "ACCEPT",
                ns=self.router,
            )

    def set(self, impairment: Impairment) -> None:
        """Make the link do this (replacing what it did before; a cut stays as it is)."""
        self.current = impairment
        self._rules()
        assert self.delay_line is not None
        self.delay_line.send(f"delay {impairment.delay_ms} {impairment.jitter_ms}")
        for end in ("r", "s"):
            if impairment.rate_kbit:
                # burst: three full packets; latency: how long a packet may queue at the cap.
                rate = f"{impairment.rate_kbit}kbit"
                _run(
                    "tc",
                    "qdisc",
                    "replace",
                    "dev",
                    self.dev(end),
                    "root",
                    "tbf",
                    "rate",
                    rate,
                    "burst",
                    "4500",
                    "latency",
                    "200ms",
                    ns=self.router,
                )
            else:
                _run(
                    "tc", "qdisc", "del", "dev", self.dev(end), "root", ns=self.router, check=False
                )

    def cut(self, on: bool = True) -> None:
        """Drop every media packet both ways, or stop doing so."""
        self.cut_now = on
        self._rules()

    def _rules(self) -> None:
        rules: list[list[str]] = []
        if self.cut_now:
            rules.append(["-j", "DROP"])
        if self.current.loss > 0:
            probability = f"{self.current.loss:.4f}"
            rules.append(
                ["-m", "statistic", "--mode", "random", "--probability", probability, "-j", "DROP"]
            )
        if self.current.delay_ms > 0 or self.current.jitter_ms > 0:
            rules.append(["-j", "NFQUEUE", "--queue-num", str(QUEUE), "--queue-bypass"])
        script = "*filter\n-F impair\n" + "".join(f"-A impair {' '.join(r)}\n" for r in rules)
        # One atomic change: no moment where the chain is empty between two settings.
        subprocess.run(
            ["ip", "netns", "exec", self.router, "iptables-restore", "--noflush"],
            input=script + "COMMIT\n",
            text=True,
            capture_output=True,
            check=True,
            timeout=30,
        )


def unsupported() -> str | None:
    """Why this machine cannot make an impaired link (None: it can), found by making one."""
    if os.geteuid() != 0:
        return "network namespaces need root (CAP_NET_ADMIN)"
    for tool in ("ip", "tc", "iptables", "iptables-restore"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed (Debian: iproute2, iptables; see scripts/test.sh)"
    try:
        with link() as probe:
            probe.set(Impairment(loss=0.01, delay_ms=1, rate_kbit=1000))
            probe.cut()
    except (subprocess.CalledProcessError, RuntimeError, OSError) as error:
        detail = error.stderr if isinstance(error, subprocess.CalledProcessError) else error
        return f"cannot make the impaired link here (kernel or privileges): {str(detail).strip()}"
    return None


@contextlib.contextmanager
def link() -> Iterator[Link]:
    """A fresh, unimpaired link to a far namespace; all of it removed on exit."""
    octets = (10, 213, random.randrange(256), 8 * random.randrange(32))
    made = Link(tag=uuid.uuid4().hex[:6], subnet=octets)
    r, far = made.router, made.far
    try:
        _run("ip", "netns", "add", r)
        _run("ip", "netns", "add", far)
        _run(
            "ip",
            "link",
            "add",
            made.dev("h"),
            "type",
            "veth",
            "peer",
            "name",
            made.dev("r"),
            "netns",
            r,
        )
        _run(
            "ip",
            "link",
            "add",
            made.dev("s"),
            "netns",
            r,
            "type",
            "veth",
            "peer",
            "name",
            made.dev("f"),
            "netns",
            far,
        )
        # IPv4 only (the iptables rules are IPv4's): no IPv6 candidates around the impairment.
        Path(f"/proc/sys/net/ipv6/conf/{made.dev('h')}/disable_ipv6").write_text("1")
        for ns in (r, far):
            _run("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", ns=ns)
            _run("ip", "link", "set", "lo", "up", ns=ns)
        _run("sysctl", "-qw", "net.ipv4.ip_forward=1", ns=r)  # this namespace's own setting
        for dev, address, ns in (("h", 1, None), ("r", 2, r), ("s", 5, r), ("f", 6, far)):
            _run("ip", "addr", "add", f"{made.ip(address)}/30", "dev", made.dev(dev), ns=ns)
            _run("ip", "link", "set", made.dev(dev), "up", ns=ns)
        _run("ip", "route", "add", f"{made.ip(4)}/30", "via", made.ip(2), "dev", made.dev("h"))
        _run("ip", "route", "add", "default", "via", made.ip(5), ns=far)
        _run("iptables", "-N", "impair", ns=r)
        _run("iptables", "-A", "FORWARD", "-j", "impair", ns=r)
        made.delay_line = Agent(r, [f"--queue={QUEUE}"])
        yield made
    finally:
        for agent in (made.delay_line, made.forwarder):
            if agent is not None:
                agent.stop()
        for ns in (far, r):  # their veth ends go with them, and so both pairs and the route
            _run("ip", "netns", "delete", ns, check=False)
        _run("ip", "link", "delete", made.dev("h"), check=False)
        shutil.rmtree(made.workdir, ignore_errors=True)
