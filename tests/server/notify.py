"""A real SMTP server for the notification tests, as its own process
(``server/notifications/smtp_sink.py``, the demo's too), and the settings that send to it."""

from __future__ import annotations

import email
import email.policy
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest

from server.settings import NotificationSettings, SmtpSecurity

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class SmtpSink:
    port: int
    directory: Path

    def settings(self, **overrides: object) -> NotificationSettings:
        values: dict[str, object] = {
            "smtp_host": "127.0.0.1",
            "smtp_port": self.port,
            "smtp_security": SmtpSecurity.NONE,
            "smtp_from": "Clinic <no-reply@clinic.example>",
            "notify_backoff": 0.0,
            "notify_interval": 3600.0,  # the tests run the sweep themselves
        }
        values.update(overrides)
        return NotificationSettings(**values)  # type: ignore[arg-type]

    def messages(self) -> list[EmailMessage]:
        found = []
        for path in sorted(self.directory.glob("*.eml")):
            parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            assert isinstance(parsed, EmailMessage)
            found.append(parsed)
        return found


@pytest.fixture
def smtp_sink(tmp_path: Path) -> Iterator[SmtpSink]:
    port = free_port()
    directory = tmp_path / "mail"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "server.notifications.smtp_sink",
            "--port",
            str(port),
            "--dir",
            str(directory),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.strip() == b"ready", line
        yield SmtpSink(port=port, directory=directory)
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
