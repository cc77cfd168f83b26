"""Pinned official schemas: manifest.json (installed as conformance.pinned)."""
