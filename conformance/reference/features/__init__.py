"""Feature modules of the reference server, found automatically.

Each module defines `Feature` (a subclass of `ReferenceFeature`) and `FAULTS` (a dict of
fault name -> `Fault`). The server instantiates every feature, declares its capability
and routes its methods to it; `reference.faults` merges every module's faults.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..server import ReferenceServer


class ReferenceFeature:
    """One server feature: its capability, its request handlers, its notifications."""

    capability_name: str | None = None  # key in ServerCapabilities, e.g. "tools"

    def __init__(self, server: ReferenceServer):
        self.server = server

    def capability(self) -> dict | None:
        """The capability object to declare, or None to declare nothing."""
        return {} if self.capability_name else None

    def handlers(self) -> dict[str, Callable[[Any], list[dict]]]:
        """method -> handler(message) returning the messages to send back."""
        return {}

    def on_notification(self, message) -> list[dict]:
        return []

    def offered_tools(self) -> list[dict]:
        """Tools this feature adds to tools/list (served by the tools feature's call_tool routing)."""
        return []

    def call_tool(self, message) -> list[dict]:
        """Answer tools/call for one of `offered_tools()`."""
        raise NotImplementedError

    def on_response(self, message) -> list[dict]:
        """A response from the client (to a request some feature sent); [] if not ours."""
        return []

    def tick_every(self, seconds: float, name: str, tick: Callable[[], None]) -> None:
        """Start (once per feature) a daemon thread calling `tick` every `seconds`, until an
        emit fails because the client has gone."""
        if getattr(self, "_ticker", None) is None:
            self._ticker = threading.Thread(target=_ticking, args=(seconds, tick), name=name, daemon=True)
            self._ticker.start()


def _ticking(seconds: float, tick: Callable[[], None]) -> None:
    while True:
        time.sleep(seconds)
        try:
            tick()
        except (OSError, ValueError):
            return  # the client has gone


def modules():
    return [
        importlib.import_module(f"{__name__}.{info.name}")
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name)
        if not info.name.startswith("_")
    ]
