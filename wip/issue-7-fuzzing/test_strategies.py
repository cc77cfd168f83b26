"""Messages generated from the schemas (conformance.strategies) are valid for their revision."""

import pytest
from hypothesis import HealthCheck, given, settings

from conformance import jsonrpc, schema, strategies, wire


@pytest.mark.parametrize("revision", ["2024-11-05", "2025-11-25", "2026-07-28"])
def test_generated_client_messages_validate(revision):
    rev_schema = schema.load(revision)

    @settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(strategies.client_messages(rev_schema))
    def check(message):
        decoded = jsonrpc.classify(message, jsonrpc.encode(message))
        assert wire.validate(rev_schema, decoded) == [], message

    check()
