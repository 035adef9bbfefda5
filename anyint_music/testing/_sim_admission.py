"""What every request to the simulated gateway goes through before its route handler: it is
recorded, its key checked, and a POST may be refused by an injected rule, chaos or the rate cap.
Refusals raised by the handler are answered here too. The inspector's page and API pass
straight through."""

from __future__ import annotations

import hmac
import json
import time
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from . import _sim_answers as answers
from ._sim_chaos import Dice, TaskChaos
from ._sim_inspector_api import is_inspector_path
from ._sim_knobs import TASK_ROUTES, Knobs
from ._sim_rate import RateWindow
from ._sim_records import RecordedRequest
from ._sim_rules import LostAnswer, LostMode, SubmitFailure, take_rule
from ._sim_stats import Counters
from ._sim_validate import Refusal

__all__ = ["JSON_BODY", "TASK_CHAOS", "Admission"]

JSON_BODY = web.RequestKey("anyint_music_sim_json", object)
TASK_CHAOS = web.RequestKey("anyint_music_sim_chaos", TaskChaos)


class Admission:
    """The gateway's middleware, with the state its decisions need.

    Attributes:
        dice: The chaos draws, or ``None`` while chaos is off.
        submit_failures: Pending `FakeGateway.fail_submit` rules, oldest first.
        lost_answers: Pending `FakeGateway.drop_submit_answer` rules, oldest first.
    """

    def __init__(self, knobs: Knobs, counters: Counters) -> None:
        self._knobs = knobs
        self._counters = counters
        self._window = RateWindow()
        self.dice: Dice | None = None
        self.submit_failures: list[SubmitFailure] = []
        self.lost_answers: list[LostAnswer] = []

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Record, authenticate and admit `request`, then answer it with `handler`."""
        if is_inspector_path(request.path):
            # The simulator's own tool, not the service: not recorded, no key, no rules.
            return await handler(request)
        knobs = self._knobs
        raw = await request.read()
        text = raw.decode(request.charset or "utf-8", errors="replace")
        try:
            parsed: Any = json.loads(text) if text else None
        except ValueError:
            parsed = None
        request[JSON_BODY] = parsed
        if knobs.record:
            knobs.requests.append(
                RecordedRequest(
                    method=request.method,
                    path=request.path,
                    query=dict(request.query),
                    headers=dict(request.headers),
                    json=parsed,
                    text=text,
                )
            )
        if request.path.startswith("/suno/"):
            expected = f"Bearer {knobs.api_key}".encode()
            given = request.headers.get("Authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                return answers.envelope(
                    401, "Invalid API key. Send it as `Authorization: Bearer <AnyInt API key>`."
                )
            if request.method == "POST" and request.match_info.http_exception is None:
                refused = self._admit(request)
                if refused is not None:
                    return refused
        try:
            return await handler(request)
        except Refusal as refusal:
            return answers.refusal(refusal, knobs.error_style)

    def _admit(self, request: web.Request) -> web.Response | None:
        """Refuse a POST before anything is done, or note its chaos plan and let it through."""
        path = request.path
        counters = self._counters
        style = self._knobs.error_style
        # Drawn first and for every POST, so the decisions depend only on the request order.
        draw = self.dice.submit() if self.dice is not None else None
        injected = take_rule(self.submit_failures, path)
        if injected is not None:
            counters.submits_refused["injected"] += 1
            return answers.failure(injected, style)
        if draw is not None and draw.refuse == "503":
            counters.submits_refused["503"] += 1
            return answers.envelope(503, answers.CODE_MESSAGES[503])
        if draw is not None and draw.refuse == "rate":
            counters.submits_refused["rate"] += 1
            return answers.rate_refusal(style, None)
        limit = self._knobs.rate_limit
        if limit is not None and path in TASK_ROUTES:
            wait = self._window.admit(*limit, time.monotonic())
            if wait is not None:
                counters.submits_refused["rate"] += 1
                counters.submits_rate_limited += 1
                return answers.rate_refusal(style, wait)
        if draw is not None:
            request[TASK_CHAOS] = draw.task
        return None

    def take_lost_answer(self, path: str) -> LostMode | None:
        """How the answer to a task-creating submit to `path` is lost, or ``None``: answer it."""
        rule = take_rule(self.lost_answers, path)
        return rule.mode if rule is not None else None
