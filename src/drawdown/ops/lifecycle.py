"""Graceful shutdown: on SIGTERM the server first says it is draining (``/readyz`` answers
503, so a load balancer stops sending), waits ``DRAWDOWN_SHUTDOWN_DRAIN_DELAY_S``, then
hands the signal to uvicorn, which stops accepting connections, lets in-flight requests
finish (at most ``DRAWDOWN_SHUTDOWN_TIMEOUT_S``) and runs the app's shutdown: the clock
thread finishes its pass, the pool closes.

The handler wraps uvicorn's own; it is installed from the app's startup, which uvicorn runs
in the main thread after installing its handlers. Elsewhere (a test client in a thread)
nothing is installed and draining only happens through :meth:`Lifecycle.drain`."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Any

__all__ = ["Lifecycle"]

log = logging.getLogger("drawdown.lifecycle")


class Lifecycle:
    def __init__(self, drain_delay_s: float) -> None:
        self.drain_delay_s = drain_delay_s
        self._draining = threading.Event()
        self._previous: Any = None

    @property
    def draining(self) -> bool:
        return self._draining.is_set()

    def drain(self) -> None:
        self._draining.set()

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        previous = signal.getsignal(signal.SIGTERM)
        if not callable(previous):
            return  # not under uvicorn: keep the default behaviour
        self._previous = previous
        signal.signal(signal.SIGTERM, self._on_sigterm)

    def _on_sigterm(self, sig: int, frame: FrameType | None) -> None:
        if self.draining:
            self._previous(sig, frame)  # a second SIGTERM: stop now
            return
        self.drain()
        log.info("SIGTERM: draining", extra={"drain_delay_s": self.drain_delay_s})
        if self.drain_delay_s <= 0:
            self._previous(sig, frame)
            return
        timer = threading.Timer(self.drain_delay_s, self._previous, (sig, frame))
        timer.daemon = True
        timer.start()
