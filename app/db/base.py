from datetime import datetime
from typing import Annotated, Protocol

from sqlalchemy import BigInteger, DateTime, Identity, MetaData, func, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # Every instant is stored with its zone.
    type_annotation_map = {datetime: DateTime(timezone=True)}


# A bigint identity primary key.
IdentityKey = Annotated[int, mapped_column(BigInteger, Identity(), primary_key=True)]
# An instant the database sets on insert.
InsertedAt = Annotated[datetime, mapped_column(server_default=func.now())]
# A record's version for optimistic concurrency (core.versioning): 1, then raised by one
# on every edit: bump_version, or in SQL the importer's upsert (imports.writing).
Version = Annotated[int, mapped_column(server_default=text("1"))]


class Versioned(Protocol):
    version: int


def bump_version(record: Versioned) -> None:
    """Marks an edit of `record` (a model with a Version): an If-Match naming the version
    read before no longer matches."""
    record.version += 1


class Timestamped:
    created_at: Mapped[InsertedAt]
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
