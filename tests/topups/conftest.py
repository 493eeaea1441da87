from __future__ import annotations

from typing import Any

import pytest

from tests.credits.conftest import Setup, ledger_checked

__all__ = ["ledger_checked", "setup"]


@pytest.fixture
def setup(api: Any, database: Any) -> Setup:
    return Setup(api, database)
