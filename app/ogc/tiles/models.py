from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Double,
    PrimaryKeyConstraint,
    SmallInteger,
    Text,
)
from sqlalchemy import text as sql
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, IdentityKey


class TileChange(Base):
    """Where the tiles of some collections changed: written by statement triggers on the
    tables the tiles show (migration 0007), read by every API process to evict its cached
    tiles. A position is a box of zero size; a statement that moved many rows (an import)
    leaves their extent instead."""

    __tablename__ = "tile_change"

    id: Mapped[IdentityKey]
    # The writing transaction (pg_current_xact_id): readers use snapshots to see each
    # change once it commits, whatever order transactions commit in.
    xid: Mapped[int] = mapped_column(
        BigInteger, server_default=sql("(pg_current_xact_id())::text::bigint"), index=True
    )
    collections: Mapped[list[str]] = mapped_column(ARRAY(Text))
    west: Mapped[float] = mapped_column(Double)
    south: Mapped[float] = mapped_column(Double)
    east: Mapped[float] = mapped_column(Double)
    north: Mapped[float] = mapped_column(Double)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=sql("clock_timestamp()"), index=True
    )


class TileChangeHorizon(Base):
    """One row: the largest xid of a change pruned from tile_change. A process that has not
    read the log since before that transaction may have missed changes, so it empties its
    cache."""

    __tablename__ = "tile_change_horizon"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    pruned_xid: Mapped[int] = mapped_column(BigInteger, server_default=sql("0"))


CELL_VALUES = [
    "count",
    "sum_1",
    "known_1",
    "sum_2",
    "known_2",
    "sum_3",
    "known_3",
    "sum_px",
    "sum_py",
]


class TileCell(Base):
    """The cluster pyramid: per clustered layer, coordinate system and stored level, the
    rows in each grid cell, their sums and the sums of their EPSG:3857 x and y (the
    centroid is sum / count). Written only by statement triggers on facility,
    peacetime_use, entrance and sign (migrations 0033 and 0035,
    app/db/sql/functions/tile_cell_apply.sql), so that a
    cluster tile reads a bounded number of cells however many rows they stand for."""

    __tablename__ = "tile_cell"
    # Covering: a tile reads its cells from the index alone.
    __table_args__ = (
        PrimaryKeyConstraint(
            "layer", "coordsys", "level", "x", "y", postgresql_include=CELL_VALUES
        ),
    )

    layer: Mapped[str] = mapped_column(Text)
    coordsys: Mapped[str] = mapped_column(Text)
    # 2^level cells across the world: a tile at zoom z draws level z + 6
    level: Mapped[int] = mapped_column(SmallInteger)
    x: Mapped[int]
    y: Mapped[int]
    count: Mapped[int]
    # the layer's sums in the order of Layer.sums, and how many rows have a value
    sum_1: Mapped[int] = mapped_column(BigInteger)
    known_1: Mapped[int]
    sum_2: Mapped[int] = mapped_column(BigInteger)
    known_2: Mapped[int]
    sum_3: Mapped[int] = mapped_column(BigInteger)
    known_3: Mapped[int]
    sum_px: Mapped[float] = mapped_column(Double)
    sum_py: Mapped[float] = mapped_column(Double)
