"""Injected failure rules of the simulated gateway (`FakeGateway.fail_submit`, `fail_tasks`,
`drop_submit_answer`): what each rule holds, how its route and count are checked, and how a
request uses one up."""

from __future__ import annotations

from typing import Literal, Protocol, TypeVar

import attrs

__all__ = [
    "LostAnswer",
    "LostMode",
    "SubmitFailure",
    "TaskFailure",
    "check_rule",
    "take_rule",
]

LostMode = Literal["disconnect", "hang"]


@attrs.define
class SubmitFailure:
    """A `FakeGateway.fail_submit` rule still waiting for requests to refuse."""

    route: str | None
    status: int | None
    code: int | None
    message: str | None
    remaining: int


@attrs.define
class LostAnswer:
    """A `FakeGateway.drop_submit_answer` rule still waiting for submits."""

    route: str | None
    mode: LostMode
    remaining: int


@attrs.define
class TaskFailure:
    """A `FakeGateway.fail_tasks` rule still waiting for tasks to fail."""

    route: str | None
    code: int
    message: str | None
    remaining: int


class _Rule(Protocol):
    route: str | None
    remaining: int


_R = TypeVar("_R", bound=_Rule)


def check_rule(route: str | None, times: int, routes: tuple[str, ...], what: str) -> None:
    """Check a new rule's `route` (one of `routes`, or ``None`` for any) and `times`.

    Args:
        route: The route the rule applies to.
        times: How many requests or tasks the rule applies to.
        routes: The routes allowed.
        what: How the error message names the routes (``"route"``, ``"task route"``).

    Raises:
        ValueError: For an unknown route or a `times` below 1.
    """
    if route is not None and route not in routes:
        raise ValueError(f"unknown {what} {route!r}; expected one of {routes}")
    if times < 1:
        raise ValueError("times must be at least 1")


def take_rule(rules: list[_R], route: str) -> _R | None:
    """Use up one turn of the oldest rule that applies to `route`, or return ``None``.

    A rule is removed once its turns are spent, so the next one in line applies after it.
    """
    for rule in rules:
        if rule.route in (None, route):
            rule.remaining -= 1
            if rule.remaining <= 0:
                rules.remove(rule)
            return rule
    return None
