"""Where hot reads go: PostgreSQL streaming replicas when `DATABASE_REPLICA_URLS` names
some, otherwise the primary.

- Rotation: each process checks every replica every `replica_check_s` seconds, off the
  event loop. A replica that does not answer within `replica_timeout_s` leaves the
  rotation; so does one found more than `max_replica_lag_s` behind at two checks in a
  row, as after a quiet spell the first record to arrive looks as old as the last one
  replayed (the lag is the age of the last transaction replayed, while some is left).
  Either is back once a check finds it caught up. With none in rotation, hot reads go to the primary.
  A URL that leads to a primary (a replica promoted by a failover) is out of the
  rotation too: reads there are the primary's, which DATABASE_URL already reaches, so a
  cluster's every node may be listed and only its standbys take hot reads.
- Read your writes: a caller (key, or address without one) that wrote within
  `read_your_writes_s` reads from the primary (the gate sets `FROM_PRIMARY`; the mark is
  in the rate table every worker of the host shares). A replica in rotation lagged at
  most `max_replica_lag_s` at one of its last two checks, so the window is that and
  three check intervals: a write is on every replica in rotation once it ends.
- Tiles: the tile cache reads its change log and renders from one source, `pinned`, the
  first replica in rotation, as the log and the tiles must come from one timeline for
  the cache's rules to hold (ogc.tiles.cache). When the pinned source changes, `epoch`
  changes and the cache starts over."""

import asyncio
import logging
from dataclasses import dataclass, field

from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from app.config import Settings
from app.db.session import (
    FROM_PRIMARY,
    Held,
    connect_args,
    make_read_engine,
    make_sessionmaker,
)

log = logging.getLogger(__name__)

# Seconds the standby has not replayed of what it received: 0 when it has replayed it
# all, else the age of the last transaction it replayed; NULL when it is no standby.
LAG = text(
    """
    SELECT CASE WHEN NOT pg_is_in_recovery() THEN NULL
                WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()),
                              'Infinity') END
    """
)


@dataclass(eq=False)
class Replica:
    name: str  # host:port/database, never the password
    engine: Engine
    sessions: sessionmaker[Session]
    # One connection of its own: a check never waits behind hot reads for the pool.
    checks: Engine
    lag: float | None = None  # None: unknown, not answering, or not a standby
    in_rotation: bool = False
    behind: int = 0  # checks in a row that found it past the lag bound


def replica(settings: Settings, url: str) -> Replica:
    engine = make_read_engine(settings, url)
    checks = create_engine(
        url,
        pool_size=1,
        max_overflow=0,
        isolation_level="AUTOCOMMIT",
        connect_args={
            **connect_args(settings, "-c jit=off"),
            "connect_timeout": max(1, round(settings.replica_timeout_s)),
        },
    )
    name = make_url(url).render_as_string(hide_password=True).split("@")[-1]
    return Replica(name, engine, make_sessionmaker(engine), checks)


@dataclass
class Reads:
    primary: sessionmaker[Session]
    replicas: list[Replica] = field(default_factory=list)
    epoch: int = 0  # changes with the pinned source
    _turn: int = 0
    _pinned: Replica | None = None
    _held: dict[tuple[Replica | None, bool], Held] = field(default_factory=dict)

    def next(self) -> Replica | None:
        """The replica for one hot read, or None for the primary."""
        if FROM_PRIMARY.get():
            return None
        rotation = [replica for replica in self.replicas if replica.in_rotation]
        if not rotation:
            return None
        self._turn = (self._turn + 1) % len(rotation)
        return rotation[self._turn]

    @property
    def pinned(self) -> Replica | None:
        return self._pinned

    def sessions(self, replica: Replica | None) -> sessionmaker[Session]:
        return self.primary if replica is None else replica.sessions

    def held(self, replica: Replica | None, *, waits: bool = False) -> Held:
        """The connection of the source kept for the event loop's reads, blocking or
        waiting (session.Held)."""
        held = self._held.get((replica, waits))
        if held is None:
            # Two event loops of the process (a test's clients) may both find none: the
            # first stored is kept, as the other's connection would never be given back.
            held = self._held.setdefault((replica, waits), Held(self.sessions(replica)))
        return held

    def failed(self, replica: Replica, settings: Settings) -> None:
        """A hot read lost its connection: out of rotation until a check finds it back."""
        self.update(replica, None, settings)

    def update(self, replica: Replica, lag: float | None, settings: Settings) -> None:
        was = replica.in_rotation
        replica.lag = lag
        late = lag is not None and lag > settings.max_replica_lag_s
        replica.behind = replica.behind + 1 if late else 0
        replica.in_rotation = lag is not None and (
            replica.behind == 0 or (was and replica.behind < 2)
        )
        if was != replica.in_rotation:
            log.warning(
                "replica %s %s the rotation (lag %s s)",
                replica.name,
                "joins" if replica.in_rotation else "leaves",
                "unknown" if lag is None else f"{lag:.1f}",
            )
        pinned = next((r for r in self.replicas if r.in_rotation), None)
        if pinned is not self._pinned:
            self._pinned = pinned
            self.epoch += 1

    async def watch(self, settings: Settings) -> None:
        """Checks the replicas for as long as the process serves."""
        while self.replicas:
            lags = await asyncio.gather(
                *(self._lag(replica, settings) for replica in self.replicas)
            )
            for replica, lag in zip(self.replicas, lags, strict=True):
                self.update(replica, lag, settings)
            await asyncio.sleep(settings.replica_check_s)

    async def _lag(self, replica: Replica, settings: Settings) -> float | None:
        def measure() -> float | None:
            with replica.checks.connect() as connection:
                lag = connection.scalar(LAG)
            return None if lag is None else float(lag)

        try:
            async with asyncio.timeout(settings.replica_timeout_s):
                return await run_in_threadpool(measure)
        except Exception as exc:  # noqa: BLE001 - any failure takes it out of rotation
            if replica.lag is not None:
                log.warning("replica %s does not answer: %s", replica.name, exc)
            return None

    def dispose(self) -> None:
        for held in self._held.values():
            held.release()
        for replica in self.replicas:
            replica.engine.dispose()
            replica.checks.dispose()

    def describe(self) -> list[dict]:
        return [
            {"replica": r.name, "in_rotation": r.in_rotation, "lag_s": r.lag} for r in self.replicas
        ]
