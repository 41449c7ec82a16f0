"""The composition root: ``create_app(settings)`` builds the whole server. The CLI and the
tests both use it; nothing else wires objects together."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from datetime import timedelta
from importlib.metadata import PackageNotFoundError, version

import aiohttp_cors
from aiohttp import web

import web.routes as web_routes
from chat.batching import BatchedInserts
from chat.service import ChatService
from chat.transcripts import TranscriptReader
from domain.clock import Clock, utc_now
from domain.consultation import JoinWindow
from server import keys, ops
from server.activity import routes as activity_routes
from server.activity.history import (
    ActivityHistory,
    ActivitySampler,
    MemoryActivityHistory,
    RedisActivityHistory,
)
from server.appointments import routes as appointment_routes
from server.appointments.service import AppointmentService, BookingLimits, TextPolicy
from server.audit import routes as audit_routes
from server.audit.recorder import Auditor
from server.auth import phone_routes
from server.auth import routes as auth_routes
from server.auth.factory import make_account_service
from server.auth.passwords import Passwords
from server.auth.phone import PhoneCodes
from server.clinic import routes as clinic_routes
from server.consultations import routes as consultation_routes
from server.documents import routes as document_routes
from server.documents.service import DocumentLimits, DocumentService
from server.family import routes as family_routes
from server.family.service import FamilyService
from server.follow_up import routes as follow_up_routes
from server.follow_up.service import FollowUpService
from server.guests import routes as guest_routes
from server.guests.service import GuestService
from server.http.api import Api
from server.http.middleware import (
    errors,
    metrics,
    request_context,
    security_headers,
    socket_handshakes,
)
from server.media import make_ice_provider, make_precall_service, make_recorders, recordings_dir
from server.metrics import Metrics
from server.notifications import routes as notification_routes
from server.notifications.email import make_mailer
from server.notifications.providers import make_sms_provider
from server.notifications.service import NotificationService
from server.orders import routes as order_routes
from server.orders.service import OrderService
from server.payments import routes as payment_routes
from server.payments.provider import DemoProvider
from server.periodic import periodically
from server.pharmacy import routes as pharmacy_routes
from server.pharmacy.service import PharmacyService
from server.precall import routes as precall_routes
from server.ratelimit import RateLimiter
from server.recordings import routes as recording_routes
from server.recordings.service import RecordingService
from server.records import routes as record_routes
from server.records.reminders import ReminderService
from server.records.service import RecordService
from server.secrets import resolve_jwt_secret, resolve_payment_setup
from server.settings import Environment, PrescriptionReview, Settings
from server.summaries import routes as summary_routes
from server.text_consultations import routes as text_consultation_routes
from server.text_consultations.service import TextConsultationService
from server.waiting import routes as waiting_routes
from signaling.consultations import ConsultationService
from signaling.hub import (
    Hub,
    HubConfig,
    make_cluster,
    make_recording_bus,
    make_registry,
    socket_server,
)
from signaling.metrics import HubMetrics
from signaling.pushes import DuePushes, Pushes
from signaling.recording import RecordingCoordinator, RecordingHost
from storage.mongo import Database, open_database
from storage.redis import open_redis


def _version() -> str:
    try:
        return version("telemed")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0"


def build_api() -> Api:
    """Every REST module, in one registry (also the source of the OpenAPI document)."""
    api = Api()
    api.include(auth_routes.api)
    api.include(phone_routes.api)
    api.include(clinic_routes.api)
    api.include(consultation_routes.api)
    api.include(appointment_routes.api)
    api.include(record_routes.api)
    api.include(audit_routes.api)
    api.include(precall_routes.api)
    api.include(recording_routes.api)
    api.include(activity_routes.api)
    api.include(waiting_routes.api)
    api.include(summary_routes.api)
    api.include(pharmacy_routes.api)
    api.include(order_routes.api)
    api.include(document_routes.api)
    api.include(follow_up_routes.api)
    api.include(notification_routes.api)
    api.include(text_consultation_routes.api)
    api.include(family_routes.api)
    api.include(guest_routes.api)
    return api


def make_document_service(
    settings: Settings, db: Database, records: RecordService, clock: Clock
) -> DocumentService:
    docs = settings.documents
    limits = DocumentLimits(
        max_bytes=docs.document_max_bytes,
        max_pixels=docs.document_max_pixels,
        workers=docs.document_preview_workers,
    )
    return DocumentService(db.repos, records, limits=limits, clock=clock)


def make_hub_config(settings: Settings) -> HubConfig:
    """The consultation hub's configuration, from the settings (signaling does not read them
    itself)."""
    consult = settings.consult
    return HubConfig(
        window=JoinWindow(
            early=timedelta(minutes=consult.join_early_minutes),
            grace=timedelta(minutes=consult.join_grace_minutes),
        ),
        signal_max_bytes=consult.signal_max_bytes,
        rate=consult.socket_rate,
        burst=consult.socket_burst,
        tick_seconds=consult.hub_tick,
        housekeeping_seconds=consult.hub_housekeeping,
        node_ttl=consult.hub_node_ttl,
        cors_origins=settings.http.cors_origins,
        public_url=settings.http.public_url,
        redis_url=settings.redis.redis_url,
        redis_prefix=f"telemed:{settings.database.mongodb_database}",
        # Bigger than every event cap, so an oversize event is refused, not the connection cut.
        max_http_buffer_size=max(settings.http.max_body_bytes, 4 * consult.signal_max_bytes),
        send_buffer_max_bytes=consult.socket_send_buffer,
        connect_seconds=consult.socket_connect_timeout,
        close_seconds=consult.socket_close_timeout,
        follow_up_only=settings.documents.follow_up_only,
        under_six_guardian=consult.under_six_guardian,
    )


def create_app(
    settings: Settings, *, clock: Clock = utc_now, passwords: Passwords | None = None
) -> web.Application:
    resolve_jwt_secret(settings)  # fail fast, before anything starts, on a missing secret
    payment = resolve_payment_setup(settings)  # production refuses the demo provider
    app = web.Application(
        client_max_size=settings.http.max_body_bytes,
        middlewares=[request_context, metrics, errors, socket_handshakes],
    )
    app[keys.SETTINGS] = settings
    app[keys.CLOCK] = clock
    app[keys.METRICS] = Metrics()
    app[keys.REDIS] = None
    password_hasher = passwords or Passwords()
    # The hub's Socket.IO server is attached now (its routes); the hub itself is built once the
    # database and Redis are open (``consultations``). What the REST side pushes to sockets goes
    # through ``pushes``, which needs only the server.
    hub_config = make_hub_config(settings)
    socket_manager, cluster = make_cluster(hub_config)
    sio = socket_server(hub_config, socket_manager)
    sio.attach(app)
    pushes = Pushes(sio, clock=clock)

    async def database(app: web.Application) -> AsyncIterator[None]:
        db_settings = settings.database
        async with open_database(
            url=db_settings.mongodb_url,
            database=db_settings.mongodb_database,
            data_dir=settings.core.data_dir,
            timeout_ms=db_settings.mongodb_timeout_ms,
            embedded_start_timeout=db_settings.embedded_start_timeout,
            field_key_file=db_settings.field_encryption_key_file,
            refuse_sealed_without_key=True,
        ) as db:
            app[keys.DATABASE] = db
            accounts = make_account_service(settings, db, clock=clock, passwords=password_hasher)
            app[keys.ACCOUNTS] = accounts
            app[keys.AUTHENTICATOR] = accounts.authenticate
            app[keys.AUDITOR] = Auditor(db.repos.audit, clock=clock)
            app[keys.APPOINTMENTS] = AppointmentService(
                db.repos,
                clock=clock,
                limits=BookingLimits(
                    per_doctor=settings.consult.max_bookings_per_doctor,
                    total=settings.consult.max_bookings,
                ),
                text=TextPolicy(
                    enabled=settings.clinic.text_consultations,
                    response_hours=settings.clinic.text_response_hours,
                ),
            )
            app[keys.TEXT_CONSULTATIONS] = TextConsultationService(
                db.repos, app[keys.APPOINTMENTS], clock=clock, tell=pushes.tell_text
            )
            app[keys.RECORDS] = RecordService(
                db.repos,
                clock=clock,
                review_required=(
                    settings.pharmacy.prescription_review is PrescriptionReview.REQUIRED
                ),
                tell_pharmacists=pushes.to_pharmacists,
            )
            app[keys.DOCUMENTS] = make_document_service(settings, db, app[keys.RECORDS], clock)
            app[keys.FOLLOW_UPS] = FollowUpService(
                db.repos,
                app[keys.APPOINTMENTS],
                gate=settings.documents.follow_up_only,
                clock=clock,
            )
            app[keys.FAMILY] = FamilyService(db.repos, clock=clock)
            app[keys.GUESTS] = GuestService(
                db.repos,
                tokens=accounts.tokens,
                window=hub_config.window,
                ttl=timedelta(seconds=settings.consult.guest_invite_ttl),
                clock=clock,
            )
            app[keys.REMINDERS] = ReminderService(db.repos.reminders, clock=clock)
            notifications = NotificationService(
                db.repos,
                settings=settings.notifications,
                clinic=settings.clinic,
                public_url=settings.http.public_url or settings.http.local_url,
                mailer=make_mailer(settings.notifications),
                sms=make_sms_provider(
                    settings.notifications,
                    production=settings.core.env is Environment.PRODUCTION,
                ),
                auditor=app[keys.AUDITOR],
                clock=clock,
                push=pushes.to_user,
            )
            app[keys.NOTIFICATIONS] = notifications
            app[keys.PHONE_CODES] = PhoneCodes(
                db.repos,
                sms=notifications.sms,
                templates=settings.notifications.sms_templates,
                key=resolve_jwt_secret(settings).encode(),
                clock=clock,
                daily_limit=settings.notifications.sms_daily_limit,
            )
            app[keys.APPOINTMENTS].observe(notifications.on_appointment)
            app[keys.PHARMACY] = PharmacyService(
                db.repos,
                records=app[keys.RECORDS],
                clock=clock,
                notify=pushes.to_user,
                tell_pharmacists=pushes.to_pharmacists,
            )
            app[keys.ORDERS] = OrderService(
                db.repos,
                clock=clock,
                notify=pushes.to_user,
                payment_ttl=settings.pharmacy.order_payment_ttl,
                provider=DemoProvider(payment[1]) if payment else None,
                tell_pharmacists=pushes.to_pharmacists,
            )
            app[keys.ORDERS].on_shipped = notifications.on_order_shipped
            app[keys.RECORDINGS] = RecordingService(
                db.repos, directory=recordings_dir(settings.core.data_dir), clock=clock
            )
            yield
            await notifications.close()

    async def redis(app: web.Application) -> AsyncIterator[None]:
        url = settings.redis.redis_url
        if url is None:
            yield
            return
        async with open_redis(url) as handle:
            app[keys.REDIS] = handle
            yield

    async def rate_limiter(app: web.Application) -> AsyncIterator[None]:
        app[keys.RATE_LIMITER] = RateLimiter.create(
            settings.redis.redis_url,
            per_user=settings.http.rate_limit,
            per_address=settings.http.rate_limit_anonymous,
            socket_connects=settings.consult.socket_connect_limit,
        )
        yield

    app[keys.ICE] = make_ice_provider(settings.media, clock)

    async def precall(app: web.Application) -> AsyncIterator[None]:
        async with make_precall_service(settings.media, app[keys.ICE], clock) as service:
            app[keys.PRECALL] = service
            app[keys.METRICS].precall_peers.set_function(lambda: service.open_peers)
            yield  # leaving closes every pre-call peer

    async def consultations(app: web.Application) -> AsyncIterator[None]:
        db = app[keys.DATABASE]
        chat = ChatService(
            BatchedInserts(db.repos.messages),  # group commit: one write for concurrent sends
            clock=clock,
            max_chars=settings.consult.chat_max_chars,
        )
        transcripts = TranscriptReader(
            appointments=db.repos.appointments,
            audit=db.repos.audit,
            chat=chat,
            clock=clock,
            parties=db.repos.users,
        )
        app[keys.CHAT] = chat
        app[keys.TRANSCRIPTS] = transcripts
        redis_handle = app[keys.REDIS]
        recorders = make_recorders(settings.media, app[keys.ICE], settings.core.data_dir)
        app[keys.RECORDERS] = recorders
        app[keys.METRICS].recordings.set_function(lambda: recorders.running)
        redis_client = redis_handle.client if redis_handle else None
        consult = ConsultationService(
            appointments=db.repos.appointments,
            users=db.repos.users,
            messages=db.repos.messages,
            registry=make_registry(hub_config, redis_client),
            window=hub_config.window,
            clock=clock,
        )

        def recording_coordinator(host: RecordingHost) -> RecordingCoordinator:
            return RecordingCoordinator(
                registry=consult.registry,
                recordings=db.repos.recordings,
                consents=db.repos.recording_consents,
                audit=db.repos.audit,
                media=recorders,
                host=host,
                clock=clock,
                bus=make_recording_bus(hub_config, redis_client),
            )

        hub = Hub(
            hub_config,
            sio=sio,
            cluster=cluster,
            consult=consult,
            chat=chat,
            transcripts=transcripts,
            repos=db.repos,
            authenticator=app[keys.AUTHENTICATOR],
            sessions=app[keys.ACCOUNTS],  # socket activity, idle logoff, sign-outs
            pushes=pushes,
            # Due medication reminders and overdue text consultations, pushed to their people.
            due=DuePushes(
                pushes,
                reminders=app[keys.REMINDERS],
                appointments=db.repos.appointments,
                clock=clock,
            ),
            metrics=HubMetrics(app[keys.METRICS].registry),
            clock=clock,
            # Consented recording (without it, consents are refused).
            recordings=recording_coordinator if settings.media.recording_enabled else None,
            patient_away=app[keys.NOTIFICATIONS].on_patient_away,
            text_answered=app[keys.NOTIFICATIONS].on_text_answered,
            guest_authenticator=app[keys.GUESTS].session_of,  # a guest's socket
            # The address the HTTP middleware decided (trusted proxies honoured), for audit.
            client_address=lambda request: str(request.get(keys.CLIENT_IP, request.remote)),
            ice=app[keys.ICE],
        )
        app[keys.HUB] = hub
        await hub.start()
        yield
        await hub.stop()  # finalises the recordings first
        await recorders.close_all()

    async def activity(app: web.Application) -> AsyncIterator[None]:
        redis_handle = app[keys.REDIS]
        hub = app[keys.HUB]
        history: ActivityHistory = (
            RedisActivityHistory(redis_handle.client, prefix=hub_config.redis_prefix)
            if redis_handle is not None
            else MemoryActivityHistory()
        )
        sampler = ActivitySampler(history, rooms=hub.rooms, clock=clock)
        app[keys.ACTIVITY] = sampler
        async with sampler.running():
            yield

    async def order_expiry(app: web.Application) -> AsyncIterator[None]:
        # Unpaid orders past TELEMED_ORDER_PAYMENT_TTL: a compare-and-set on the status lets
        # one node alone give the stock and the prescription quantity back.
        async with periodically(app[keys.ORDERS].expire_due, interval=30.0, name="order-expiry"):
            yield

    async def appointment_reminders(app: web.Application) -> AsyncIterator[None]:
        # Each reminder (an appointment's, a dose's for the patients who opted in) is claimed
        # under a unique key before it is sent: once across nodes.
        async with periodically(
            app[keys.NOTIFICATIONS].sweep,
            interval=settings.notifications.notify_interval,
            name="appointment-reminders",
        ):
            yield

    app.cleanup_ctx.extend(
        [
            database,
            redis,
            rate_limiter,
            precall,
            consultations,
            activity,
            order_expiry,
            appointment_reminders,
        ]
    )

    api = build_api()
    api.register(app)
    ops.setup(app, api, version=_version())
    payment_routes.setup(app)
    web_routes.setup(app)
    _setup_cors(app, settings.http.cors_origins)
    app.on_response_prepare.append(security_headers)
    return app


async def freeze_startup_heap(app: web.Application) -> None:
    """An ``on_startup`` hook for the server process, after every startup context: what
    startup built (modules, settings, the app) lives as long as the process, so the cyclic
    garbage collector stops scanning it (``gc.freeze``). A full collection then walks only
    what came since, instead of pausing the event loop for tens of milliseconds amid
    consultations. Not for a process that builds many apps, such as the tests."""
    gc.collect()
    gc.freeze()


def _setup_cors(app: web.Application, origins: list[str]) -> None:
    """CORS for the REST API, for the configured origins only (same-origin always works)."""
    if not origins:
        return
    options = aiohttp_cors.ResourceOptions(
        allow_credentials=False,
        expose_headers=("X-Request-ID", "Retry-After"),
        allow_headers=("Authorization", "Content-Type", "X-Request-ID", "Idempotency-Key"),
        allow_methods=("GET", "POST", "PUT", "PATCH", "DELETE"),
        max_age=600,
    )
    cors = aiohttp_cors.setup(app, defaults=dict.fromkeys(origins, options))
    for route in list(app.router.routes()):
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter") or ""
        if path.startswith("/api/"):
            cors.add(route)
