"""drawdown: usage metering and prepaid-credit billing.

``import drawdown`` gives the Python SDK (:class:`drawdown.Client`,
:class:`drawdown.AsyncClient`, typed results and errors); it needs only httpx and pydantic.
The server lives in submodules (``drawdown.app``, ...) that need the ``server`` extra."""

from __future__ import annotations

from drawdown.sdk import *  # noqa: F403
from drawdown.sdk import __all__ as _sdk_all

__version__ = "0.1.0"

__all__ = [*_sdk_all, "__version__"]
