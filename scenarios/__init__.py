"""Conformance checks, one module per spec area (installed as conformance.scenarios)."""
