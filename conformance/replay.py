"""Fuzz transcripts: the minimal failing message sequence of a fuzz check, as JSON lines,
written when the check fails and re-run with `--mcp-replay FILE`.

Line 1 is a header {"check", "revision", "seed"}; every further line is one step sent, in
order: {"send": <message>} (one JSON message) or {"raw": <base64>} (bytes exactly as sent,
malformed input included, with "ids": the request ids a server can read from them, if
any), with "answer": true when the check required a response to it.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

DIRECTORY = "mcp-fuzz-failures"  # under the current directory, written only when a fuzz check fails


def send_step(message: Any, answer: bool = False) -> dict:
    return {"send": message, "answer": answer}


def raw_step(data: bytes, answer: bool = False, ids=()) -> dict:
    step = {"raw": base64.b64encode(data).decode(), "answer": answer}
    if ids:
        step["ids"] = list(ids)
    return step


def step_bytes(step: dict) -> bytes:
    return base64.b64decode(step["raw"])


def save(check: str, revision: str, seed: Any, steps: list[dict], directory: str | os.PathLike | None = None) -> Path:
    folder = Path(directory or DIRECTORY)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{check}-{revision}-{seed}.jsonl"
    lines = [{"check": check, "revision": revision, "seed": seed}, *steps]
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    return path.resolve()


class NotATranscript(ValueError):
    pass


class Header(BaseModel):
    """Line 1 of a transcript."""

    model_config = ConfigDict(extra="allow")

    check: str
    revision: str
    seed: Any = None


class Step(BaseModel):
    """Every further line: one message (send) or bytes (raw, base64) sent."""

    model_config = ConfigDict(extra="forbid")

    send: Any = None
    raw: str | None = None
    answer: bool = False
    ids: list[str | int] | None = None

    @model_validator(mode="after")
    def one_of_send_or_raw(self) -> Step:
        if ("send" in self.model_fields_set) == ("raw" in self.model_fields_set):
            raise ValueError("a step holds either send or raw")
        if self.raw is not None:
            base64.b64decode(self.raw, validate=True)  # binascii.Error is a ValueError
        return self


def load(path: str | os.PathLike) -> tuple[dict, list[dict]]:
    """(header, steps) of a transcript, each line read through its model; NotATranscript
    says what is wrong with the file, and on which line."""
    try:
        lines = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, ValueError) as error:
        raise NotATranscript(f"cannot read fuzz transcript {path}: {error}") from None
    if not lines:
        raise NotATranscript(f"{path} is not a fuzz transcript (no header line with check and revision)")
    try:
        header = Header.model_validate(lines[0])
    except ValidationError as error:
        raise NotATranscript(
            f"{path} is not a fuzz transcript (no header line with check and revision: {_first(error)})"
        ) from None
    steps = []
    for number, line in enumerate(lines[1:], 2):
        try:
            steps.append(Step.model_validate(line).model_dump(exclude_unset=True))
        except ValidationError as error:
            raise NotATranscript(f"{path}, line {number}: not a send or raw step: {_first(error)}") from None
    return header.model_dump(), steps


def _first(error: ValidationError) -> str:
    problem = error.errors()[0]
    where = ".".join(str(part) for part in problem["loc"])
    return f"{where}: {problem['msg']}" if where else problem["msg"]


def describe(steps: list[dict], limit: int = 400) -> str:
    out = []
    for number, step in enumerate(steps, 1):
        text = (
            json.dumps(step["send"], ensure_ascii=False) if "send" in step else f"raw bytes {step_bytes(step)[:200]!r}"
        )
        text = text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"
        out.append(f"  {number}. {text}" + ("  (a response is required)" if step.get("answer") else ""))
    return "\n".join(out) or "  (none)"
