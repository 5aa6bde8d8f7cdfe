# One image for every process of the service (web, worker, beat, bridge); docker-compose.yml picks the command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production

WORKDIR /app

# Dependencies first, so a code change does not reinstall them (psycopg[binary] and confluent-kafka ship wheels
# with libpq and librdkafka inside: no compiler or system library needed).
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .

# Static files are collected at build time; collectstatic needs no database, only a throwaway key and host.
RUN DJANGO_SECRET_KEY=collectstatic-only DJANGO_ALLOWED_HOSTS=localhost SECRETS_ENCRYPTION_KEYS=unused \
    python manage.py collectstatic --noinput -v0 \
    && useradd --system --uid 10001 --home-dir /app app \
    && chown -R app /app/staticfiles

USER app
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)" || exit 1
# config/gunicorn.py: access log on stdout, error log on stderr, both masked like every other log line.
CMD ["gunicorn", "-c", "python:config.gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--workers", "2", "--timeout", "60"]
