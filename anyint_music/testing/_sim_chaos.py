"""Seeded chaos for the simulated gateway: which submits are refused, which answers come late,
which callbacks are duplicated, delayed, shuffled or dropped.

Every decision comes from one ``random.Random(seed)``. Each POST to a ``/suno`` route draws the
same fixed set of numbers from it, in arrival order, whatever happens to the request; a task's
callback decisions come from a generator seeded by one of those numbers. So the same seed and the
same request order give the same decisions, however the tasks' timelines interleave.

`Chaos` is re-exported from `anyint_music.testing._gateway`.
"""

from __future__ import annotations

import itertools
import math
import random
from typing import Any, Literal

import attrs

__all__ = ["Chaos", "Dice", "SubmitDraw", "TaskChaos"]


def _probability(_: Any, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{attribute.name} must be a number between 0 and 1, not {value!r}")
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name} must be between 0 and 1, not {value!r}")


def _delay(_: Any, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{attribute.name} must be a number of seconds, not {value!r}")
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{attribute.name} must be a finite number >= 0, not {value!r}")


def _timeout(_: Any, attribute: attrs.Attribute[float | None], value: float | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{attribute.name} must be a number of seconds or None, not {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{attribute.name} must be a finite number > 0, not {value!r}")


def _seed(_: Any, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{attribute.name} must be an int, not {value!r}")


@attrs.frozen(kw_only=True)
class Chaos:
    """A seeded storm for `FakeGateway`: ``FakeGateway(chaos=Chaos())`` or ``gw.chaos = ...``.

    Each probability is drawn independently. The defaults make ``Chaos()`` alone a meaningful
    storm; `Chaos.only` starts from no chaos at all and turns on just the knobs it is given.

    Attributes:
        seed: Seeds the one random generator all decisions come from. The same seed and the
            same order of requests give the same decisions.
        duplicate: Chance that a callback is delivered 2 or 3 times (on top of `duplicates`).
        reorder: Chance that a music task's stage callbacks are delivered in a shuffled order,
            never the documented one (e.g. ``complete`` before ``first``). They are then sent
            once the task has finished. Tasks with a single callback are not affected.
        early: Chance that a task's submit answer is held back until its callbacks were
            delivered (like `early_callbacks`, for one task).
        drop: Chance that a callback (with all its copies) is never delivered. The task still
            finishes in its query record, so polling recovers it.
        submit_503: Chance that a POST is refused with HTTP 503 and AnyInt's ``{"error": ...}``
            envelope before anything is done (no task is made).
        rate_answer: Chance that a POST is refused with a rate answer before anything is done:
            body code 430 in HTTP 200, or with ``error_style="http"`` HTTP 429 and AnyInt's
            ``rate_limit_error`` envelope. Unlike the `rate_limit` cap these answers carry no
            ``Retry-After``: the client has to pick its own backoff.
        late: Chance that each delivered copy of a callback waits a random
            ``0..max_delay`` seconds first (a task's callbacks still go out one at a time).
        max_delay: The longest `late` delay, in seconds.
        slow_answer_timeout: When set, the seconds a receiver has to answer each delivery
            (instead of `callback_timeout`); a slower answer counts as a failed delivery and is
            redelivered after `retry_delays`.

    Raises:
        ValueError: For a probability outside 0..1, a negative `max_delay` or a
            `slow_answer_timeout` that is not above 0.
        TypeError: For a value that is not a number.
    """

    seed: int = attrs.field(default=0, validator=_seed)
    duplicate: float = attrs.field(default=0.2, validator=_probability)
    reorder: float = attrs.field(default=0.2, validator=_probability)
    early: float = attrs.field(default=0.1, validator=_probability)
    drop: float = attrs.field(default=0.05, validator=_probability)
    submit_503: float = attrs.field(default=0.05, validator=_probability)
    rate_answer: float = attrs.field(default=0.05, validator=_probability)
    late: float = attrs.field(default=0.2, validator=_probability)
    max_delay: float = attrs.field(default=0.2, validator=_delay)
    slow_answer_timeout: float | None = attrs.field(default=None, validator=_timeout)

    @classmethod
    def only(
        cls,
        *,
        seed: int = 0,
        duplicate: float = 0.0,
        reorder: float = 0.0,
        early: float = 0.0,
        drop: float = 0.0,
        submit_503: float = 0.0,
        rate_answer: float = 0.0,
        late: float = 0.0,
        max_delay: float = 0.2,
        slow_answer_timeout: float | None = None,
    ) -> Chaos:
        """A `Chaos` where every probability not given is 0, e.g. ``Chaos.only(drop=1.0)``.

        Raises:
            ValueError: As `Chaos` does.
            TypeError: As `Chaos` does.
        """
        return cls(
            seed=seed,
            duplicate=duplicate,
            reorder=reorder,
            early=early,
            drop=drop,
            submit_503=submit_503,
            rate_answer=rate_answer,
            late=late,
            max_delay=max_delay,
            slow_answer_timeout=slow_answer_timeout,
        )


@attrs.define(eq=False)
class TaskChaos:
    """What chaos decided for one task at its submit, plus the generator for its callbacks."""

    early: bool
    reorder: bool
    rng: random.Random

    def copies(self, chaos: Chaos, base: int) -> list[float] | None:
        """Decide one callback's fate: ``None`` when it is dropped, else one delay per copy.

        Args:
            chaos: The gateway's current settings.
            base: Copies asked for without chaos (``1 + duplicates``).
        """
        rng = self.rng
        dropped = rng.random() < chaos.drop
        extra = rng.randint(1, 2) if rng.random() < chaos.duplicate else 0
        delays = [
            rng.uniform(0.0, chaos.max_delay) if rng.random() < chaos.late else 0.0
            for _ in range(base + extra)
        ]
        return None if dropped else delays

    def order(self, count: int) -> tuple[int, ...]:
        """A shuffled order of `count` (at least 2) callbacks that is never the given one."""
        shuffled = [p for p in itertools.permutations(range(count)) if p != tuple(range(count))]
        return self.rng.choice(shuffled)


@attrs.frozen
class SubmitDraw:
    """What chaos decided for one POST: a refusal, or the plan for the task it may create."""

    refuse: Literal["503", "rate"] | None
    task: TaskChaos


class Dice:
    """The one seeded generator behind a `Chaos` setting."""

    def __init__(self, chaos: Chaos) -> None:
        self.chaos = chaos
        self._rng = random.Random(chaos.seed)

    def submit(self) -> SubmitDraw:
        """Draw the decisions for the next POST (always the same amount of randomness)."""
        chaos, rng = self.chaos, self._rng
        unavailable, rate, early, reorder = (rng.random() for _ in range(4))
        task = TaskChaos(
            early=early < chaos.early,
            reorder=reorder < chaos.reorder,
            rng=random.Random(rng.getrandbits(64)),
        )
        refuse: Literal["503", "rate"] | None = None
        if unavailable < chaos.submit_503:
            refuse = "503"
        elif rate < chaos.rate_answer:
            refuse = "rate"
        return SubmitDraw(refuse, task)
