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
