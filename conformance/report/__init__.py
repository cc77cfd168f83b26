"""Reports of a conformance run: report.json (the data, described by report.schema.json),
report.html, summary.md, badge.svg / badge.json, and a matrix page across implementations.

Everything is rendered from the report.json data, so a report can be re-rendered or
merged (matrix) without rerunning the suite.
"""

from __future__ import annotations

# BLOCKED and INTERNAL were not graded: BLOCKED, another check's finding stood in the way;
# INTERNAL, the suite itself raised (a bug of mcp-conformance, not of the implementation).
OUTCOMES = ("PASS", "WARN", "INFO", "SKIP", "BLOCKED", "FAIL", "INTERNAL")
