from alembic import context
from sqlalchemy import create_engine, pool

from app.config import Settings
from app.models import Base, include_object

config = context.config
# A caller (tests, the CLI) may hand over an open connection; otherwise Settings names the database.
connection = config.attributes.get("connection")


def run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        include_object=include_object,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    run(connection)
else:
    engine = create_engine(Settings().sqlalchemy_url, poolclass=pool.NullPool)
    with engine.connect() as conn:
        run(conn)
