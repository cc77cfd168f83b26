"""A parser for WWW-Authenticate header values (RFC 7235 §2.1 and §4.1, RFC 6750 §3).

    challenge  = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
    auth-param = token BWS "=" BWS ( token / quoted-string )

A header value is a comma-separated list of challenges, and a challenge's auth-params are
comma-separated too, so after a comma the parser looks ahead: `token BWS "="` continues the
current challenge, anything else starts the next one. Repeated headers joined with ", " (as
httpx joins them) are one such list. The same grammar parses an Authorization header.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TCHAR = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]"
TOKEN = re.compile(_TCHAR + "+")
TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
PARAM_START = re.compile(_TCHAR + r"+[ \t]*=")  # token BWS "=": an auth-param, not a scheme
SPACES = re.compile(r" +")
EQUALS = re.compile(r"=")
OWS = re.compile(r"[ \t]*")
SEPARATORS = re.compile(r"[ \t,]*")  # list syntax allows empty elements: "a, , b"


class MalformedChallenge(ValueError):
    """A header value outside the grammar; the message says what is wrong and where."""


@dataclass(frozen=True)
class Challenge:
    scheme: str  # as sent
    params: dict[str, str] = field(default_factory=dict)  # names lower-cased, values unquoted
    token68: str | None = None

    @property
    def is_bearer(self) -> bool:
        return self.scheme.lower() == "bearer"


def parse_challenges(value: str) -> list[Challenge]:
    return _Parser(value).challenges()


def bearer(value: str | None) -> Challenge | None:
    """The first Bearer challenge of a header value; None when absent or malformed."""
    if value is None:
        return None
    try:
        return next((c for c in parse_challenges(value) if c.is_bearer), None)
    except MalformedChallenge:
        return None


def _quoted_char_ok(c: str) -> bool:
    # qdtext and quoted-pair: HTAB, SP, visible ASCII, obs-text; never other controls
    return c == "\t" or " " <= c <= "~" or c >= "\x80"


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0

    def fail(self, what: str, pos: int | None = None):
        where = self.pos if pos is None else pos
        shown = self.text if len(self.text) <= 200 else self.text[:200] + "..."
        raise MalformedChallenge(f"{what} at position {where} of {shown!r}")

    def match(self, pattern: re.Pattern) -> str | None:
        found = pattern.match(self.text, self.pos)
        if found is None:
            return None
        self.pos = found.end()
        return found.group()

    def at_list_end(self) -> bool:
        """At the end of the value or of a list element (OWS skipped)."""
        self.match(OWS)
        return self.pos == len(self.text) or self.text[self.pos] == ","

    def challenges(self) -> list[Challenge]:
        found = []
        self.match(SEPARATORS)
        if self.pos == len(self.text):
            self.fail("no challenge")
        while self.pos < len(self.text):
            found.append(self.challenge())
            self.match(SEPARATORS)
        return found

    def challenge(self) -> Challenge:
        scheme = self.match(TOKEN) or self.fail("expected an auth-scheme")
        after_scheme = self.pos
        spaced = self.match(SPACES) is not None
        if self.at_list_end():
            return Challenge(scheme)
        if not spaced:
            self.fail(f"expected a space after the auth-scheme {scheme!r}", after_scheme)
        start = self.pos
        token68 = self.match(TOKEN68)
        if token68 is not None and self.at_list_end():
            return Challenge(scheme, {}, token68)
        self.pos = start
        return Challenge(scheme, self.params())

    def params(self) -> dict[str, str]:
        params: dict[str, str] = {}
        while True:
            start = self.pos
            name = self.match(TOKEN) or self.fail("expected an auth-param name")
            self.match(OWS)
            if self.match(EQUALS) is None:
                self.fail(f"expected '=' after the auth-param name {name!r}")
            self.match(OWS)
            value = self.quoted() if self.text.startswith('"', self.pos) else self.match(TOKEN)
            if value is None:
                self.fail(f"expected a token or a quoted string as the value of {name!r}")
            if name.lower() in params:
                self.fail(f"auth-param {name!r} repeated in one challenge", start)
            params[name.lower()] = value
            if not self.at_list_end():
                self.fail(f"expected ',' after the value of {name!r}")
            comma = self.pos
            self.match(SEPARATORS)
            if PARAM_START.match(self.text, self.pos) is None:
                self.pos = comma  # end of value, or the next challenge begins
                return params

    def quoted(self) -> str:
        start, text, out = self.pos, self.text, []
        i = start + 1
        while i < len(text):
            c = text[i]
            if c == '"':
                self.pos = i + 1
                return "".join(out)
            if c == "\\" and i + 1 < len(text):
                i, c = i + 1, text[i + 1]  # a quoted-pair stands for its second character
            if not _quoted_char_ok(c):
                self.fail(f"character {c!r} not allowed in a quoted string", i)
            out.append(c)
            i += 1
        self.fail("unterminated quoted string", start)
