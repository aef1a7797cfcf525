"""Opening the store to read never creates it, on either database."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from retroflow.model import Retro
from retroflow.store import NothingStored, open_store
from retroflow.store.database import make_engine, missing_sqlite_file


def _tables(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        return sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_reading_an_empty_database_creates_nothing(db_url: str) -> None:
    with pytest.raises(NothingStored, match="nothing is stored yet in"):
        open_store(db_url, create=False)
    if db_url.startswith("sqlite"):
        assert missing_sqlite_file(db_url), "no SQLite file was created"
    else:
        assert _tables(db_url) == [], "no table was created"


def test_once_something_is_stored_reading_opens_it(db_url: str, retro: Retro) -> None:
    with open_store(db_url) as store:
        store.save_retro(retro, "INC-1")
    with open_store(db_url, create=False) as store:
        assert [s.incident_id for s in store.list_retros()] == ["INC-1"]
