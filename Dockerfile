# Keyledger image: built from the lock, runs as an unprivileged user, no AWS keys inside.
# One image serves every role; docker-compose.yml picks the command (web, worker, beat).
# No database URL is baked in. Web, worker and beat get DATABASE_URL, the app's role (audit
# log append-only); only the one-shot migrate step also gets MIGRATE_DATABASE_URL, the
# tables' owner, and runs `manage.py migrate && manage.py setup_app_role`.
FROM python:3.11-slim AS app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 UV_PROJECT_ENVIRONMENT=/opt/venv \
    PATH=/opt/venv/bin:$PATH
WORKDIR /app
RUN pip install --no-cache-dir uv==0.13.9
COPY pyproject.toml uv.lock ./
# Exactly the locked versions, without the dev group (moto, pytest, playwright...).
RUN uv sync --frozen --no-dev --no-install-project
COPY . .
# Static files are collected at build time and served by whitenoise from the image.
RUN DEBUG=false SECRET_KEY=build-only python manage.py collectstatic --noinput --verbosity 0 \
    && useradd --system --uid 10001 keyledger
USER keyledger
EXPOSE 8000
CMD ["gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi:application"]
