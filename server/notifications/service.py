"""The notification service: one interface (:meth:`NotificationService.notify`), the channels
behind it (e-mail, SMS, the browser).

For each channel the recipient allows (their opt-outs, an address or number on the account),
a send is first *claimed* under its idempotency key (``domain.notifications.send_key``, a
unique index in MongoDB): one node, once, whatever the nodes and restarts. Then it is tried up
to ``TELEMED_NOTIFY_ATTEMPTS`` times with doubling waits (``TELEMED_NOTIFY_BACKOFF``), a
permanent refusal (a bad number, a 5xx) ending it at once. Each send is audited
(``notification.send``: the rule, the channel, the outcome, the attempts; never the text or
the address).

A managed family member (``domain/family.py``: no sign-in, no address or number of their own)
is told through the account that manages them: its address and number, its language, zone and
opt-outs (its medication opt-in too), its browser; the words name whom it is for (their first
name). The send is still the patient's (its key, its claim, its audit entry's ``patient_id``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
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
    family_template,
    render,
    send_key,
    short_name,
)
from domain.orders import Order
from domain.records import Reminder
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
# A medication reminder this late (the servers were down) is no longer sent: like its push.
MEDICATION_LATENESS = timedelta(hours=1)
MEDICATION_PAGE = 200
BROWSER_EVENT = "notification"


@dataclass(frozen=True, slots=True)
class Target:
    """What one notification is about: the patient told, the resource it names (its sends'
    keys and audit entries), the time the message shows and the link it gives. ``appointment``
    is set for the appointment rules (their browser push and calendar file); ``timezone`` is the
    zone the time is shown in (default: the patient's)."""

    patient_id: str
    resource_type: str
    resource_id: str
    at: datetime
    link: str
    revision: int = 0
    timezone: str | None = None
    appointment: Appointment | None = None


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who is told about ``patient``: the patient, or the account that manages them
    (``for_name``: how the message names the patient then)."""

    patient: User
    user: User
    for_name: str | None = None


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

    def on_text_answered(self, appointment: Appointment) -> None:
        """The doctor answered a text consultation (the hub's ``text_answered``): the patient is
        told there is a reply (its time asked and a link, never the answer), in the background."""
        if self.enabled:
            target = Target(
                patient_id=appointment.patient_id,
                resource_type="appointment",
                resource_id=appointment.id,
                at=appointment.created_at,
                link=self.link(appointment),
            )
            self.spawn(self.tell(target, Rule.TEXT_ANSWERED))

    def on_order_shipped(self, order: Order) -> None:
        """A pharmacist shipped an order (``OrderService.on_shipped``): the patient is told it
        is on its way (when and a link; never what is in it), in the background."""
        if self.enabled:
            target = Target(
                patient_id=order.patient_id,
                resource_type="order",
                resource_id=order.id,
                at=order.updated_at,
                link=f"{self._base}/pharmacy",
            )
            self.spawn(self.tell(target, Rule.ORDER_SHIPPED))

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
        target = Target(
            patient_id=appointment.patient_id,
            resource_type="appointment",
            resource_id=appointment.id,
            at=appointment.start,
            link=self.link(appointment),
            revision=sequence(appointment),
            appointment=appointment,
        )
        return await self.tell(target, rule, channels=channels)

    async def tell(
        self,
        target: Target,
        rule: Rule,
        *,
        channels: frozenset[Channel] = frozenset(Channel),
    ) -> list[SendResult]:
        """Tell ``target``'s patient (``rule``) on each of ``channels`` they allow (and, for an
        opt-in rule, opted into): the patient, or the account that manages them
        (:meth:`recipient`). The browser channel is for appointments only: the app itself
        already shows a due dose, an answer or an order's move while it is open."""
        recipient = await self.recipient(target.patient_id)
        if recipient is None:
            return []
        user = recipient.user
        prefs = await self.preferences(user)
        message = render(
            rule,
            prefs.language,
            start=target.at,
            timezone=target.timezone or user.timezone,
            link=target.link,
            for_name=recipient.for_name,
        )
        results: list[SendResult] = []
        for channel in (Channel.BROWSER, Channel.EMAIL, Channel.SMS):
            if channel not in channels or not prefs.wants(rule, channel):
                continue
            if channel is Channel.BROWSER and target.appointment is None:
                continue
            if channel is Channel.SMS and (self.sms is None or not user.phone):
                continue
            if channel is Channel.EMAIL and not user.mail_address:
                continue
            results.append(await self._send_once(target, recipient, rule, channel, message))
        return results

    async def recipient(self, patient_id: str) -> Recipient | None:
        """Who is told about the patient: the patient; for a managed family member, the
        account that manages them. None: nobody (an account gone or deactivated)."""
        patient = await self._repos.users.get(patient_id)
        if patient is None or not patient.active:
            return None
        if patient.managed_by is None:
            return Recipient(patient=patient, user=patient)
        holder = await self._repos.users.get(patient.managed_by)
        if holder is None or not holder.active:
            return None
        return Recipient(patient=patient, user=holder, for_name=short_name(patient.name) or None)

    async def _send_once(
        self,
        target: Target,
        recipient: Recipient,
        rule: Rule,
        channel: Channel,
        message: Message,
    ) -> SendResult:
        key = send_key(target.resource_id, rule, channel, target.revision)
        claim = await self._repos.notification_sends.claim(
            key,
            resource_type=target.resource_type,
            resource_id=target.resource_id,
            patient_id=target.patient_id,
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
                await self._deliver(target, recipient.user, channel, message)
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
        return await self._finish(target, recipient, claim, rule, channel, attempts, error)

    async def _finish(
        self,
        target: Target,
        recipient: Recipient,
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
        if recipient.user.id != recipient.patient.id:
            details["recipient_id"] = recipient.user.id  # the account that manages the patient
        if error is not None:
            details["error"] = error[:120]
        await self._auditor.record(
            principal=None,
            action="notification.send",
            outcome=Outcome.SUCCESS if error is None else Outcome.FAILED,
            scope=AuditScope(
                patient_id=target.patient_id,
                resource_type=target.resource_type,
                resource_id=target.resource_id,
                details=details,
            ),
            request_id=None,
            client_ip=None,
        )
        log.info(
            "notification_sent" if error is None else "notification_failed",
            resource_type=target.resource_type,
            resource_id=target.resource_id,
            patient_id=target.patient_id,
            rule=rule.value,
            channel=channel.value,
            attempts=attempts,
        )
        return SendResult(channel, status)

    async def _deliver(
        self,
        target: Target,
        user: User,
        channel: Channel,
        message: Message,
    ) -> None:
        """Send ``message`` to ``user`` (the patient, or the account that manages them)."""
        appointment = target.appointment
        if channel is Channel.BROWSER:
            if self._push is not None and appointment is not None:
                await self._push(
                    user.id,
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
                self._calendar(appointment, message)
                if appointment is not None and message.rule in BOOKING_RULES
                else None
            )
            mail = compose(
                sender=self._settings.smtp_from,
                to=user.mail_address or "",
                message=message,
                now_clock=self._clock,
                calendar=calendar,
            )
            await self.mailer.send(mail)
            return
        assert self.sms is not None
        assert user.phone is not None
        templates = self._settings.sms_templates
        params = message.params
        family = family_template(message.rule)
        if message.for_name and family in templates:
            template = templates[family]
        else:  # no template naming the patient approved: the rule's own, its values only
            template = templates.get(message.rule.value, "")
            if templates:
                params = {"time": params["time"], "link": params["link"]}
        await self.sms.send(
            SmsRequest(phone=user.phone, template=template, params=params, text=message.text)
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
                key,
                resource_type="appointment",
                resource_id=appointment.id,
                patient_id=appointment.patient_id,
                rule=rule.value,
                now=self._clock(),
            )
        return sent

    async def send_due_medication_reminders(self) -> int:
        """E-mail and text the medication reminders due now (at most
        ``MEDICATION_LATENESS`` late) to the patients who opted in; the browser push is the
        hub's (``reminder:due``). Each reminder's sends are claimed like an appointment's, so
        each goes out once across nodes and restarts. Returns how many sends this caller made."""
        if not self.enabled:
            return 0
        holders = await self._repos.notification_preferences.opted_in_to_medication()
        if not holders:
            return 0
        # The people they manage are told through them, by their choice (domain/family.py).
        patients = holders + await self._repos.users.managed_by_any(holders)
        now = self._clock()
        sent = 0
        after: tuple[datetime, str] | None = None
        while True:  # page by page: a page of reminders already seen to cannot hide the rest
            due = await self._repos.reminders.due_for(
                patients,
                now=now,
                not_before=now - MEDICATION_LATENESS,
                limit=MEDICATION_PAGE,
                after=after,
            )
            sent += await self._send_medication_reminders(due)
            if len(due) < MEDICATION_PAGE:
                return sent
            after = (due[-1].due_at, due[-1].id)

    async def _send_medication_reminders(self, due: list[Reminder]) -> int:
        sends = self._repos.notification_sends
        rule = Rule.MEDICATION_REMINDER
        keys = {reminder.id: f"{reminder.id}:{rule.value}:done" for reminder in due}
        done = await sends.existing(list(keys.values()))
        sent = 0
        for reminder in due:
            if keys[reminder.id] in done:
                continue
            results = await self.tell(self.reminder_target(reminder), rule)
            sent += sum(1 for r in results if r.status == "sent")
            await sends.mark_done(
                keys[reminder.id],
                resource_type="reminder",
                resource_id=reminder.id,
                patient_id=reminder.patient_id,
                rule=rule.value,
                now=self._clock(),
            )
        return sent

    def reminder_target(self, reminder: Reminder) -> Target:
        """A dose's reminder: its time in the zone it was prescribed in (the zone its browser
        reminder shows), a link to the patient's health page, never the drug or the dose."""
        return Target(
            patient_id=reminder.patient_id,
            resource_type="reminder",
            resource_id=reminder.id,
            at=reminder.due_at,
            link=f"{self._base}/health",
            timezone=reminder.timezone,
        )

    async def sweep(self) -> int:
        """The periodic job: the appointment reminders and the medication reminders due now."""
        return await self.send_due_reminders() + await self.send_due_medication_reminders()
