"""Transports move bytes and framed messages; they know nothing of MCP."""

from .base import Inbound, ServerStartError, TransportClosed, TransportError, TransportStalled, TransportTimeout
from .stdio import StdioTransport, close_all

__all__ = [
    "Inbound",
    "ServerStartError",
    "StdioTransport",
    "TransportClosed",
    "TransportError",
    "TransportStalled",
    "TransportTimeout",
    "close_all",
]
