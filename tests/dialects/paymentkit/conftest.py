from __future__ import annotations

from typing import Any

import pytest

BASE = "/paymentkit/api"


@pytest.fixture
def pk(api: Any) -> Any:
    """A test-mode key's client; Payment Kit paths are under ``BASE``."""
    return api
