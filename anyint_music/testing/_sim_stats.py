"""Counters of the simulated gateway: what it created, refused, sent, dropped and duplicated.

`GatewayStats` is re-exported from `anyint_music.testing._gateway`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import attrs

__all__ = ["Counters", "GatewayStats", "RefusalReason"]

RefusalReason = Literal["503", "rate", "injected"]
_REASONS: tuple[RefusalReason, ...] = ("503", "rate", "injected")


@attrs.frozen
class GatewayStats:
    """A snapshot of `FakeGateway.stats`: counts since the gateway was made.

    Attributes:
        tasks_created: Tasks made by the task-creating routes.
        submits_refused: POSTs refused before any task was made, by reason: ``"503"`` (chaos
            ``submit_503``), ``"rate"`` (chaos ``rate_answer`` and the `rate_limit` cap) and
            ``"injected"`` (`FakeGateway.fail_submit`). Every key is always present.
        submits_rate_limited: The part of ``submits_refused["rate"]`` refused by the
            `rate_limit` cap (the rest were chaos rate answers).
        callbacks_sent: Delivery attempts (POSTs to a ``callBackUrl``): first attempts,
            duplicate copies and redeliveries.
        callbacks_ok: Attempts the receiver answered with HTTP 200.
        callbacks_dropped: Callbacks never sent (chaos ``drop`` or `drop_callbacks`).
        callbacks_duplicated: Extra copies scheduled beyond the first (chaos ``duplicate`` or
            `duplicates`).
        callbacks_reordered_tasks: Music tasks whose stage callbacks were sent shuffled.
        redeliveries: Attempts after a failed one (non-200, timeout, connection error).
        deliveries_failed: Deliveries that got no HTTP 200 even after the last retry.
        answers_dropped: Submit answers lost on purpose (`drop_submit_answer`).
        answers_early: Submit answers held back until the task's callbacks were delivered
            (chaos ``early`` or `early_callbacks`).
    """

    tasks_created: int
    submits_refused: Mapping[RefusalReason, int]
    submits_rate_limited: int
    callbacks_sent: int
    callbacks_ok: int
    callbacks_dropped: int
    callbacks_duplicated: int
    callbacks_reordered_tasks: int
    redeliveries: int
    deliveries_failed: int
    answers_dropped: int
    answers_early: int


@attrs.define
class Counters:
    """The live, mutable counts behind `GatewayStats`."""

    tasks_created: int = 0
    submits_refused: dict[RefusalReason, int] = attrs.Factory(lambda: dict.fromkeys(_REASONS, 0))
    submits_rate_limited: int = 0
    callbacks_sent: int = 0
    callbacks_ok: int = 0
    callbacks_dropped: int = 0
    callbacks_duplicated: int = 0
    callbacks_reordered_tasks: int = 0
    redeliveries: int = 0
    deliveries_failed: int = 0
    answers_dropped: int = 0
    answers_early: int = 0

    def snapshot(self) -> GatewayStats:
        """Copy the counts into a frozen `GatewayStats`."""
        values = attrs.asdict(self, recurse=False)
        values["submits_refused"] = dict(self.submits_refused)
        return GatewayStats(**values)
