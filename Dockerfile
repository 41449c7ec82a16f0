# syntax=docker/dockerfile:1
# Multi-stage build: wheels are built in the first stage, the runtime image holds only the
# installed application, runs as an unprivileged user, and reports health on /healthz.

FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Front-end libraries come from npm and are copied into the served assets (web/README.md).
RUN if [ -f web/package.json ]; then (cd web && npm ci --ignore-scripts --no-audit --no-fund && npm run build); fi
# Every Python package from the lock, hashes checked; then the project itself, built without
# fetching anything unlocked (scripts/lock.sh writes requirements/).
RUN python -m venv /opt/telemed \
 && /opt/telemed/bin/python -m pip install --require-hashes --no-deps -r requirements/runtime.txt \
 && /opt/telemed/bin/python -m pip install --no-deps --no-build-isolation . \
 && /opt/telemed/bin/python -m pip check

FROM python:3.11-slim-bookworm AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl libopus0 libvpx7 fonts-wqy-microhei \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/telemed --create-home telemed
COPY --from=build /opt/telemed /opt/telemed
ENV PATH=/opt/telemed/bin:$PATH \
    TELEMED_ENV=production \
    TELEMED_HOST=0.0.0.0 \
    TELEMED_PORT=8080 \
    TELEMED_DATA_DIR=/var/lib/telemed \
    TELEMED_LOG_FORMAT=json
USER telemed
WORKDIR /var/lib/telemed
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
# Production needs TELEMED_JWT_SECRET and TELEMED_MONGODB_URL (and TELEMED_REDIS_URL for
# more than one process); without a database URL the embedded SecantusDB starts instead.
CMD ["telemed", "serve"]
