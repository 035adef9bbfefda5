"""The knobs of the simulated gateway: the routes and stages they name, the values they accept,
and the view of them (`Knobs`) that the gateway's parts read.

The parts read the knobs through `Knobs` at each use, never copy them, because a knob changed
on a running `FakeGateway` applies to the stages scheduled after the change.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from ._sim_chaos import Chaos
    from ._sim_records import DeliveredCallback, RecordedRequest
    from ._sim_uploads import FetchedUpload

__all__ = ["MUSIC_ROUTES", "STAGES", "SUBMIT_ROUTES", "TASK_ROUTES", "Knobs", "check_knobs"]

# Routes whose tasks go through text, first and complete (PROTOCOL-TRANSFORM §3.1).
MUSIC_ROUTES = (
    "/suno/generate",
    "/suno/extend",
    "/suno/upload-cover",
    "/suno/upload-extend",
    "/suno/add-vocals",
    "/suno/add-instrumental",
    "/suno/replace-section",
)
# Every route that may create a task; generate-persona does with `persona_as_task`.
TASK_ROUTES = (
    *MUSIC_ROUTES,
    "/suno/generate-lyrics",
    "/suno/generate-cover",
    "/suno/vocal-removal",
    "/suno/split-stem",
    "/suno/wav-generate",
    "/suno/mp4-generate",
    "/suno/generate-persona",
)
SUBMIT_ROUTES = (*TASK_ROUTES, "/suno/timestamped-lyrics", "/suno/style-generate")
STAGES = frozenset(
    {"text", "first", "complete", "error", "lyrics", "cover", "vocal", "wav", "mp4", "persona"}
)


class Knobs(Protocol):
    """What the gateway's parts read of `FakeGateway` (see its docstring for each knob)."""

    @property
    def api_key(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def stage_delay(self) -> float: ...
    @property
    def skip_stages(self) -> bool: ...
    @property
    def unwrapped(self) -> bool: ...
    @property
    def kie_spelling(self) -> bool: ...
    @property
    def duplicates(self) -> int: ...
    @property
    def early_callbacks(self) -> bool: ...
    @property
    def drop_callbacks(self) -> bool | Collection[str]: ...
    @property
    def error_style(self) -> Literal["body", "http"]: ...
    @property
    def retry_delays(self) -> Sequence[float]: ...
    @property
    def callback_timeout(self) -> float: ...
    @property
    def text_tracks(self) -> bool: ...
    @property
    def chaos(self) -> Chaos | None: ...
    @property
    def rate_limit(self) -> tuple[int, float] | None: ...
    @property
    def record(self) -> bool: ...
    @property
    def requests(self) -> list[RecordedRequest]: ...
    @property
    def callbacks(self) -> list[DeliveredCallback]: ...
    @property
    def receivers(self) -> Sequence[str] | None: ...
    @property
    def hmac_key(self) -> bytes | None: ...
    @property
    def persona_as_task(self) -> bool: ...
    @property
    def uploads(self) -> list[FetchedUpload]: ...
    @property
    def inspector(self) -> bool: ...


def check_knobs(
    *,
    error_style: str,
    drop_callbacks: bool | Collection[str],
    duplicates: int,
    stage_delay: float,
    retry_delays: Sequence[float],
) -> None:
    """Check the constructor's knobs that have no setter of their own.

    Raises:
        ValueError: For an unknown `error_style` or stage name, or a negative count or delay.
    """
    if error_style not in ("body", "http"):
        raise ValueError(f"error_style must be 'body' or 'http', not {error_style!r}")
    if not isinstance(drop_callbacks, bool) and not set(drop_callbacks) <= STAGES:
        unknown = sorted(set(drop_callbacks) - STAGES)
        raise ValueError(f"unknown stage names in drop_callbacks: {unknown}")
    if duplicates < 0 or stage_delay < 0 or any(d < 0 for d in retry_delays):
        raise ValueError("duplicates, stage_delay and retry_delays must not be negative")
