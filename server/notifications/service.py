"""The notification service: one interface (:meth:`NotificationService.notify`), the channels
behind it (e-mail, SMS, the browser).

For each channel the recipient allows (their opt-outs, an address or number on the account),
a send is first *claimed* under its idempotency key (``domain.notifications.send_key``, a
unique index in MongoDB): one node, once, whatever the nodes and restarts. Then it is tried up
to ``TELEMED_NOTIFY_ATTEMPTS`` times with doubling waits (``TELEMED_NOTIFY_BACKOFF``), a
permanent refusal (a bad number, a 5xx) ending it at once. Each send is audited
(``notification.send``: the rule, the channel, the outcome, the attempts; never the text or
the address).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog

from domain.appointments import Appointment, AppointmentKind, AppointmentStatus
from domain.audit import Outcome
from domain.clock import Clock, iso_z
from domain.notifications import (
    Channel,
    Message,
    Preferences,
    Rule,
    backoff,
    due_reminder,
    render,
    send_key,
)
from domain.users import User
from server.appointments.calendar import CalendarEntry, appointment_calendar, sequence
from server.appointments.calendar import Language as CalendarLanguage
from server.audit.recorder import Auditor, AuditScope
from server.notifications.email import CalendarFile, Mailer, MailError, compose
from server.notifications.sms import SmsError, SmsProvider, SmsRequest
from server.settings import ClinicSettings, NotificationSettings
from storage.mongo import Repositories
from storage.notifications import Claim

log = structlog.get_logger(__name__)

Push = Callable[[str, str, dict[str, Any]], Awaitable[None]]
Sleep = Callable[[float], Awaitable[None]]

BOOKING_RULES = frozenset({Rule.BOOKING_CONFIRMED, Rule.BOOKING_CHANGED, Rule.BOOKING_CANCELLED})
# How long a claim holds before another node may take a send over (its node died mid-send).
CLAIM_LEASE = timedelta(minutes=10)
BROWSER_EVENT = "notification"


@dataclass(frozen=True, slots=True)
class SendResult:
    channel: Channel
    status: str  # sent | failed | skipped | duplicate


class NotificationService:
    def __init__(
        self,
        repos: Repositories,
        *,
        settings: NotificationSettings,
        clinic: ClinicSettings,
        public_url: str,
        mailer: Mailer,
        sms: SmsProvider | None,
        auditor: Auditor,
        clock: Clock,
        push: Push | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._repos = repos
        self._settings = settings
        self._clinic = clinic
        self._base = public_url.rstrip("/")
        self.mailer = mailer
        self.sms = sms
        self._auditor = auditor
        self._clock = clock
        self._push = push
        self._sleep = sleep
        self._tasks: set[asyncio.Task[Any]] = set()
        self.enabled = settings.notify_enabled  # TELEMED_NOTIFY_ENABLED
        self.offsets = {
            Rule.REMINDER_24H: timedelta(minutes=settings.reminder_early_minutes),
            Rule.REMINDER_1H: timedelta(minutes=settings.reminder_late_minutes),
        }

    def set_push(self, push: Push) -> None:
        self._push = push

    # ------------------------------------------------------------------ in the background

    def on_appointment(self, appointment: Appointment, change: str) -> None:
        """An appointment was booked or cancelled (``AppointmentService.observe``): its
        confirmation (with the calendar file) goes out in the background, so a slow SMTP
        server never holds up the booking."""
        rule = {"booked": Rule.BOOKING_CONFIRMED, "cancelled": Rule.BOOKING_CANCELLED}.get(change)
        if rule is not None and self.enabled:
            self.spawn(self.notify(appointment, rule))

    def on_patient_away(self, appointment_id: str) -> None:
        """A doctor admitted a patient whose consultation page is closed (the hub's
        ``patient_away``): "your doctor is ready", in the background."""
        if self.enabled:
            self.spawn(self.doctor_ready(appointment_id))

    async def doctor_ready(self, appointment_id: str) -> list[SendResult]:
        appointment = await self._repos.appointments.get(appointment_id)
        if appointment is None:
            return []
        return await self.notify(appointment, Rule.DOCTOR_READY)

    def spawn(self, job: Awaitable[Any]) -> None:
        async def run() -> None:
            try:
                await job
            except Exception:
                log.exception("notification_job_failed")

        task = asyncio.create_task(run(), name="notification")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for the background sends started so far (tests; shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self, grace: float = 5.0) -> None:
        """At shutdown: let running sends finish for a moment, then cancel them (their claims
        run out and another node or the next start sends them)."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(list(self._tasks), timeout=grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    def link(self, appointment: Appointment) -> str:
        return f"{self._base}/consult/{appointment.id}"

    async def preferences(self, user: User) -> Preferences:
        return await self._repos.notification_preferences.get(user.id, default_language=user.locale)

    # ------------------------------------------------------------------ the one interface

    async def notify(
        self,
        appointment: Appointment,
        rule: Rule,
        *,
        channels: frozenset[Channel] = frozenset(Channel),
    ) -> list[SendResult]:
        """Tell the appointment's patient (``rule``) on each of ``channels`` they allow. Never
        raises for a channel's failure: it is recorded, audited and logged."""
        patient = await self._repos.users.get(appointment.patient_id)
        if patient is None or not patient.active:
            return []
        prefs = await self.preferences(patient)
        message = render(
            rule,
            prefs.language,
            start=appointment.start,
            timezone=patient.timezone,
            link=self.link(appointment),
        )
        results: list[SendResult] = []
        for channel in (Channel.BROWSER, Channel.EMAIL, Channel.SMS):
            if channel not in channels or not prefs.allows(channel):
                continue
            if channel is Channel.SMS and (self.sms is None or not patient.phone):
                continue
            if channel is Channel.EMAIL and not patient.email:
                continue
            results.append(
                await self._send_once(appointment, patient, rule, channel, message, prefs)
            )
        return results

    async def _send_once(
        self,
        appointment: Appointment,
        patient: User,
        rule: Rule,
        channel: Channel,
        message: Message,
        prefs: Preferences,
    ) -> SendResult:
        key = send_key(appointment.id, rule, channel, sequence(appointment))
        claim = await self._repos.notification_sends.claim(
            key,
            appointment_id=appointment.id,
            rule=rule.value,
            channel=channel.value,
            now=self._clock(),
            lease=CLAIM_LEASE,
        )
        if claim is None:
            return SendResult(channel, "duplicate")
        attempts = claim.attempts
        error: str | None = None
        while True:
            attempts += 1
            try:
                await self._deliver(appointment, patient, channel, message, prefs)
                error = None
                break
            except (MailError, SmsError) as exc:
                error = str(exc)
                permanent = exc.permanent
            except Exception as exc:  # a channel's bug must not stop the others
                error = type(exc).__name__
                permanent = False
                log.exception("notification_channel_failed", channel=channel.value)
            if permanent or attempts >= self._settings.notify_attempts:
                break
            await self._sleep(backoff(attempts, base=self._settings.notify_backoff))
        return await self._finish(appointment, claim, rule, channel, attempts, error)

    async def _finish(
        self,
        appointment: Appointment,
        claim: Claim,
        rule: Rule,
        channel: Channel,
        attempts: int,
        error: str | None,
    ) -> SendResult:
        status = "sent" if error is None else "failed"
        await self._repos.notification_sends.finish(
            claim, status=status, attempts=attempts, now=self._clock(), error=error
        )
        details: dict[str, Any] = {
            "rule": rule.value,
            "channel": channel.value,
            "attempts": attempts,
        }
        if error is not None:
            details["error"] = error[:120]
        await self._auditor.record(
            principal=None,
            action="notification.send",
            outcome=Outcome.SUCCESS if error is None else Outcome.FAILED,
            scope=AuditScope(
                patient_id=appointment.patient_id,
                resource_type="appointment",
                resource_id=appointment.id,
                details=details,
            ),
            request_id=None,
            client_ip=None,
        )
        log.info(
            "notification_sent" if error is None else "notification_failed",
            appointment_id=appointment.id,
            rule=rule.value,
            channel=channel.value,
            attempts=attempts,
        )
        return SendResult(channel, status)

    async def _deliver(
        self,
        appointment: Appointment,
        patient: User,
        channel: Channel,
        message: Message,
        prefs: Preferences,
    ) -> None:
        if channel is Channel.BROWSER:
            if self._push is not None:
                await self._push(
                    patient.id,
                    BROWSER_EVENT,
                    {
                        "rule": message.rule.value,
                        "appointment_id": appointment.id,
                        "start": iso_z(appointment.start),
                        "url": message.link,
                    },
                )
            return
        if channel is Channel.EMAIL:
            calendar = (
                self._calendar(appointment, message) if message.rule in BOOKING_RULES else None
            )
            mail = compose(
                sender=self._settings.smtp_from,
                to=patient.email,
                message=message,
                now_clock=self._clock,
                calendar=calendar,
            )
            await self.mailer.send(mail)
            return
        assert self.sms is not None
        assert patient.phone is not None
        template = self._settings.sms_templates.get(message.rule.value, "")
        await self.sms.send(
            SmsRequest(
                phone=patient.phone, template=template, params=message.params, text=message.text
            )
        )

    def _calendar(self, appointment: Appointment, message: Message) -> CalendarFile:
        language: CalendarLanguage = "zh" if message.language == "zh-CN" else "en"
        clinic = self._clinic
        addresses = (
            (clinic.clinic_address_zh, clinic.clinic_address_en)
            if language == "zh"
            else (clinic.clinic_address_en, clinic.clinic_address_zh)
        )
        entry = CalendarEntry(
            url=message.link,
            language=language,
            now=self._clock(),
            location=next((a for a in addresses if a), None)
            if appointment.kind is AppointmentKind.IN_PERSON
            else None,
        )
        cancelled = appointment.status is AppointmentStatus.CANCELLED
        return CalendarFile(
            content=appointment_calendar(appointment, entry),
            method="CANCEL" if cancelled else "PUBLISH",
        )

    # ------------------------------------------------------------------ reminders

    async def send_due_reminders(self) -> int:
        """Send the reminders due now (every node runs this; the claims make each one send
        once). Returns how many sends this caller made."""
        if not self.enabled:
            return 0
        now = self._clock()
        horizon = max(self.offsets.values())
        due: list[tuple[Appointment, Rule, str]] = []
        for appointment in await self._repos.appointments.starting_between(now, now + horizon):
            rule = due_reminder(
                start=appointment.start,
                booked_at=appointment.created_at,
                now=now,
                offsets=self.offsets,
            )
            if rule is not None:
                due.append((appointment, rule, f"{appointment.id}:{rule.value}:done"))
        sends = self._repos.notification_sends
        # Reminders a node finished before are not looked at again: one read, not a claim per
        # channel per appointment on every sweep of every node.
        done = await sends.existing([key for _, _, key in due])
        sent = 0
        for appointment, rule, key in due:
            if key in done:
                continue
            results = await self.notify(appointment, rule)
            sent += sum(1 for r in results if r.status == "sent")
            await sends.mark_done(
                key, appointment_id=appointment.id, rule=rule.value, now=self._clock()
            )
        return sent
