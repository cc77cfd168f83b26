"""Requirement catalogue data: one TSV per revision."""
