from __future__ import annotations

from typing import Any

import pytest

from tests.credits.conftest import Setup


@pytest.fixture
def setup(api: Any, database: Any) -> Setup:
    return Setup(api, database)
