"""Storing under the version number the documents already carry."""

from __future__ import annotations

import pytest

from retroflow.model import Retro
from retroflow.store import Store
from retroflow.store.store import VersionTaken


def test_a_build_is_stored_under_the_version_it_was_given(store: Store, retro: Retro) -> None:
    assert store.next_version("INC-1") == 1
    assert store.save_retro(retro, "INC-1", version=1) == 1
    assert store.retro("INC-1").version == 1
    assert store.next_version("INC-1") == 2


def test_a_version_another_build_took_is_refused_and_nothing_is_stored(store: Store, retro: Retro) -> None:
    store.save_retro(retro, "INC-1")
    with pytest.raises(VersionTaken, match="version 1 of INC-1 was stored by another build"):
        store.save_retro(retro, "INC-1", version=1)
    assert [v.version for v in store.versions("INC-1")] == [1]
    assert store.save_retro(retro, "INC-1", version=2) == 2
