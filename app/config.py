import os
from ipaddress import ip_network
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import quote

from pydantic import Field, HttpUrl, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def local_cluster_url() -> str:
    """The `rf` database of the cluster that ./scripts/serve keeps in .data/ (scripts/lib.sh),
    so that `rf keys create` and friends work beside it without DATABASE_URL."""
    socket_dir = quote(str(PROJECT_ROOT / ".data" / "run"), safe="/")
    return f"postgresql+psycopg://postgres@/rf?host={socket_dir}&port={os.environ.get('RF_PGPORT', '54329')}"


class Settings(BaseSettings):
    """Runtime configuration, read from the environment (prefix RF_, except DATABASE_URL)."""

    model_config = SettingsConfigDict(env_prefix="RF_", extra="ignore", populate_by_name=True)

    database_url: str = Field(default_factory=local_cluster_url, validation_alias="DATABASE_URL")
    # Streaming replicas for hot reads (nearby, OGC items, tiles), comma-separated
    # (db.replicas); empty: everything on DATABASE_URL.
    database_replica_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="DATABASE_REPLICA_URLS"
    )
    # A replica further behind than this leaves the rotation until it catches up.
    max_replica_lag_s: float = Field(default=5, gt=0)
    replica_check_s: float = Field(default=1, gt=0)
    replica_timeout_s: float = Field(default=2, gt=0)
    # Connections go through pgbouncer in transaction mode: no startup options and no
    # prepared statements (db.session.connect_args).
    db_pgbouncer: bool = False
    # The primary's connections per process: this many kept, ten more made when busy. As many
    # requests at once hold a session (or read an API key), the rest wait their turn as
    # coroutines (db.session.admitted; 503 after db_pool_timeout_s).
    db_pool_size: int = Field(default=10, ge=1)
    db_pool_timeout_s: float = Field(default=10, gt=0)
    # A connection to PostgreSQL not made in this long fails (503). Hot reads connect on the
    # event loop: a database host that is unreachable, not refusing, would otherwise hold
    # the whole process until TCP gives up, minutes later. Whole seconds, at least 2 (libpq);
    # per attempt, and libpq makes two under the default sslmode (with TLS, then without).
    db_connect_timeout_s: int = Field(default=5, ge=2)
    # Hot read paths (nearby, OGC items, tiles) per process: at most this many at once, the
    # rest wait their turn (db.session.hot_read; 503 after read_pool_timeout_s). A query or two
    # in flight per core finish sooner than dozens sharing it, so the tail stays short
    # (docs/performance.md). A database on its own machine wants more.
    read_pool_size: int = Field(default=2, ge=1)
    read_pool_timeout_s: float = Field(default=10, gt=0)
    # How long PostgreSQL may work on one statement of a hot read (statement_timeout): the
    # slowest legitimate ones at a million facilities (the densest z15 tile, an items page
    # filtered on an unindexed column, a batch of an open_now search) took about a second,
    # cold, on two busy cores (docs/benchmarks.md, Statement bounds). 5 s leaves four times
    # that, and a question that needs more is refused (504) instead of holding a backend.
    read_statement_timeout_s: float = Field(default=5, gt=0, le=300)
    # ... and on one statement of a request's transaction on the primary (writes, listings,
    # statistics): larger, as the national statistics took 3 s at a million. Not for `rf`
    # commands, import jobs, workers or migrations, which take as long as their work.
    statement_timeout_s: float = Field(default=30, gt=0, le=3600)
    # ... and on each statement of GET /v1/export, which reads its rows a batch per
    # statement, for minutes in all: a batch (and the first, which sorts) gets this long.
    export_statement_timeout_s: float = Field(default=120, gt=0, le=3600)
    # Rendered vector tiles kept in memory per process (ogc.tiles.cache); 0 keeps none, so
    # every tile is rendered (scripts/bench_ogc measures cold tiles so). Their compressed
    # copies, one per coding asked for, come on top, each smaller than its tile.
    tile_cache_bytes: int = Field(default=256 * 1024**2, ge=0)
    max_body_bytes: int = 1_048_576
    # Files uploaded to POST /v1/imports: a million facilities as GeoJSON is about 1.8 GB.
    max_import_bytes: int = 4 * 1024**3
    # Population layers for planning: a city's blocks or a 100 m grid, read whole in memory.
    max_population_bytes: int = 64 * 1024**2
    # Where uploaded import files wait for their job; the system's temporary folder if unset.
    import_dir: Path | None = None
    # A parking occupancy figure older than this is stale: never shown as current.
    occupancy_stale_after_s: int = 900
    # Months of occupancy history kept (whole monthly partitions dropped past it); 0 keeps
    # it all (app.db.partitions).
    occupancy_retention_months: int = Field(default=0, ge=0, le=1200)
    # Reports stamped this far ahead of the server clock are accepted as clock skew.
    occupancy_clock_skew_s: int = 120
    # Live shelter status (PUT /v1/facilities/{id}/shelter/status): older than this it is
    # stale, never shown as current nor used by the assignment.
    shelter_status_stale_after_s: int = Field(default=600, gt=0)
    # Months of shelter status history kept (whole monthly partitions dropped past it); 0
    # keeps it all: the reports are the record of each alert and drill, and how long that
    # must be kept is the operator's rule (app.db.partitions).
    shelter_status_retention_months: int = Field(default=0, ge=0, le=1200)
    # Persons inside may exceed the stated capacity by this share (people are not turned
    # away at the door in an air raid; a count above it is a typing error).
    shelter_overfill_tolerance: float = Field(default=0.2, ge=0, le=1)
    # A CAP message: a city's polygon of 20,000 points takes about 600 KB.
    max_alert_bytes: int = Field(default=1_048_576, ge=4096)
    # Open SSE alert streams per worker process; more are answered 503.
    alert_streams_per_worker: int = Field(default=2000, ge=1)
    # ... and per client (a key, or an address without one) over all the workers of a
    # host, so that one client cannot take every place; more are answered 429.
    alert_streams_per_client: int = Field(default=4, ge=1)
    # On SIGTERM a worker ends its alert streams at once, then waits this long for other
    # answers in progress (an export, an upload) before it cuts them off (app.serving).
    shutdown_grace_s: float = Field(default=20, gt=0)
    # Names this service in the links it builds for map apps (Amap src, Tencent referer).
    app_source: str = "rf-registry"
    alembic_ini: Path = PROJECT_ROOT / "alembic.ini"
    # The address the public reaches this API at, for QR codes on plaques (a proxy in
    # front may show the API another); the request's own when unset.
    public_url: str | None = None
    # The report form a plaque's QR code leads to, e.g. a city app's page:
    # "https://app.example.cn/report?facility={id}&code={code}" ({base}, {id}, {code}).
    qr_report_url: str | None = None
    # The language of problem answers and import reports for a caller whose
    # Accept-Language names none the API speaks (app/core/i18n.py).
    default_language: Literal["en", "zh"] = "en"
    # Rate limits (app/accounts/gate.py): requests per minute and burst, per client address
    # for anonymous callers. Map traffic (tiles, TileJSON): a screen of MapLibre asks for a
    # few dozen tiles at each move.
    map_rate_per_minute: float = Field(default=3000, gt=0)
    map_burst: int = Field(default=1000, ge=1)
    # OGC items pages: GDAL 3.6 copies a collection ten features a page, so the demo's
    # 33,000 signs take 3,300 pages in a minute or two.
    features_rate_per_minute: float = Field(default=6000, gt=0)
    features_burst: int = Field(default=4000, ge=1)
    # Other reads.
    read_rate_per_minute: float = Field(default=1200, gt=0)
    read_burst: int = Field(default=600, ge=1)
    # /v1/export answers whole areas at once.
    export_rate_per_minute: float = Field(default=6, gt=0)
    export_burst: int = Field(default=3, ge=1)
    # Opening an alert stream (/v1/alerts/stream): a stream is one request that stays
    # open, so a client reconnects now and then, never dozens of times a minute.
    stream_rate_per_minute: float = Field(default=20, gt=0)
    stream_burst: int = Field(default=10, ge=1)
    # Writes without a key (problem reports, photos): each one lands in a manager's queue
    # or on disk.
    report_rate_per_hour: float = Field(default=10, gt=0)
    report_burst: int = Field(default=5, ge=1)
    # A key's quota over all its traffic, unless the key has its own (rate_per_minute).
    key_rate_per_minute: float = Field(default=6000, gt=0)
    key_burst: int = Field(default=2000, ge=1)
    # Problem reports an `app` key relays for its users, per key.
    app_report_rate_per_hour: float = Field(default=1200, gt=0)
    app_report_burst: int = Field(default=100, ge=1)
    # Proxies whose X-Forwarded-For (and -Proto) the server believes: addresses or CIDRs,
    # comma-separated. Empty: the client address is the connection's peer, whatever the
    # headers say, or anyone could pick their own rate-limit bucket.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # A request's line and headers together; more is answered 431 (app.serving).
    max_header_bytes: int = Field(default=16384, ge=1024)
    # ... and must arrive within this many seconds of the connection or the request's
    # first byte; 408 after that.
    header_timeout_s: float = Field(default=15, gt=0)
    # How long a worker trusts a key it has seen: a key revoked on another worker or with
    # `rf keys revoke` stops working within this time (at once on the worker revoking it).
    key_cache_s: float = Field(default=5, ge=0)
    # Web pages on these origins (scheme://host[:port], comma-separated) may send requests
    # with a key, or that write; pages anywhere may read public answers (app/core/cors.py).
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # How long a shared cache (a CDN, a proxy) may keep a public answer whose route sets no
    # Cache-Control, and serve it stale while it asks again (app/core/middleware.py).
    cache_max_age_s: int = Field(default=60, ge=0)
    cache_stale_s: int = Field(default=300, ge=0)
    # Where the repository's README.md is published (its web page): the landing page links
    # its sections there, and only names them without it.
    readme_url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    # Webhooks (app/webhooks/): deliveries to loopback, private and link-local addresses
    # are refused (a key could otherwise make the server probe its own network); on only
    # where receivers live on such a network.
    webhook_allow_private: bool = False
    # Per delivery attempt as a whole, from connecting to the answer's last byte.
    webhook_timeout_s: float = Field(default=5, gt=0, le=60)
    # How often each process looks for events and due deliveries.
    webhook_poll_s: float = Field(default=2, gt=0)
    # How often maintenance falling overdue and parking feeds gone stale are looked for.
    webhook_sweep_s: float = Field(default=300, gt=0)
    # A delivery is retried with backoff for this long, then given up.
    webhook_retry_s: int = Field(default=86400, ge=60)
    # A subscription whose deliveries failed this many times in a row is paused.
    webhook_pause_after: int = Field(default=15, ge=1)
    # Delivered and given-up deliveries are kept this many days for the log and replay.
    webhook_retention_days: int = Field(default=30, ge=1)
    media_dir: Path = PROJECT_ROOT / ".data" / "media"
    media_max_bytes: int = Field(default=8_388_608, ge=1024)
    # The public map's basemap (app/pages): the URL of a MapLibre style, or none to draw
    # the division boundaries from the API's own tiles, which works with no Internet. Its
    # origin is allowed by the pages' Content-Security-Policy, and so are the origins of
    # basemap_origins (tiles, glyphs and sprites a style names elsewhere).
    basemap_style: HttpUrl | None = None
    basemap_origins: Annotated[list[HttpUrl], NoDecode] = Field(default_factory=list)
    # The coordinate system of that basemap: gcj02 for Amap and Tencent styles, so that the
    # map asks the API for positions in it.
    basemap_coordsys: Literal["wgs84", "gcj02"] = "wgs84"

    @property
    def read_your_writes_s(self) -> float:
        """How long a caller who wrote reads from the primary (db.replicas)."""
        return self.max_replica_lag_s + 3 * self.replica_check_s

    @field_validator(
        "database_replica_urls", "cors_origins", "trusted_proxies", "basemap_origins", mode="before"
    )
    @classmethod
    def _comma_list(cls, value: object) -> object:
        # The environment gives lists as comma-separated values.
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _cors_origins(cls, value: list[str]) -> list[str]:
        origins = [origin.rstrip("/") for origin in value]
        for origin in origins:
            scheme, sep, host = origin.partition("://")
            if scheme not in ("http", "https") or not sep or not host or "/" in host:
                raise ValueError(f"{origin!r} is not an origin such as https://map.example.org")
        return origins

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: list[str]) -> list[str]:
        for network in value:
            ip_network(network, strict=False)  # a ValueError names a bad entry
        return value

    # Properties, not cached: a copy of the settings (model_copy) carries its original's
    # cached values, and would connect to the database it was copied from.
    @property
    def sqlalchemy_url(self) -> str:
        return sqlalchemy_url(self.database_url)

    @property
    def replica_sqlalchemy_urls(self) -> list[str]:
        return [sqlalchemy_url(url) for url in self.database_replica_urls]


def sqlalchemy_url(url: str) -> str:
    """A libpq URL as SQLAlchemy's psycopg driver wants it."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url.removeprefix(plain)
    return url
