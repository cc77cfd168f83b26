"""The pure helpers of the authorization checks (conformance.scenarios.authorization):
URL comparisons, the metadata and challenge judgements, the discovery URLs."""

import pytest
from conformance.scenarios.authorization import (
    as_metadata_urls,
    challenge_problem,
    insufficient_scope_gaps,
    metadata_problems,
    offline_access_places,
    resource_matches,
    unwarranted_trailing_slash,
    with_query,
)

from conformance.auth.setup import absolute_http_url, json_object

ENDPOINT = "http://127.0.0.1:8000/mcp"
GOOD = {"resource": ENDPOINT, "authorization_servers": ["http://127.0.0.1:9000"]}


@pytest.mark.parametrize(
    "value, expected",
    [
        ("https://as.example.com", True),
        ("http://127.0.0.1:9000/tenant", True),
        ("/.well-known/oauth-protected-resource", False),
        ("as.example.com", False),
        ("ftp://as.example.com", False),
        ("https://as.example.com/#frag", False),
        (None, False),
        (42, False),
        ("", False),
    ],
)
def test_absolute_http_url(value, expected):
    assert absolute_http_url(value) is expected


@pytest.mark.parametrize(
    "resource, endpoint, expected",
    [
        (ENDPOINT, ENDPOINT, True),
        ("http://127.0.0.1:8000/mcp/", ENDPOINT, False),  # a trailing slash off the root is another URL
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000/", True),  # at the root "" and "/" are one URL
        ("http://127.0.0.1:8000/", "http://127.0.0.1:8000", True),
        ("HTTP://127.0.0.1:8000/mcp", ENDPOINT, False),  # RFC 9728 §3.3: identical, no normalisation
        ("http://127.0.0.1:8000/other", ENDPOINT, False),
        ("http://127.0.0.1:8001", "http://127.0.0.1:8000/", False),
        (None, ENDPOINT, False),
    ],
)
def test_resource_matches(resource, endpoint, expected):
    assert resource_matches(resource, endpoint) is expected


@pytest.mark.parametrize(
    "resource, endpoint, expected",
    [
        ("http://h:1/mcp/", "http://h:1/mcp", True),
        ("http://h:1/mcp", "http://h:1/mcp", False),
        ("http://h:1/mcp/", "http://h:1/mcp/", False),
        ("http://h:1/", "http://h:1", True),
        ("http://h:1", "http://h:1", False),
        ("http://h:1/", "http://h:1/", False),
        (None, "http://h:1", False),
    ],
)
def test_unwarranted_trailing_slash(resource, endpoint, expected):
    assert unwarranted_trailing_slash(resource, endpoint) is expected


def test_good_metadata_has_no_problem():
    assert metadata_problems(GOOD, "application/json", ENDPOINT) == []


@pytest.mark.parametrize(
    "change, content_type, words",
    [
        ({}, "text/html", "not application/json"),
        ({}, "", "(no Content-Type)"),
        ({"resource": ENDPOINT + "/"}, "application/json", "not identical"),
        ({"resource": None}, "application/json", "its resource is None"),
        ({"authorization_servers": []}, "application/json", "at least one"),
        ({"authorization_servers": "http://as"}, "application/json", "at least one"),
        ({"authorization_servers": ["as.example.com"]}, "application/json", "not absolute"),
    ],
)
def test_metadata_problems(change, content_type, words):
    problems = metadata_problems({**GOOD, **change}, content_type, ENDPOINT)
    assert len(problems) == 1 and words in problems[0]


def test_metadata_without_anything_lists_each_problem():
    assert len(metadata_problems({}, "text/plain", ENDPOINT)) == 3


@pytest.mark.parametrize(
    "value, words",
    [
        ('Bearer resource_metadata="http://h/.well-known/oauth-protected-resource", scope="a b"', None),
        ("Bearer", None),
        ('Basic realm="x", Bearer error="invalid_token"', None),
        (None, "no WWW-Authenticate"),
        ('Basic realm="mcp"', "no Bearer challenge"),
        ('Bearer error="unterminated', "does not parse"),
    ],
)
def test_challenge_problem(value, words):
    problem = challenge_problem(value)
    assert (problem is None) if words is None else (words in problem)


def test_insufficient_scope_gaps():
    full = 'Bearer error="insufficient_scope", scope="a b", resource_metadata="http://h/m"'
    assert insufficient_scope_gaps(full) == []
    assert insufficient_scope_gaps('Bearer error="insufficient_scope", scope="a"') == ["resource_metadata"]
    assert insufficient_scope_gaps('Bearer error="insufficient_scope", scope="a"', resource_metadata=False) == []
    assert len(insufficient_scope_gaps('Bearer error="invalid_token"')) == 3
    assert insufficient_scope_gaps(None) == ["a WWW-Authenticate header"]
    assert "Bearer challenge" in insufficient_scope_gaps('Basic realm="x"')[0]
    assert insufficient_scope_gaps('Bearer error="insufficient_scope", scope=" ", resource_metadata="x"') == [
        "scope (the scopes the request needs)"
    ]


def test_offline_access_places():
    assert offline_access_places("a offline_access", ["a", "offline_access"]) == [
        "the 401 challenge's scope",
        "scopes_supported of the resource metadata",
    ]
    assert offline_access_places("a offline_access_b", ["a"]) == []  # whole scope tokens only
    assert offline_access_places(None, None) == []
    assert offline_access_places(None, "offline_access") == []  # not a list: nothing listed


def test_as_metadata_urls_without_a_path():
    expected = [
        "https://as.example.com/.well-known/oauth-authorization-server",
        "https://as.example.com/.well-known/openid-configuration",
    ]
    assert as_metadata_urls("https://as.example.com") == expected
    assert as_metadata_urls("https://as.example.com/") == expected


def test_as_metadata_urls_with_a_path_insert_first():
    assert as_metadata_urls("https://as.example.com/tenant1/") == [
        "https://as.example.com/.well-known/oauth-authorization-server/tenant1",
        "https://as.example.com/.well-known/openid-configuration/tenant1",
        "https://as.example.com/tenant1/.well-known/openid-configuration",
    ]


def test_with_query_keeps_the_query_there_is():
    assert with_query("http://h/mcp", "access_token", "a.b-c") == "http://h/mcp?access_token=a.b-c"
    assert with_query("http://h/mcp?x=1", "access_token", "t") == "http://h/mcp?x=1&access_token=t"


@pytest.mark.parametrize(
    "status, content, expected",
    [
        (200, b'{"resource": "x"}', {"resource": "x"}),
        (200, b"[1]", None),
        (200, b"<html>", None),
        (404, b"{}", None),
        (None, b"", None),
        (200, b"\xff", None),
    ],
)
def test_json_object(status, content, expected):
    assert json_object(status, content) == expected
