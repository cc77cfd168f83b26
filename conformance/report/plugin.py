"""Reporting plugin (placeholder until the reports land)."""
