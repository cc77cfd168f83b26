"""Fuzz transcripts: the minimal failing message sequence of a fuzz check as JSON lines,
written when the check fails and re-run with `--mcp-replay FILE`.

Line 1 is a header {"check", "revision", "seed"}; every further line is one step:
{"send": <message>} (a JSON message, sent as one line) or {"raw": <base64>} (bytes sent as
given, malformed input included).
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

DIRECTORY = "mcp-fuzz-failures"


def step_send(obj: Any) -> dict:
    return {"send": obj}


def step_raw(data: bytes) -> dict:
    return {"raw": base64.b64encode(data).decode()}


def raw_bytes(step: dict) -> bytes:
    return base64.b64decode(step["raw"])


def save(check: str, revision: str, seed: Any, steps: list[dict], directory: str | os.PathLike | None = None) -> Path:
    folder = Path(directory or DIRECTORY)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{check}-{revision}-{seed}.jsonl"
    with path.open("w", encoding="utf-8") as out:
        out.write(json.dumps({"check": check, "revision": revision, "seed": seed}) + "\n")
        for step in steps:
            out.write(json.dumps(step, ensure_ascii=False) + "\n")
    return path.resolve()


def load(path: str | os.PathLike) -> tuple[dict, list[dict]]:
    lines = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    if not lines or "check" not in lines[0]:
        raise ValueError(f"{path} is not a fuzz transcript (no header line)")
    return lines[0], lines[1:]


def describe(steps: list[dict], limit: int = 400) -> str:
    out = []
    for number, step in enumerate(steps, 1):
        text = json.dumps(step["send"], ensure_ascii=False) if "send" in step else f"raw bytes {raw_bytes(step)[:200]!r}"
        out.append(f"  {number}. {text if len(text) <= limit else text[:limit] + '...'}")
    return "\n".join(out)
