FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

WORKDIR /srv/rf

# A regular (non-editable) install, owned by root so the service cannot alter
# its own code; the wheels of shapely, pyogrio and psycopg bring their C libraries.
COPY pyproject.toml README.md ./
COPY app ./app
RUN pip install . && rm -rf build ./*.egg-info

# The installed package cannot find alembic.ini next to itself, so say where.
COPY alembic.ini ./
COPY migrations ./migrations
ENV RF_ALEMBIC_INI=/srv/rf/alembic.ini

RUN useradd --system --no-create-home --uid 10001 rf
USER rf

EXPOSE 8000
CMD ["sh", "-c", "rf db upgrade && exec rf serve --host 0.0.0.0 --port 8000"]
