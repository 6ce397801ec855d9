# ztc in a container: `docker compose up` (compose.yaml) runs it beside PostgreSQL.
# Build: docker build -t ztc .   Run: docker run --env-file ztc.env ztc
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    ZTC_OPS_HOST=0.0.0.0 \
    ZTC_OPS_PORT=9108

WORKDIR /opt/ztc
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY jobs ./jobs
COPY locales ./locales
COPY models ./models
RUN pip install . \
    && useradd --system --uid 10001 --user-group --create-home --home-dir /var/lib/ztc \
        --shell /usr/sbin/nologin ztc

# The bot's data folder: a SQLite database or a .env, if used, live here (not in the image).
ENV ZTC_DATA_DIR=/var/lib/ztc
WORKDIR /var/lib/ztc
USER 10001:10001

EXPOSE 9108
# /healthz answers 503 while the database is down (bot/ops.py); no curl in a slim image.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"ZTC_OPS_PORT\"]}/healthz', timeout=4)"]

ENTRYPOINT ["ztc"]
CMD ["run"]
