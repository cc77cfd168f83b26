"""Occasions: work on a connection of its own that several checks of a revision judge,
started ahead of them. One so far: the tool exercise (scenarios/tools.py).

Such work mostly waits: for a slow tool's first progress, for a call's answer. Made by
the first check that needs it, it adds its waits to the run; started on a thread when the
revision's shared connection opens (Target.run_ahead), it waits while the checks before
its first user run. The verdicts are those of a serial run: the work acts for that first
user (what it meets, that check met), uses only a connection of its own, and its results
are judged by the same checks in the same order. A thread, not an xdist worker or a
process: the work shares the run's Target (its blocks, its ledger), and what it does is
wait on sockets and pipes.

Work that judges silence in wall time is not run ahead: the client-capability exchanges
give up a call once the server has been silent for timeout/25 s, and beside other work on
a loaded machine a busy server looked silent (an InputRequiredResult arrived after its
call was given up, and the checks that judge it were skipped).

A check states the occasions it uses with `uses(name)`; a scenario module registers how to
start each one with `@occasion(name)`. Only the occasions a selected check of the revision
uses are started."""

from __future__ import annotations

from collections.abc import Callable

import pytest

MARK = "mcp_occasion"
STARTERS: dict[str, Callable] = {}  # name -> start(target, shared, revision, acting_for)


def occasion(name: str):
    """Register the starter of occasion `name`: start(target, shared, revision, acting_for)
    calls target.run_ahead(...) or does nothing (then the first user makes it itself)."""

    def register(start: Callable) -> Callable:
        STARTERS[name] = start
        return start

    return register


def uses(name: str):
    """Mark a check as judging occasion `name`."""
    return getattr(pytest.mark, MARK)(name)


def start_ahead(target, shared, revision: str, items: list) -> None:
    """Once per revision: start every occasion that a selected check of `revision` uses,
    acting for the first of those checks in run order. Not for a revision already blocked
    (its checks end BLOCKED at once; a starter's listing would wait out a timeout)."""
    started = target.__dict__.setdefault("_conformance_occasions_started", set())
    if revision in started or revision in target.blocks:
        return
    started.add(revision)
    first_user: dict[str, str] = {}
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is None or callspec.params.get("revision") != revision:
            continue
        for mark in item.iter_markers(MARK):
            first_user.setdefault(mark.args[0], getattr(item, "originalname", item.name))
    for name, check in first_user.items():
        if name in STARTERS:
            STARTERS[name](target, shared, revision, check)
