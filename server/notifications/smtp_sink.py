"""A local SMTP server that delivers nothing: every message it accepts is saved, as received,
to ``<dir>/<n>.eml`` (written to a temporary name first, so a reader never sees half a
message), with the envelope's recipients in an ``X-Sink-Rcpt`` header. ``scripts/demo.sh`` runs
it as its own process for the demo clinic's mail; the notification tests run it to read every
message back. Never a clinic's mail server: it listens on 127.0.0.1 only.

    python -m server.notifications.smtp_sink --port 2525 --dir /tmp/mail

It prints ``ready`` once it accepts connections; SIGTERM or SIGINT stops it.
"""

from __future__ import annotations

import argparse
import itertools
import os
import signal
import threading
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class SaveToDirectory:
    def __init__(self, directory: Path) -> None:
        self._dir = directory
        self._count = itertools.count(1)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        n = next(self._count)
        content: Any = envelope.original_content or envelope.content or b""
        data = content if isinstance(content, bytes) else str(content).encode()
        rcpt = ",".join(envelope.rcpt_tos).encode()
        tmp = self._dir / f".{n}.tmp"
        tmp.write_bytes(b"X-Sink-Rcpt: " + rcpt + b"\r\n" + data)
        os.replace(tmp, self._dir / f"{n:04d}.eml")
        return "250 OK"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    controller = Controller(SaveToDirectory(args.dir), hostname="127.0.0.1", port=args.port)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print("ready", flush=True)
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
