"""Where the JWT signing secret comes from."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from server.settings import Environment, Settings, SettingsError

MIN_SECRET_BYTES = 32
DEV_SECRET_FILE = "jwt-secret"  # noqa: S105 - a file name


def resolve_jwt_secret(settings: Settings) -> str:
    """``TELEMED_JWT_SECRET`` when set; in development a generated secret kept in the data
    folder (mode 0600) so sign-ins survive a restart; production refuses to start without one."""
    given = settings.auth.jwt_secret
    if given:
        if len(given.encode()) < MIN_SECRET_BYTES:
            raise SettingsError(
                f"invalid setting TELEMED_JWT_SECRET: must be at least {MIN_SECRET_BYTES} bytes"
            )
        return given
    if settings.core.env is Environment.PRODUCTION:
        raise SettingsError(
            "TELEMED_JWT_SECRET is required when TELEMED_ENV=production"
            " (generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )
    path = Path(settings.core.data_dir) / DEV_SECRET_FILE
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")
    return secret


PAYMENT_SECRET_FILE = "payment-webhook-secret"  # noqa: S105 - a file name


def resolve_payment_setup(settings: Settings) -> tuple[str, str] | None:
    """The payment provider and its webhook secret (``TELEMED_PAYMENT_WEBHOOK_SECRET``),
    checked at start. ``demo`` is the default outside production and refused in production
    (where no provider configured means no online payment); development generates a secret
    per data folder, as for the JWT secret."""
    pharmacy = settings.pharmacy
    production = settings.core.env is Environment.PRODUCTION
    provider = pharmacy.payment_provider or (None if production else "demo")
    if provider is None:
        return None
    if provider != "demo":
        raise SettingsError(
            f"invalid setting TELEMED_PAYMENT_PROVIDER: {provider!r} is not available"
            " (providers: demo)"
        )
    if production:
        raise SettingsError(
            "TELEMED_PAYMENT_PROVIDER=demo is refused when TELEMED_ENV=production"
            " (configure a real payment provider)"
        )
    given = pharmacy.payment_webhook_secret
    if given:
        if len(given.encode()) < MIN_SECRET_BYTES:
            raise SettingsError(
                "invalid setting TELEMED_PAYMENT_WEBHOOK_SECRET: must be at least"
                f" {MIN_SECRET_BYTES} bytes"
            )
        return provider, given
    path = Path(settings.core.data_dir) / PAYMENT_SECRET_FILE
    if path.exists():
        return provider, path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process of this data folder made it a moment ago
        return provider, path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")
    return provider, secret
