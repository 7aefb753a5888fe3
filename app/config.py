from functools import cached_property
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Runtime configuration, read from the environment (prefix RF_, except DATABASE_URL)."""

    model_config = SettingsConfigDict(env_prefix="RF_", extra="ignore", populate_by_name=True)

    database_url: str = Field(validation_alias="DATABASE_URL")
    db_pool_size: int = 10
    max_body_bytes: int = 1_048_576
    alembic_ini: Path = PROJECT_ROOT / "alembic.ini"

    @cached_property
    def sqlalchemy_url(self) -> str:
        url = self.database_url
        for plain in ("postgresql://", "postgres://"):
            if url.startswith(plain):
                return "postgresql+psycopg://" + url.removeprefix(plain)
        return url
