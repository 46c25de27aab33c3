# govpulse runtime image: Airflow 3.3 + dbt-duckdb + Great Expectations, all from uv.lock.
# Used by docker-compose.yml (every Airflow service runs this image); see docs/deploy.md.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/opt/govpulse/.venv \
    AIRFLOW_HOME=/opt/airflow \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/govpulse/dags \
    AIRFLOW__CORE__LOAD_EXAMPLES=False \
    DO_NOT_TRACK=1 \
    SCARF_ANALYTICS=false \
    AIRFLOW__COSMOS__ENABLE_TELEMETRY=False \
    HOME=/home/airflow \
    PATH=/opt/govpulse/.venv/bin:$PATH

# uv itself comes from PyPI (no installer script downloads); pinned to the version that wrote uv.lock.
RUN pip install --no-cache-dir "uv==0.13.9"

# Non-root runtime user as in the official Airflow image: uid 50000, primary group 0 so that an
# arbitrary AIRFLOW_UID (with gid 0) can still write the group-writable directories below.
RUN useradd --uid 50000 --gid 0 --home-dir /home/airflow --create-home --shell /bin/bash airflow

WORKDIR /opt/govpulse

# 1) third-party dependencies only (cached layer while the lock is unchanged)
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project

# 2) the project itself
COPY . .
RUN uv sync --frozen --no-dev
# The metadata DB is PostgreSQL (psycopg2 in AIRFLOW__DATABASE__SQL_ALCHEMY_CONN): fail the build,
# not the first container start, when the lock lacks the driver.
RUN python -c "import psycopg2" \
    || { echo "uv.lock has no PostgreSQL driver: depend on 'apache-airflow[postgres]' and re-lock" >&2; exit 1; }

# Writable places for the runtime user: Airflow home (logs, simple-auth passwords file),
# dbt target/logs, GX uncommitted/, and the container paths docker-compose.yml mounts.
RUN mkdir -p /opt/airflow/logs /opt/airflow/auth \
        /opt/govpulse/dbt_project/target /opt/govpulse/dbt_project/logs /opt/govpulse/expectations \
        /data/inbox /data/registry /data/warehouse /data/publish \
    && chown -R airflow:0 /opt/airflow /home/airflow /data \
        /opt/govpulse/dbt_project /opt/govpulse/expectations \
    && chmod -R g=u /opt/airflow /home/airflow /data \
        /opt/govpulse/dbt_project /opt/govpulse/expectations

USER 50000
# Same working directory as a developer's checkout, so project-relative paths resolve alike.
WORKDIR /opt/govpulse

# No ENTRYPOINT: compose services give full commands ("airflow scheduler", "govpulse run ...").
CMD ["airflow", "version"]
