# The console's image: web (gunicorn + whitenoise), worker and beat all run from it.
FROM node:20-bookworm-slim AS assets
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DEBUG=false STATIC_MANIFEST=true VAR_DIR=/var/lib/rules-console
WORKDIR /app
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt
COPY --from=assets /app/node_modules ./node_modules
COPY . .
RUN SECRET_KEY=collectstatic-only RUN_INPUT_KEYS=collectstatic-only python manage.py collectstatic --noinput \
 && useradd --system --home /app rules && mkdir -p "$VAR_DIR" && chown rules "$VAR_DIR"
USER rules
EXPOSE 8000
CMD ["gunicorn", "pipelines_admin.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
