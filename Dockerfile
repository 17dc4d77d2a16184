# prodsim: one image for web (gunicorn), the Celery workers and one-shot management commands.
# See docker-compose.yml for how the services use it.
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=prodsim_site.settings

WORKDIR /app

# Dependencies first, so a code change does not reinstall TensorFlow. TENSORFLOW, when given,
# replaces the CPU build with that requirement: docker-compose.yml passes PRODSIM_ML_TENSORFLOW
# (e.g. "tensorflow[and-cuda]==2.21.0", the pinned version) for the ml worker's GPU.
ARG TENSORFLOW=""
COPY requirements.txt constraints.txt ./
RUN pip install --no-cache-dir -r requirements.txt -c constraints.txt \
    && if [ -n "$TENSORFLOW" ]; then \
        pip uninstall --yes tensorflow-cpu && pip install --no-cache-dir "$TENSORFLOW" -c constraints.txt; \
    fi

COPY . .

# collectstatic needs settings to import, nothing more: the dummy URLs keep settings.py from
# computing embedded-server addresses and PRODSIM_NO_EMBEDDED_START keeps manage.py from starting
# them. None of these values outlive this step.
RUN DJANGO_SECRET_KEY=build-only \
    PRODSIM_NO_EMBEDDED_START=1 \
    DATABASE_URL=postgres://build:build@127.0.0.1:5432/build \
    REDIS_URL=redis://127.0.0.1:6379/0 \
    PRODSIM_STATIC_ROOT=/app/var/static \
    python manage.py collectstatic --noinput

# Code and static files stay root-owned (read-only to the app); only the directories that the
# media and models volumes mount on belong to prodsim (a fresh named volume copies this
# ownership), and the one beat rewrites its schedule file in.
RUN groupadd --system prodsim \
    && useradd --system --gid prodsim --create-home --home-dir /home/prodsim prodsim \
    && mkdir -p /app/var/media /app/var/models /app/var/beat \
    && chown prodsim:prodsim /app/var/media /app/var/models /app/var/beat
USER prodsim

EXPOSE 8000
CMD ["gunicorn", "prodsim_site.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "60", "--access-logfile", "-", "--logger-class", "prodsim_site.gunicorn_logging.MaskingLogger"]
