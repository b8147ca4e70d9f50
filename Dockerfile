# One image for every part: web (gunicorn), worker and beat (Celery), the one-shot migrate step and
# the demo's AWS emulator (moto server, from the runtime requirements). Configured only through
# environment variables; see .env.example and docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=portal.settings.production

WORKDIR /app
RUN useradd --system --uid 10001 --home-dir /app --no-create-home portal

COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY . .
# Static files are collected into the image with the production storage (hashed names and a
# manifest); the placeholders only let the production settings load, nothing connects anywhere.
RUN DJANGO_SECRET_KEY=collectstatic-only \
    DJANGO_ALLOWED_HOSTS=localhost \
    DATABASE_URL=sqlite:////tmp/unused.sqlite3 \
    REDIS_URL=redis://localhost:6379/0 \
    python manage.py collectstatic --noinput \
    && mkdir -p /app/var/metrics \
    && chown portal /app/var /app/var/metrics

USER portal
EXPOSE 8000
CMD ["gunicorn", "portal.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", \
     "--timeout", "60", "--no-control-socket", "--access-logfile", "-", "--error-logfile", "-"]
