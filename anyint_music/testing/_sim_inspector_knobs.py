"""The knobs the inspector sets while the simulator runs (``POST /_sim/knobs``): what each
accepts, checked strictly and all at once (one bad value changes nothing), applied through the
gateway's own attributes and `FakeGateway.fail_tasks`."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection
from typing import Any, Protocol

import attrs

from ._sim_chaos import Chaos
from ._sim_knobs import STAGES, TASK_ROUTES
from ._sim_rules import TaskFailure

__all__ = ["KNOBS", "Controls", "KnobError", "apply_knobs", "knob_values"]

KNOBS = ("fail_next", "duplicates", "drop_callbacks", "skip_stages", "stage_delay", "chaos_seed")
_FAIL_KEYS = ("count", "code", "message", "route")
_MAX_COUNT = 1000
_MAX_DUPLICATES = 100
_MAX_DELAY = 3600.0
_MAX_MESSAGE = 500
_MAX_SEED = 2**53 - 1  # the largest whole number the page's JavaScript holds exactly


class Controls(Protocol):
    """What the knob API reads and sets on `FakeGateway`."""

    duplicates: int
    drop_callbacks: bool | Collection[str]
    skip_stages: bool
    stage_delay: float
    chaos: Chaos | None

    def fail_tasks(
        self,
        code: int = 501,
        message: str | None = None,
        *,
        times: int = 1,
        route: str | None = None,
    ) -> None: ...


class KnobError(ValueError):
    """A knob change that cannot be applied; the message says which and why."""


_Change = Callable[[Controls, list[TaskFailure]], None]


def _int(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise KnobError(f"{name} must be a whole number from {low} to {high}, not {value!r}")
    return value


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise KnobError(f"{name} must be true or false, not {value!r}")
    return value


def _fail_next(value: Any) -> _Change:
    if value is None:
        return lambda _gw, rules: rules.clear()
    if not isinstance(value, dict):
        raise KnobError(
            'fail_next must be an object such as {"count": 2, "code": 501} (or null to cancel), '
            f"not {value!r}"
        )
    unknown = sorted(set(value) - set(_FAIL_KEYS))
    if unknown:
        raise KnobError(f"fail_next: unknown key(s) {unknown}; the keys are {list(_FAIL_KEYS)}")
    if "count" not in value:
        raise KnobError("fail_next needs a count (0 cancels the tasks still set to fail)")
    count = _int("fail_next.count", value["count"], 0, _MAX_COUNT)
    code = _int("fail_next.code", value.get("code", 501), 100, 999)
    message = value.get("message")
    if message is not None and not (isinstance(message, str) and len(message) <= _MAX_MESSAGE):
        raise KnobError(f"fail_next.message must be a text of at most {_MAX_MESSAGE} characters")
    route = value.get("route")
    if route is not None and route not in TASK_ROUTES:
        raise KnobError(f"fail_next.route must be null or one of {list(TASK_ROUTES)}")
    if count == 0:
        return lambda _gw, rules: rules.clear()
    return lambda gw, _rules: gw.fail_tasks(code, message or None, times=count, route=route)


def _drop(value: Any) -> bool | frozenset[str]:
    if isinstance(value, bool):
        return value
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise KnobError(f"drop_callbacks must be true, false or a list of stages, not {value!r}")
    unknown = sorted(set(value) - STAGES)
    if unknown:
        stages = sorted(STAGES)
        raise KnobError(f"drop_callbacks: unknown stage(s) {unknown}; the stages are {stages}")
    return frozenset(value) if value else False


def _delay(value: Any) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not (math.isfinite(value) and 0 <= value <= _MAX_DELAY)
    ):
        raise KnobError(f"stage_delay must be a number of seconds from 0 to {_MAX_DELAY:g}")
    return float(value)


def _chaos(value: Any) -> Callable[[Chaos | None], Chaos | None]:
    if value is None:
        return lambda _current: None
    seed = _int("chaos_seed", value, 0, _MAX_SEED)
    # A storm set up in Python keeps its chances; only its seed changes (and restarts).
    return lambda current: attrs.evolve(current, seed=seed) if current else Chaos(seed=seed)


def _setting(name: str, value: Any) -> _Change:
    """A change that sets the gateway's attribute `name` to the already checked `value`."""

    def change(gw: Controls, _rules: list[TaskFailure]) -> None:
        setattr(gw, name, value)

    return change


def _change(name: str, value: Any) -> _Change:
    """The checked change of one knob, to apply once every change was checked."""
    if name == "fail_next":
        return _fail_next(value)
    if name == "duplicates":
        return _setting(name, _int(name, value, 0, _MAX_DUPLICATES))
    if name == "drop_callbacks":
        return _setting(name, _drop(value))
    if name == "skip_stages":
        return _setting(name, _bool(name, value))
    if name == "stage_delay":
        return _setting(name, _delay(value))
    chaos = _chaos(value)

    def chaos_seed(gw: Controls, _rules: list[TaskFailure]) -> None:
        gw.chaos = chaos(gw.chaos)

    return chaos_seed


def apply_knobs(gateway: Controls, rules: list[TaskFailure], changes: Any) -> None:
    """Check every change in `changes` (a JSON object), then apply them all.

    Args:
        gateway: The gateway whose knobs change.
        rules: Its pending `fail_tasks` rules (``fail_next`` with count 0 or null clears them).
        changes: The decoded request body.

    Raises:
        KnobError: For a body that is not an object, an unknown knob or a bad value; then
            nothing was changed.
    """
    if not isinstance(changes, dict):
        raise KnobError(f"the body must be a JSON object of knob changes; the knobs are {KNOBS}")
    unknown = sorted(set(changes) - set(KNOBS))
    if unknown:
        raise KnobError(f"unknown knob(s) {unknown}; the knobs are {list(KNOBS)}")
    checked = [_change(name, value) for name, value in changes.items()]
    for apply in checked:
        apply(gateway, rules)


def knob_values(gateway: Controls, rules: list[TaskFailure]) -> dict[str, Any]:
    """The current values of the inspector's knobs, as ``GET /_sim/knobs`` shows them."""
    drop = gateway.drop_callbacks
    chaos = gateway.chaos
    return {
        "fail_next": {
            "count": sum(rule.remaining for rule in rules),
            "rules": [
                {
                    "route": rule.route,
                    "code": rule.code,
                    "message": rule.message,
                    "remaining": rule.remaining,
                }
                for rule in rules
            ],
        },
        "duplicates": gateway.duplicates,
        "drop_callbacks": drop if isinstance(drop, bool) else sorted(drop),
        "skip_stages": gateway.skip_stages,
        "stage_delay": gateway.stage_delay,
        "chaos_seed": chaos.seed if chaos is not None else None,
        "stages": sorted(STAGES),
        "routes": list(TASK_ROUTES),
    }
