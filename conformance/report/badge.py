"""badge.svg (a shields-style flat badge) and badge.json (the shields.io endpoint format):
"MCP <revision>" | "<MUST pass rate>%", coloured by grade; "suite error" when the suite
itself failed (any INTERNAL), "not tested" when no check was graded. The rate counts only
graded checks: BLOCKED and INTERNAL are never passes."""

from __future__ import annotations

from html import escape

from .model import badge_totals, grade_label

COLOURS = {
    "brightgreen": "#4c1",
    "green": "#97ca00",
    "yellow": "#dfb317",
    "orange": "#fe7d37",
    "red": "#e05d44",
    "lightgrey": "#9f9f9f",
}
# Approximate advance widths of Verdana 11px (what shields uses), enough to size the boxes.
WIDTHS = {**dict.fromkeys("0123456789", 7.0), **dict.fromkeys(" .:,;!|il", 3.6), "%": 11.9, "-": 4.7, "/": 4.9}


def grade(rate: float | None, warnings: int) -> str:
    if rate is None:
        return "lightgrey"
    if rate == 100:
        return "green" if warnings else "brightgreen"
    return "yellow" if rate >= 90 else "orange" if rate >= 75 else "red"


def message(data: dict, rate: float | None) -> str:
    if any(c["outcome"] == "INTERNAL" for c in data["checks"]):
        return "suite error"  # the grade may be wrong: the suite, not the implementation, broke
    return "not tested" if rate is None else f"{rate:g}%"


def endpoint(data: dict) -> dict:
    revision, totals = badge_totals(data)
    rate = totals["mustPassRate"]
    text = message(data, rate)
    colour = "lightgrey" if text == "suite error" else grade(rate, totals["WARN"])
    return {"schemaVersion": 1, "label": grade_label(data, revision), "message": text, "color": colour}


def text_width(text: str) -> float:
    return sum(WIDTHS.get(ch, 7.5 if ch.isupper() else 6.2) for ch in text)


def svg(data: dict) -> str:
    badge = endpoint(data)
    label, message = badge["label"], badge["message"]
    left, right = round(text_width(label) + 10), round(text_width(message) + 10)
    width, colour = left + right, COLOURS[badge["color"]]
    label_x, message_x = left / 2, left + right / 2
    texts = "".join(
        f'<text x="{x}" y="15" fill="#010101" fill-opacity=".3">{escape(t)}</text>'  # the shadow
        f'<text x="{x}" y="14">{escape(t)}</text>'
        for x, t in ((label_x, label), (message_x, message))
    )
    title = escape(f"{label}: {message}")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" aria-label="{title}">'
        f"<title>{title}</title>"
        '<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/>'
        '<stop offset="1" stop-opacity=".1"/></linearGradient>'
        f'<clipPath id="r"><rect width="{width}" height="20" rx="3" fill="#fff"/></clipPath>'
        f'<g clip-path="url(#r)"><rect width="{left}" height="20" fill="#555"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{colour}"/>'
        f'<rect width="{width}" height="20" fill="url(#s)"/></g>'
        '<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" '
        f'font-size="11">{texts}</g></svg>\n'
    )
