"""SMS through a provider interface: the ``log`` provider (development, the demo, the tests)
and adapters for Alibaba Cloud and Tencent Cloud (``aliyun.py``, ``tencent.py``).

A provider sends one approved template to one number. Providers in China accept only
templates their reviewers approved, with the values filled in by the provider; the ``text``
beside them is what the template says in full, for the log provider and the log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import structlog

log = structlog.get_logger(__name__)


class SmsError(Exception):
    """A provider refused or failed a send. ``permanent``: trying again will not help (a bad
    number, a template not approved), so the send is not retried."""

    def __init__(self, message: str, *, code: str = "", permanent: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.permanent = permanent


@dataclass(frozen=True, slots=True)
class SmsRequest:
    phone: str  # E.164, e.g. +8613800138000
    template: str  # the provider's template id ("" for the log provider without templates)
    params: dict[str, str]  # the template's values, in the template's order
    text: str  # the whole message as the recipient reads it


class SmsProvider(Protocol):
    name: str

    async def send(self, request: SmsRequest) -> str:
        """Send it; returns the provider's id of the send. Raises :class:`SmsError`."""
        ...


def masked(phone: str) -> str:
    """A number as logs show it: enough to tell two apart, not enough to call."""
    return phone[:5] + "*" * max(0, len(phone) - 9) + phone[-4:] if len(phone) > 9 else "***"


@dataclass
class LogSmsProvider:
    """Writes each text to the log (and keeps the last ones, for the tests and the demo)."""

    name: str = "log"
    keep: int = 200
    sent: list[SmsRequest] = field(default_factory=list)

    async def send(self, request: SmsRequest) -> str:
        self.sent.append(request)
        del self.sent[: -self.keep]
        log.info(
            "sms_logged", to=masked(request.phone), template=request.template, text=request.text
        )
        return f"log-{len(self.sent)}"
