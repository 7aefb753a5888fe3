"""Settings refuse values that would mean no bound, or one no request should have."""

import pytest
from pydantic import ValidationError

from app.config import Settings


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("read_statement_timeout_s", 0),
        ("read_statement_timeout_s", -1),
        ("read_statement_timeout_s", 301),
        ("read_statement_timeout_s", "never"),
        ("statement_timeout_s", 0),
        ("statement_timeout_s", 3601),
        ("export_statement_timeout_s", 0),
        ("export_statement_timeout_s", float("inf")),
    ],
)
def test_statement_timeouts_refuse_nonsense(name, value):
    with pytest.raises(ValidationError, match=name):
        Settings(**{name: value})


def test_statement_timeouts_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("RF_READ_STATEMENT_TIMEOUT_S", "2.5")
    monkeypatch.setenv("RF_STATEMENT_TIMEOUT_S", "60")
    monkeypatch.setenv("RF_EXPORT_STATEMENT_TIMEOUT_S", "600")
    settings = Settings()
    assert (
        settings.read_statement_timeout_s,
        settings.statement_timeout_s,
        settings.export_statement_timeout_s,
    ) == (2.5, 60, 600)
