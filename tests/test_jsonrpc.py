"""The sans-IO core: decoding, classification, envelope rules, framing."""

import pytest

from conformance import jsonrpc
from conformance.jsonrpc import Kind, LineFramer, OversizedLine


@pytest.mark.parametrize(
    "raw, kind",
    [
        (b'{"jsonrpc":"2.0","id":1,"method":"ping"}', Kind.REQUEST),
        (b'{"jsonrpc":"2.0","method":"notifications/initialized"}', Kind.NOTIFICATION),
        (b'{"jsonrpc":"2.0","id":1,"result":{}}', Kind.RESULT),
        (b'{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}', Kind.ERROR),
        (b'[{"jsonrpc":"2.0","id":1,"method":"ping"}]', Kind.BATCH),
        (b'{"jsonrpc":"2.0","id":1,"method":42}', Kind.INVALID),
        (b'{"foo":"bar"}', Kind.INVALID),
        (b'"just a string"', Kind.INVALID),
        (b'{"jsonrpc": "2.0", "id": 1', Kind.NOT_JSON),
        (b"\xff\xfe", Kind.NOT_JSON),
        (b'{"jsonrpc":"2.0","id":1,"result":NaN}', Kind.NOT_JSON),
    ],
)
def test_classification(raw, kind):
    assert jsonrpc.decode(raw).kind is kind


@pytest.mark.parametrize(
    "obj, problem",
    [
        ({"jsonrpc": "1.0", "id": 1, "result": {}}, '"jsonrpc" must be "2.0"'),
        ({"jsonrpc": "2.0", "id": 1.5, "method": "ping"}, "string or an integer"),
        ({"jsonrpc": "2.0", "id": True, "method": "ping"}, "string or an integer"),
        ({"jsonrpc": "2.0", "id": None, "method": "ping"}, "string or an integer"),
        ({"jsonrpc": "2.0", "id": 1, "result": {}, "error": {"code": 1, "message": "x"}}, "exactly one"),
        ({"jsonrpc": "2.0", "id": 1}, "exactly one"),
        ({"jsonrpc": "2.0", "id": 1, "error": {"code": "-32601", "message": "x"}}, "integer"),
        ({"jsonrpc": "2.0", "id": 1, "error": {"code": -1}}, '"message" must be a string'),
        ({"jsonrpc": "2.0", "id": 1, "result": []}, '"result" must be an object'),
        ({"jsonrpc": "2.0", "id": None, "result": {}}, "must carry the id"),
        ({"jsonrpc": "2.0", "method": "x", "params": [1]}, '"params" must be an object'),
    ],
)
def test_envelope_problems(obj, problem):
    problems = jsonrpc.envelope_problems(obj)
    assert any(problem in p for p in problems), problems


def test_valid_envelopes_have_no_problems():
    for obj in (
        jsonrpc.request(1, "ping"),
        jsonrpc.notification("n", {}),
        jsonrpc.result("a", {}),
        jsonrpc.error(None, -32700, "Parse error"),
    ):
        assert jsonrpc.envelope_problems(obj) == []


def test_same_id_compares_type_and_value():
    assert jsonrpc.same_id(1, 1)
    assert not jsonrpc.same_id(1, "1")
    assert not jsonrpc.same_id(1, 1.0)
    assert not jsonrpc.same_id(1, True)


def test_encode_never_embeds_newlines():
    data = jsonrpc.encode({"text": "line one\nline two", "u": "\u03a9"})
    assert b"\n" not in data
    assert jsonrpc.decode(data).obj == {"text": "line one\nline two", "u": "\u03a9"}


def test_framer_splits_lines_across_chunks():
    framer = LineFramer()
    assert list(framer.feed(b'{"a":1}\n{"b"')) == [b'{"a":1}']
    assert list(framer.feed(b":2}\r\n")) == [b'{"b":2}']
    assert framer.pending() == b""


def test_framer_cuts_an_endless_line():
    framer = LineFramer(max_line=10)
    out = list(framer.feed(b"x" * 25))
    assert len(out) == 1 and isinstance(out[0], OversizedLine)
    assert list(framer.feed(b"yyy\nok\n")) == [b"ok"]  # the rest of the long line is dropped


def test_id_sequence_never_repeats():
    ids = jsonrpc.IdSequence()
    assert len({ids() for _ in range(100)}) == 100
