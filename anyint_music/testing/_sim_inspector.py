"""What the simulator's inspector remembers: the last tasks, each stage they reached and every
delivery attempt of their callbacks, and the JSON views of them that its page and API show.

The records are the inspector's own (not `FakeGateway.requests`/`callbacks`, which ``record=False``
turns off and ``anyint-music simulate`` empties as it prints them), are kept only while the
inspector is on, and are bounded: the newest `MAX_TASKS` tasks, the newest `MAX_DELIVERIES`
attempts of each.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Iterator
from typing import Any, Literal, Protocol

import attrs

from ._sim_records import DeliveredCallback, SimTask
from ._sim_world import TaskState

__all__ = [
    "MAX_DELIVERIES",
    "MAX_TASKS",
    "PHASES",
    "Entry",
    "Inspector",
    "StageMark",
    "phase",
    "redact",
]

MAX_TASKS = 1000
MAX_DELIVERIES = 100  # per task: a redeliver button pressed in a loop must not grow memory
PHASES = ("running", "done", "failed")
REDACTED = "<redacted>"
_SECRET_KEYS = frozenset({"authorization", "apikey", "api_key", "x-api-key"})
# Below this length a key is only hidden where a whole string equals it: replacing every
# occurrence of a two-letter key would garble every text shown.
_SUBSTRING_KEY_LENGTH = 8

Phase = Literal["running", "done", "failed"]


class _Switch(Protocol):
    @property
    def inspector(self) -> bool: ...


@attrs.define(eq=False)
class StageMark:
    """A callback stage a task reached: when, the body made for it, and whether it was sent.

    `note` says why it was not sent (``"dropped"``, ``"no callBackUrl"``), else ``None``.
    """

    stage: str
    time: float
    body: dict[str, Any]
    note: str | None = None


@attrs.define(eq=False)
class Entry:
    """One task as the inspector keeps it; `revision` grows with every change it saw."""

    state: TaskState
    stages: list[StageMark] = attrs.Factory(list)
    deliveries: deque[tuple[DeliveredCallback, bool]] = attrs.Factory(
        lambda: deque(maxlen=MAX_DELIVERIES)
    )
    attempts: int = 0
    ok: int = 0
    revision: int = 0

    @property
    def sim(self) -> SimTask:
        return self.state.sim

    def body_of(self, stage: str) -> dict[str, Any]:
        """The body sent for `stage` (the last time the task reached it), else ``{}``."""
        mark = next((m for m in reversed(self.stages) if m.stage == stage), None)
        return mark.body if mark is not None else {}


def phase(sim: SimTask) -> Phase:
    """``"running"`` until the task reached a final status, then ``"done"`` or ``"failed"``."""
    if not sim.finished:
        return "running"
    failed = sim.error_code is not None or sim.status.endswith("FAILED")
    return "failed" if failed else "done"


def redact(value: Any, key: str) -> Any:
    """`value` (JSON data) with the API `key` and any secret-named field hidden."""
    if isinstance(value, str):
        if not key:
            return value
        if len(key) >= _SUBSTRING_KEY_LENGTH:
            return value.replace(key, REDACTED)
        return REDACTED if value == key else value
    if isinstance(value, dict):
        return {
            k: REDACTED if str(k).lower() in _SECRET_KEYS else redact(v, key)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v, key) for v in value]
    return value


class Inspector:
    """The bounded records behind the inspector; they grow only while `switch.inspector`."""

    def __init__(self, switch: _Switch) -> None:
        self._switch = switch
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self.limit = MAX_TASKS

    def _entry(self, state: TaskState) -> Entry | None:
        # Only tasks made while the inspector was on, and not yet pushed out by newer ones.
        entry = self._entries.get(state.sim.id) if self._switch.inspector else None
        if entry is not None:
            entry.revision += 1
        return entry

    def created(self, state: TaskState) -> None:
        """Note a task the gateway just made."""
        if not self._switch.inspector:
            return
        self._entries[state.sim.id] = Entry(state)
        while len(self._entries) > self.limit:
            self._entries.popitem(last=False)

    def staged(self, state: TaskState, stage: str, body: dict[str, Any], note: str | None) -> None:
        """Note a callback stage `state` reached, with its body; `note` why it is not sent."""
        entry = self._entry(state)
        if entry is not None:
            entry.stages.append(StageMark(stage, time.time(), body, note))

    def delivered(self, state: TaskState, sent: DeliveredCallback, manual: bool = False) -> None:
        """Note one delivery attempt; `manual` for one sent from the inspector."""
        entry = self._entry(state)
        if entry is None:
            return
        # Every attempt of a stage sends that stage's one body, kept once in its StageMark: an
        # attempt keeps none (a storm of duplicates must not keep a copy of the body each).
        entry.deliveries.append((attrs.evolve(sent, body={}), manual))
        entry.attempts += 1
        entry.ok += sent.ok

    def get(self, task_id: str) -> Entry | None:
        """The entry of `task_id`, or ``None`` when the inspector keeps none."""
        return self._entries.get(task_id)

    def newest_first(self) -> Iterator[Entry]:
        """Every kept entry, the newest task first."""
        return reversed(self._entries.values())

    def routes(self) -> list[str]:
        """The routes of the kept tasks, sorted (for the page's filter)."""
        return sorted({entry.sim.route for entry in self._entries.values()})


# -- JSON views ---------------------------------------------------------------------------------


def _stage_view(mark: StageMark) -> dict[str, Any]:
    return {"stage": mark.stage, "time": mark.time, "sent": mark.note is None, "note": mark.note}


def delivery_view(sent: DeliveredCallback, manual: bool, body: dict[str, Any]) -> dict[str, Any]:
    """One delivery attempt, which sent `body`, as the API shows it."""
    return {
        "url": sent.url,
        "stage": sent.stage,
        "attempt": sent.attempt,
        "copy": sent.copy,
        "manual": manual,
        "time": sent.time,
        "status": sent.status,
        "ok": sent.ok,
        "latency_ms": round(sent.latency * 1000, 1),
        "error": sent.error,
        "body": body,
    }


def summary(entry: Entry) -> dict[str, Any]:
    """A task as the listing shows it."""
    sim = entry.sim
    last = entry.deliveries[-1][0] if entry.deliveries else None
    return {
        "id": sim.id,
        "route": sim.route,
        "kind": sim.kind,
        "status": sim.status,
        "phase": phase(sim),
        "stage": sim.stage,
        "created": sim.create_time.timestamp(),
        "finished": sim.complete_time.timestamp() if sim.complete_time else None,
        "error": (
            {"code": sim.error_code, "message": sim.error_message}
            if sim.error_code is not None
            else None
        ),
        "request": sim.request,
        "callback_url": sim.callback_url,
        "stages": [_stage_view(mark) for mark in entry.stages],
        "delivery_counts": {
            "attempts": entry.attempts,
            "ok": entry.ok,
            "failed": entry.attempts - entry.ok,
            "last_status": last.status if last is not None else None,
        },
        "revision": entry.revision,
    }


def _media(sim: SimTask) -> list[dict[str, str]]:
    """The result's files, for players and pictures: ``{kind, url, label}``."""
    found: list[dict[str, str]] = []
    for index, item in enumerate(sim.result or [], start=1):
        if isinstance(item, str):  # a cover task's image URLs
            found.append({"kind": "image", "url": item, "label": f"Cover image {index}"})
            continue
        if not isinstance(item, dict):
            continue
        title = str(item.get("title") or f"Track {index}")
        if item.get("image_url"):
            found.append({"kind": "image", "url": item["image_url"], "label": f"Cover of {title}"})
        if item.get("audio_url"):
            found.append({"kind": "audio", "url": item["audio_url"], "label": title})
        for key, value in item.items():
            if key in ("audio_url", "image_url") or not (isinstance(value, str) and value):
                continue
            if key == "video_url":
                found.append({"kind": "video", "url": value, "label": "Video"})
            elif key == "audioWavUrl" or (sim.kind == "vocal" and key.endswith("_url")):
                label = "WAV" if key == "audioWavUrl" else key.removesuffix("_url")
                found.append({"kind": "audio", "url": value, "label": label})
    return found


def detail(entry: Entry) -> dict[str, Any]:
    """A task in full: the listing's view, every kept delivery attempt and the result."""
    sim = entry.sim
    return {
        **summary(entry),
        "deliveries": [
            delivery_view(sent, manual, entry.body_of(sent.stage))
            for sent, manual in entry.deliveries
        ],
        "deliveries_not_kept": entry.attempts - len(entry.deliveries),
        "result": sim.result,
        "media": _media(sim),
        "parent_task_id": sim.parent_task_id,
        "parent_audio_id": sim.parent_audio_id,
        "cover_task_id": sim.cover_task_id,
    }
