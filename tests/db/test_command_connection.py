"""db.session: the connections of the `rf` commands, made as the API's."""

import pytest
from sqlalchemy import text

from app.db.session import command_connection


@pytest.mark.parametrize("pgbouncer", [False, True])
def test_a_commands_connection_is_utf8_and_behind_pgbouncer_sends_no_options(
    settings, monkeypatch, pgbouncer
):
    # libpq takes PGCLIENTENCODING (as a role's default) over the server's encoding;
    # pgbouncer in transaction mode refuses startup options (connect_args).
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("PGCLIENTENCODING", "GBK")
    monkeypatch.setenv("RF_DB_PGBOUNCER", "1" if pgbouncer else "0")
    with command_connection(temp_buffers="24MB") as connection:
        sent = connection.connection.dbapi_connection.info.get_parameters()
        assert connection.execute(text("SHOW client_encoding")).scalar() == "UTF8"
        name = connection.execute(text("SELECT '天鹅湖人防车库'")).scalar()
        temp_buffers = connection.execute(
            text("SELECT current_setting(name), source FROM pg_settings WHERE name = :name"),
            {"name": "temp_buffers"},
        ).one()
    assert name == "天鹅湖人防车库"
    if pgbouncer:
        assert "options" not in sent and temp_buffers.source != "client"
    else:
        assert sent["options"] == "-c temp_buffers=24MB"
        assert tuple(temp_buffers) == ("24MB", "client")
