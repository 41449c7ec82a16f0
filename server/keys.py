"""Every object shared through the aiohttp application, declared once as typed ``AppKey``s.

No module globals: whatever a handler needs is reached through ``request.app[KEY]``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from domain.clock import Clock
from domain.users import Principal

if TYPE_CHECKING:
    from chat.service import ChatService
    from chat.transcripts import TranscriptReader
    from media.ice import IceProvider
    from media.precall import PrecallService
    from media.recording import Recorders
    from server.activity.history import ActivitySampler
    from server.appointments.service import AppointmentService
    from server.audit.recorder import Auditor
    from server.auth.phone import PhoneCodes
    from server.auth.service import AccountService
    from server.documents.service import DocumentService
    from server.family.service import FamilyService
    from server.follow_up.service import FollowUpService
    from server.guests.service import GuestService
    from server.metrics import Metrics
    from server.notifications.service import NotificationService
    from server.orders.service import OrderService
    from server.pharmacy.service import PharmacyService
    from server.ratelimit import RateLimiter
    from server.recordings.service import RecordingService
    from server.records.reminders import ReminderService
    from server.records.service import RecordService
    from server.settings import Settings
    from server.text_consultations.service import TextConsultationService
    from signaling.hub import Hub
    from storage.mongo import Database
    from storage.redis import RedisHandle

Authenticator = Callable[[str], Awaitable[Principal]]

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
DATABASE: web.AppKey[Database] = web.AppKey("database")
REDIS: web.AppKey[RedisHandle | None] = web.AppKey("redis")
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")
ACCOUNTS: web.AppKey[AccountService] = web.AppKey("accounts")
AUTHENTICATOR: web.AppKey[Authenticator] = web.AppKey("authenticator")
RATE_LIMITER: web.AppKey[RateLimiter] = web.AppKey("rate_limiter")
HUB: web.AppKey[Hub] = web.AppKey("hub")
CHAT: web.AppKey[ChatService] = web.AppKey("chat")
TRANSCRIPTS: web.AppKey[TranscriptReader] = web.AppKey("transcripts")
AUDITOR: web.AppKey[Auditor] = web.AppKey("auditor")
APPOINTMENTS: web.AppKey[AppointmentService] = web.AppKey("appointments")
TEXT_CONSULTATIONS: web.AppKey[TextConsultationService] = web.AppKey("text_consultations")
RECORDS: web.AppKey[RecordService] = web.AppKey("records")
# claim_due_reminders(now): the hub polls it and pushes ``reminder:due`` to patients' sockets.
REMINDERS: web.AppKey[ReminderService] = web.AppKey("reminders")
# E-mail, SMS and browser notifications (server/notifications/).
NOTIFICATIONS: web.AppKey[NotificationService] = web.AppKey("notifications")
# One-time SMS codes: sign-in by phone, and proving a number added to an account.
PHONE_CODES: web.AppKey[PhoneCodes] = web.AppKey("phone_codes")
# The demo clinic's appointment starting now (``telemed serve --demo``), for the banner.
DEMO_APPOINTMENT: web.AppKey[str] = web.AppKey("demo_appointment")
ICE: web.AppKey[IceProvider] = web.AppKey("ice")
PRECALL: web.AppKey[PrecallService] = web.AppKey("precall")
# The hidden recorders of this process, and the recordings' REST use cases.
RECORDERS: web.AppKey[Recorders] = web.AppKey("recorders")
RECORDINGS: web.AppKey[RecordingService] = web.AppKey("recordings")
# The deployment's activity over the last half hour (the admin's chart), shared by the nodes.
ACTIVITY: web.AppKey[ActivitySampler] = web.AppKey("activity")
# The drug catalogue and the pharmacist's review of prescriptions.
PHARMACY: web.AppKey[PharmacyService] = web.AppKey("pharmacy")
# Orders of medicine, their payment provider, and the expiry of unpaid ones.
ORDERS: web.AppKey[OrderService] = web.AppKey("orders")
# Patients' documents and medical images (GridFS), and the previews' worker threads.
DOCUMENTS: web.AppKey[DocumentService] = web.AppKey("documents")
# The follow-up gate (TELEMED_FOLLOW_UP_ONLY): bookings, eligibility, consent to online care.
FOLLOW_UPS: web.AppKey[FollowUpService] = web.AppKey("follow_ups")
# Family members (就诊人): the people an account manages.
FAMILY: web.AppKey[FamilyService] = web.AppKey("family")
GUESTS: web.AppKey[GuestService] = web.AppKey("guests")

# Per-request values (request[...]).
REQUEST_ID: web.RequestKey[str] = web.RequestKey("request_id")
CLIENT_IP: web.RequestKey[str] = web.RequestKey("client_ip")
PRINCIPAL: web.RequestKey[Principal] = web.RequestKey("principal")
# Whether the client reached us over HTTPS (directly, or through a trusted proxy that says so).
SECURE: web.RequestKey[bool] = web.RequestKey("secure")
