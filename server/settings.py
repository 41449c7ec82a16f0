"""One typed settings object, split by section, read from ``TELEMED_*`` environment variables.

Every section is its own pydantic-settings class with the ``TELEMED_`` prefix, so the variable
names stay flat and match the public contract (``TELEMED_PORT``, ``TELEMED_MONGODB_URL``, ...).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import unquote

from pydantic import (
    AnyUrl,
    BaseModel,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from domain.text import text_problem

ENV_PREFIX = "TELEMED_"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class _Section(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)


class CoreSettings(_Section):
    env: Environment = Environment.DEVELOPMENT
    data_dir: Path = Path("./var")
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    log_format: str = Field(default="json", pattern=r"^(json|console)$")


class HttpSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    # Browser origins allowed for CORS and the Socket.IO handshake, besides the server's own.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # Proxies whose X-Forwarded-For is believed when deciding a client's address.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    public_url: str | None = None
    # REST request limits ("limits" notation): per signed-in user, and per address when anonymous.
    rate_limit: str = "600/minute"
    rate_limit_anonymous: str = "120/minute"
    # The bearer token a Prometheus scraper sends to GET /metrics; without one, /metrics is 404.
    metrics_token: str | None = Field(default=None, min_length=16, max_length=256)

    @property
    def local_url(self) -> str:
        """The address a person on this machine opens: ``localhost`` for a loopback or
        all-interfaces listener. What the start-up line prints, and what the links in e-mails
        and texts point to when ``TELEMED_PUBLIC_URL`` is not set (one origin, so a link opens
        where its reader is signed in)."""
        shown = "localhost" if self.host in ("127.0.0.1", "0.0.0.0", "::") else self.host  # noqa: S104
        return f"http://{shown}:{self.port}"

    @field_validator("rate_limit", "rate_limit_anonymous")
    @classmethod
    def _limit_parses(cls, value: str) -> str:
        from limits import parse

        parse(value)
        return value

    @field_validator("cors_origins", "trusted_proxies", mode="before")
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        return _comma_or_json_list(value)

    @field_validator("cors_origins")
    @classmethod
    def _origins_are_origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            url = AnyUrl(origin)
            if url.scheme not in ("http", "https") or (url.path not in (None, "", "/")):
                raise ValueError(f"{origin!r} is not an origin like https://clinic.example")
        return [origin.rstrip("/") for origin in value]


def database_in_url(url: Any) -> str | None:
    """The database a MongoDB URL's path names (``mongodb://h1,h2/clinic?replicaSet=rs``)."""
    if not isinstance(url, str) or "://" not in url:
        return None
    rest = url.split("://", 1)[1].split("?", 1)[0]
    _, slash, path = rest.partition("/")
    name = unquote(path) if slash else ""
    return name or None


class DatabaseSettings(_Section):
    mongodb_url: str | None = None
    mongodb_database: str = Field(default="telemed", pattern=r"^[A-Za-z0-9_-]{1,63}$")
    mongodb_timeout_ms: int = Field(default=5000, ge=100)
    # How long the embedded SecantusDB may take to answer its first ping.
    embedded_start_timeout: float = Field(default=60.0, gt=0)
    # A local 96-byte master key: chat text and notes are encrypted at rest (field level,
    # storage/field_crypto.py). Off when unset.
    field_encryption_key_file: Path | None = None

    @model_validator(mode="before")
    @classmethod
    def _database_from_url(cls, data: Any) -> Any:
        """The database the URL's path names (``mongodb://host/clinic``) is the one used; a
        ``mongodb_database`` given too must name the same one (else the settings are refused)."""
        if not isinstance(data, dict):
            return data
        named = database_in_url(data.get("mongodb_url"))
        explicit = data.get("mongodb_database")
        if named is None:
            return data
        if explicit is not None and explicit != named:
            raise ValueError(
                f"TELEMED_MONGODB_URL names the database {named!r} but "
                f"TELEMED_MONGODB_DATABASE is {explicit!r}; give one, or the same in both"
            )
        return {**data, "mongodb_database": named}

    @field_validator("mongodb_url")
    @classmethod
    def _mongo_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("mongodb://", "mongodb+srv://")):
            raise ValueError("must start with mongodb:// or mongodb+srv://")
        return value


class RedisSettings(_Section):
    redis_url: str | None = None

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value


class AuthSettings(_Section):
    jwt_secret: str | None = Field(default=None, repr=False)
    jwt_issuer: str = "telemed"
    jwt_audience: str = "telemed-api"
    access_token_ttl: int = Field(default=900, ge=30, le=86_400)
    # A recording's download link (POST /recordings/{id}/download-link) works this long.
    download_ticket_ttl: int = Field(default=60, ge=5, le=600)
    refresh_token_ttl: int = Field(default=30 * 86_400, ge=300)
    # A session with no activity for this long is logged off (its refresh token stops working).
    idle_timeout: int = Field(default=30 * 60, ge=60)
    login_max_failures: int = Field(default=10, ge=1, le=10)
    login_window: int = Field(default=15 * 60, ge=60)
    password_min_length: int = Field(default=10, ge=8)


class IceServer(BaseModel):
    urls: str | list[str]
    username: str | None = None
    credential: str | None = None


class MediaSettings(_Section):
    ice_servers: Annotated[list[IceServer], NoDecode] = Field(default_factory=list)
    turn_secret: str | None = Field(default=None, repr=False)
    turn_urls: Annotated[list[str], NoDecode] = Field(default_factory=list)
    turn_ttl: int = Field(default=600, ge=60, le=86_400)
    # "relay": the call's browsers use only TURN relay candidates (neither learns the other's
    # addresses; every call goes through the clinic's TURN server). "all": direct when possible.
    ice_transport_policy: Literal["all", "relay"] = "all"
    # Pre-call check (media/precall.py): a check's peer lives at most precall_timeout seconds
    # and gives its verdict after precall_measure_seconds of media.
    precall_timeout: float = Field(default=60.0, gt=0, le=600)
    precall_measure_seconds: float = Field(default=5.0, gt=0, le=120)
    precall_max_per_user: int = Field(default=2, ge=1, le=20)
    precall_max_total: int = Field(default=10, ge=1, le=10_000)
    precall_rate_limit: str = "10/minute"
    # Consented recording (media/recording.py): files under TELEMED_DATA_DIR/recordings.
    recording_enabled: bool = True
    recording_max_concurrent: int = Field(default=4, ge=1, le=1000)
    recording_answer_timeout: float = Field(default=15.0, gt=0, le=120)
    recording_video_bitrate: int = Field(default=600_000, ge=50_000, le=10_000_000)

    @field_validator("precall_rate_limit")
    @classmethod
    def _precall_limit_parses(cls, value: str) -> str:
        from limits import parse

        parse(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> MediaSettings:
        if self.turn_secret is not None and not self.turn_urls:
            raise ValueError("TELEMED_TURN_URLS is required with TELEMED_TURN_SECRET")
        if self.ice_transport_policy == "relay" and not self._has_turn():
            raise ValueError(
                "TELEMED_ICE_TRANSPORT_POLICY=relay needs a TURN server: TELEMED_TURN_SECRET "
                "with TELEMED_TURN_URLS, or a turn: entry in TELEMED_ICE_SERVERS"
            )
        if self.precall_measure_seconds >= self.precall_timeout:
            raise ValueError(
                "TELEMED_PRECALL_MEASURE_SECONDS must be below TELEMED_PRECALL_TIMEOUT"
            )
        return self

    def _has_turn(self) -> bool:
        if self.turn_secret is not None:
            return True
        for server in self.ice_servers:
            urls = [server.urls] if isinstance(server.urls, str) else server.urls
            if any(url.startswith(("turn:", "turns:")) for url in urls):
                return True
        return False

    @field_validator("ice_servers", mode="before")
    @classmethod
    def _parse_ice(cls, value: Any) -> Any:
        if isinstance(value, str):
            return json.loads(value) if value.strip() else []
        return value

    @field_validator("turn_urls", mode="before")
    @classmethod
    def _split_turn(cls, value: Any) -> Any:
        return _comma_or_json_list(value)


class ConsultSettings(_Section):
    join_early_minutes: int = Field(default=15, ge=0, le=24 * 60)
    join_grace_minutes: int = Field(default=30, ge=0, le=24 * 60)
    chat_max_chars: int = Field(default=4000, ge=1)
    signal_max_bytes: int = Field(default=64 * 1024, ge=1024)
    # Per-socket event rate limit: this many events per second on average, bursts up to burst.
    socket_rate: float = Field(default=20.0, gt=0)
    socket_burst: int = Field(default=60, ge=1)
    # How often the hub checks socket token expiry, and runs its housekeeping (node heartbeat,
    # seats of vanished sockets, consultations whose time ran out, gauges).
    hub_tick: float = Field(default=1.0, gt=0, le=60)
    hub_housekeeping: float = Field(default=5.0, gt=0, le=300)
    # A hub node that has not sent a heartbeat for this long is considered gone (Redis only).
    hub_node_ttl: int = Field(default=30, ge=5, le=3600)
    # Socket.IO connection attempts (new Engine.IO sessions) per client address ("limits").
    socket_connect_limit: str = "120/minute"
    # A socket with more unsent outgoing data than this (checked every hub tick) is dropped.
    socket_send_buffer: int = Field(default=16 * 1024 * 1024, ge=64 * 1024)
    # Seconds a new Socket.IO connection has to send its CONNECT (with its token) before it is
    # closed, and a WebSocket's closing handshake may take before its connection is cut.
    socket_connect_timeout: float = Field(default=20.0, gt=0, le=600)
    socket_close_timeout: float = Field(default=5.0, gt=0, le=60)
    # Upcoming (booked or waiting) appointments one patient may hold: with one doctor, in all.
    max_bookings_per_doctor: int = Field(default=5, ge=1, le=1000)
    max_bookings: int = Field(default=10, ge=1, le=1000)
    # A patient under six is admitted to a video consultation only while the account that
    # manages them holds their seat (domain/family.py); on in the first market.
    under_six_guardian: bool = True
    # A third participant's one-time link works this long (never past the join window).
    guest_invite_ttl: int = Field(default=3600, ge=60, le=7 * 86_400)

    @field_validator("socket_connect_limit")
    @classmethod
    def _connect_limit_parses(cls, value: str) -> str:
        from limits import parse

        parse(value)
        return value


class RetentionSettings(_Section):
    # Clinical records are kept this many years from the last entry of the patient's record;
    # a consultation's chat and recordings this many from its end (domain/retention.py).
    retention_years: int = Field(default=15, ge=1, le=100)
    process_retention_years: int = Field(default=3, ge=1, le=100)


class PrescriptionReview(StrEnum):
    REQUIRED = "required"  # a prescription takes effect once a pharmacist approves it
    OFF = "off"  # a prescription is active at once (clinics outside China)


class PharmacySettings(_Section):
    prescription_review: PrescriptionReview = PrescriptionReview.REQUIRED
    # Seconds an order may wait for its payment before it expires (stock released).
    order_payment_ttl: int = Field(default=1800, ge=60, le=7 * 86_400)
    # Default: "demo" outside production; none (no online payment) in production.
    payment_provider: str | None = Field(default=None, pattern=r"^[a-z0-9_]{1,32}$")
    payment_webhook_secret: str | None = None


class DocumentSettings(_Section):
    # Patients' documents (PROTOCOL.md, "Documents"): the upload cap, streamed (its own limit,
    # not TELEMED_MAX_BODY_BYTES), the largest DICOM the server decodes (rows x columns x
    # frames), and how many previews render at once (worker threads, off the event loop).
    document_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024, le=1024**3)
    document_max_pixels: int = Field(default=64 * 1024 * 1024, ge=1, le=1024**3)
    document_preview_workers: int = Field(default=2, ge=1, le=64)
    # Uploads per patient (whoever uploads) in a moving window, counted before the body is
    # read: with no delete, a patient's storage is otherwise bounded only by the REST rate.
    document_upload_limit: str = "50/day"
    # Online care only for follow-up visits (domain/follow_up.py): off where the rule does not
    # apply.
    follow_up_only: bool = True
    # The CJK font the after-visit summary's PDF embeds (server/summaries/pdf.py): Debian's
    # fonts-wqy-microhei; without it, the PDF is a 503 problem.
    summary_font: Path = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")

    @field_validator("document_upload_limit")
    @classmethod
    def _upload_limit_parses(cls, value: str) -> str:
        from limits import parse

        parse(value)
        return value


class ClinicSettings(_Section):
    # Where in-person appointments take place, as patients read it (GET /clinic), in each
    # language; empty: not configured (the pages then say nothing of an address).
    clinic_address_en: str = Field(default="", max_length=300)
    clinic_address_zh: str = Field(default="", max_length=300)
    # Text-and-image consultations (kind text): whether the clinic takes them, and within how
    # many hours a doctor answers one (fixed on each consultation when it is asked).
    text_consultations: bool = True
    text_response_hours: int = Field(default=24, ge=1, le=14 * 24)

    @field_validator("clinic_address_en", "clinic_address_zh")
    @classmethod
    def _displayable(cls, value: str) -> str:
        value = value.strip()
        problem = text_problem(value, multiline=False)
        if problem is not None:
            raise ValueError(problem)
        return value

    @property
    def configured(self) -> bool:
        return bool(self.clinic_address_en or self.clinic_address_zh)


class SmtpSecurity(StrEnum):
    STARTTLS = "starttls"  # plain connection upgraded with STARTTLS (port 587)
    TLS = "tls"  # TLS from the first byte (port 465)
    NONE = "none"  # no TLS: a local relay or a test sink only


class SmsProviderName(StrEnum):
    LOG = "log"  # written to the server's log: development and the demo
    ALIYUN = "aliyun"  # Alibaba Cloud SMS (dysmsapi SendSms)
    TENCENT = "tencent"  # Tencent Cloud SMS (SendSms, API 2021-01-11)
    NONE = "none"  # no SMS at all


class NotificationSettings(_Section):
    """E-mail over SMTP and SMS (server/notifications/). Without ``TELEMED_SMTP_HOST`` e-mail
    is written to the log instead of sent; the SMS provider ``log`` does the same for texts."""

    # Off: no appointment notifications are sent on any channel (sign-in codes still are).
    notify_enabled: bool = True
    smtp_host: str | None = Field(default=None, min_length=1, max_length=253)
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_user: str | None = Field(default=None, min_length=1, max_length=254)
    smtp_password: str | None = Field(default=None, repr=False)
    smtp_security: SmtpSecurity = SmtpSecurity.STARTTLS
    smtp_from: str = Field(default="Telemed <no-reply@telemed.invalid>", max_length=254)
    smtp_timeout: float = Field(default=15.0, gt=0, le=300)
    # Default: "log" outside production; none (no texts) in production, where a sign-in code
    # must never reach a log.
    sms_provider: SmsProviderName | None = None
    sms_access_key_id: str | None = Field(default=None, max_length=128)
    sms_access_key_secret: str | None = Field(default=None, repr=False, max_length=256)
    sms_sign_name: str | None = Field(default=None, max_length=64)
    sms_region: str = Field(default="ap-guangzhou", pattern=r"^[a-z0-9-]{1,32}$")
    # Tencent Cloud's SMS application (SmsSdkAppId).
    sms_app_id: str | None = Field(default=None, pattern=r"^[0-9]{1,20}$")
    # The provider's approved template per rule (JSON object: rule -> template id), e.g.
    # {"booking_confirmed": "SMS_123", "reminder_24h": "SMS_124", "sign_in_code": "SMS_125"}.
    sms_templates: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    # The provider's API address (tests point it at a local server).
    sms_endpoint: str | None = None
    # Sign-in codes texted per UTC day, all numbers and addresses together: past it, asking for
    # a code is 429 sms_limit_reached until midnight UTC (the per-number and per-address limits
    # hold anyway). Caps what many addresses can run up; 0 turns texting codes off.
    sms_daily_limit: int = Field(default=1000, ge=0, le=10_000_000)
    # Reminders before an appointment, in minutes (the rules reminder_24h and reminder_1h).
    reminder_early_minutes: int = Field(default=24 * 60, ge=1, le=14 * 24 * 60)
    reminder_late_minutes: int = Field(default=60, ge=1, le=14 * 24 * 60)
    # Seconds between sweeps for due reminders; how often a failed send is tried in all.
    notify_interval: float = Field(default=30.0, gt=0, le=3600)
    notify_attempts: int = Field(default=3, ge=1, le=10)
    notify_backoff: float = Field(default=2.0, ge=0, le=600)

    @field_validator("sms_templates", mode="before")
    @classmethod
    def _parse_templates(cls, value: Any) -> Any:
        if isinstance(value, str):
            return json.loads(value) if value.strip() else {}
        return value

    @model_validator(mode="after")
    def _consistent(self) -> NotificationSettings:
        if self.smtp_user is not None and self.smtp_password is None:
            raise ValueError("TELEMED_SMTP_PASSWORD is required with TELEMED_SMTP_USER")
        if self.reminder_late_minutes >= self.reminder_early_minutes:
            raise ValueError(
                "TELEMED_REMINDER_LATE_MINUTES must be below TELEMED_REMINDER_EARLY_MINUTES"
            )
        if self.sms_provider in (SmsProviderName.ALIYUN, SmsProviderName.TENCENT):
            missing = [
                name
                for name, value in (
                    ("TELEMED_SMS_ACCESS_KEY_ID", self.sms_access_key_id),
                    ("TELEMED_SMS_ACCESS_KEY_SECRET", self.sms_access_key_secret),
                    ("TELEMED_SMS_SIGN_NAME", self.sms_sign_name),
                )
                if not value
            ]
            if self.sms_provider is SmsProviderName.TENCENT and not self.sms_app_id:
                missing.append("TELEMED_SMS_APP_ID")
            if not self.sms_templates:
                missing.append("TELEMED_SMS_TEMPLATES")
            if missing:
                raise ValueError(f"the {self.sms_provider} SMS provider needs {', '.join(missing)}")
        return self


def _comma_or_json_list(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        if text.startswith("["):
            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


@dataclass(frozen=True, slots=True)
class Settings:
    core: CoreSettings = field(default_factory=CoreSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    redis: RedisSettings = field(default_factory=RedisSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    media: MediaSettings = field(default_factory=MediaSettings)
    consult: ConsultSettings = field(default_factory=ConsultSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    pharmacy: PharmacySettings = field(default_factory=PharmacySettings)
    documents: DocumentSettings = field(default_factory=DocumentSettings)
    clinic: ClinicSettings = field(default_factory=ClinicSettings)
    notifications: NotificationSettings = field(default_factory=NotificationSettings)

    @classmethod
    def from_env(cls) -> Settings:
        """Read every section from the environment; raises :class:`SettingsError` on a bad value."""
        try:
            return cls(
                core=CoreSettings(),
                http=HttpSettings(),
                database=DatabaseSettings(),
                redis=RedisSettings(),
                auth=AuthSettings(),
                media=MediaSettings(),
                consult=ConsultSettings(),
                retention=RetentionSettings(),
                pharmacy=PharmacySettings(),
                documents=DocumentSettings(),
                clinic=ClinicSettings(),
                notifications=NotificationSettings(),
            )
        except ValidationError as exc:
            raise SettingsError.from_validation(exc) from None
        except ValueError as exc:  # JSON errors raised while pydantic-settings decodes a value
            raise SettingsError(f"invalid setting: {exc}") from None

    def with_(self, **sections: Any) -> Settings:
        """A copy with whole sections replaced (used by the CLI and tests)."""
        return replace(self, **sections)


class SettingsError(Exception):
    """A bad setting, with a one-line message naming the environment variable."""

    @classmethod
    def from_validation(cls, exc: ValidationError) -> SettingsError:
        first = exc.errors()[0]
        name = ENV_PREFIX + str(first["loc"][0]).upper() if first["loc"] else "settings"
        value = first.get("input")
        shown = "" if isinstance(value, dict) or "secret" in name.lower() else f" (got {value!r})"
        more = f" and {exc.error_count() - 1} more" if exc.error_count() > 1 else ""
        return cls(f"invalid setting {name}: {first['msg']}{shown}{more}")
