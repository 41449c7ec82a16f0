"""E-mail over SMTP (aiosmtplib), or to the log where no SMTP server is configured.

A message is plain UTF-8 text (the time and a link), with ``Content-Language`` naming its
language and ``Auto-Submitted: auto-generated`` (RFC 3834) so that auto-responders stay quiet;
a booking's message carries the appointment as ``appointment.ics`` (``text/calendar`` with the
calendar's ``METHOD``, RFC 6047).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Protocol

import aiosmtplib
import structlog

from domain.clock import Clock
from domain.notifications import Message, shown_rule
from server.settings import NotificationSettings, SmtpSecurity

log = structlog.get_logger(__name__)


class MailError(Exception):
    """The message could not be handed to the SMTP server. ``permanent``: the server refused
    the recipient or the message for good (5xx), so it is not tried again."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True, slots=True)
class CalendarFile:
    content: bytes
    method: str  # PUBLISH or CANCEL, as in the file


def compose(
    *,
    sender: str,
    to: str,
    message: Message,
    now_clock: Clock,
    calendar: CalendarFile | None = None,
) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = message.subject
    mail["Date"] = format_datetime(now_clock())
    domain = parseaddr(sender)[1].rpartition("@")[2] or "telemed.invalid"
    mail["Message-ID"] = make_msgid(domain=domain)
    mail["Auto-Submitted"] = "auto-generated"
    mail["X-Telemed-Rule"] = shown_rule(message.rule)
    mail.set_content(message.text + "\n", charset="utf-8")
    if calendar is not None:
        mail.add_attachment(
            calendar.content,
            maintype="text",
            subtype="calendar",
            filename="appointment.ics",
            params={"method": calendar.method, "charset": "utf-8"},
        )
    # After the content: setting the content replaces the top-level Content-* headers.
    mail["Content-Language"] = message.language
    return mail


class Mailer(Protocol):
    enabled: bool

    async def send(self, mail: EmailMessage) -> None: ...


@dataclass
class LogMailer:
    """No SMTP server configured: each message is written to the log (subject and recipient;
    the body is a time and a link), and the last ones are kept for the demo."""

    enabled: bool = False
    keep: int = 100
    sent: list[EmailMessage] = field(default_factory=list)

    async def send(self, mail: EmailMessage) -> None:
        self.sent.append(mail)
        del self.sent[: -self.keep]
        body = mail.get_body(("plain",))
        text = body.get_content() if body is not None else ""
        log.info("email_logged", to=str(mail["To"]), subject=str(mail["Subject"]), text=text)


class SmtpMailer:
    enabled = True

    def __init__(self, settings: NotificationSettings) -> None:
        assert settings.smtp_host is not None
        self._settings = settings

    async def send(self, mail: EmailMessage) -> None:
        s = self._settings
        try:
            await aiosmtplib.send(
                mail,
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_user,
                password=s.smtp_password,
                use_tls=s.smtp_security is SmtpSecurity.TLS,
                start_tls=s.smtp_security is SmtpSecurity.STARTTLS,
                timeout=s.smtp_timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise MailError("recipient refused", permanent=True) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise MailError(f"smtp {exc.code}", permanent=500 <= exc.code < 600) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise MailError(type(exc).__name__) from exc


def make_mailer(settings: NotificationSettings) -> Mailer:
    return SmtpMailer(settings) if settings.smtp_host else LogMailer()


def valid_address(value: str) -> bool:
    try:
        Address(addr_spec=value)
    except (ValueError, IndexError):
        return False
    return True
