"""Every route the client calls, declared once: path, request model, task kind, query, result.

The client's methods are one-line calls that hand a :class:`Route` and the caller's arguments to
the submitter; the CLI reads the same table. A new route is a declaration here, a request
model, a result model and a check in ``_validate`` (the simulator keeps its own reading of the
protocol, on purpose: it is the oracle the SDK is tested against).
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

import attrs

from . import _validate as check
from ._arguments import OPTION_DOCS, ExtendOptions, GenerateOptions
from ._convert import WireFormatError, structure
from ._models import (
    CoverRequest,
    CoverResult,
    ExtendRequest,
    GenerateRequest,
    LyricsRequest,
    LyricsResult,
    MusicResult,
    StyleRequest,
    StyleResult,
    TaskKind,
    TimestampedLyrics,
    TimestampedLyricsRequest,
)
from .errors import MalformedResponseError, TaskFailedError

R = TypeVar("R")
F = TypeVar("F", bound=Callable[..., Any])

# Where a task of each kind is read back (polling, re-attaching), and what it makes.
QUERIES: Mapping[TaskKind, str] = {
    TaskKind.MUSIC: "/suno/query/task",
    TaskKind.LYRICS: "/suno/query/lyrics",
    TaskKind.COVER: "/suno/query/cover",
}
RESULTS: Mapping[TaskKind, type] = {
    TaskKind.MUSIC: MusicResult,
    TaskKind.LYRICS: LyricsResult,
    TaskKind.COVER: CoverResult,
}


@attrs.frozen
class Route(Generic[R]):
    """One route of the gateway, as the client calls it.

    Attributes:
        method: the client's waiting method (messages name it).
        path: the route.
        request: the attrs model of the request body.
        result: what the caller gets back.
        check: the caller's arguments (defaults filled in) -> the request's fields, or
            ``InvalidRequestError``; runs before anything is sent.
        kind: what a task of this route makes; ``None`` for a route answered at once.
        options: the ``TypedDict`` of the method's keyword options, if it has them.
        defaults: those options' defaults other than ``None``.
        refusal: for a route answered at once, what its answer says when it is a refusal in
            a success envelope (raised), else ``None``.
    """

    method: str
    path: str
    request: type[Any]
    result: type[R]
    check: Callable[[Mapping[str, Any]], Mapping[str, Any]]
    kind: TaskKind | None = None
    options: Any = None
    defaults: Mapping[str, Any] = attrs.field(factory=dict)
    refusal: Callable[[Any], Exception | None] | None = None

    @property
    def query(self) -> str:
        """The route that reads a task of this route back."""
        assert self.kind is not None, f"{self.path} creates no task"
        return QUERIES[self.kind]

    def fields(self, given: Mapping[str, Any], options: Mapping[str, Any] = {}) -> Any:
        """The checked request fields of a call with positional ``given`` and ``options``."""
        if self.options is not None:
            allowed: Mapping[str, Any] = self.options.__annotations__
            unknown = options.keys() - allowed.keys()
            if unknown:
                # The keywords are typed, but an untyped caller still gets Python's own answer.
                raise TypeError(
                    f"{self.method}() got an unexpected keyword argument {min(unknown)!r}"
                )
            missing = self.options.__required_keys__ - options.keys()
            if missing:
                raise TypeError(
                    f"{self.method}() missing required keyword-only argument: {min(missing)!r}"
                )
            given = {**dict.fromkeys(allowed), **self.defaults, **options, **given}
        return self.check(given)

    def body(self, fields: Mapping[str, Any], **more: Any) -> Any:
        """The request model of these fields (and ``call_back_url`` for a task)."""
        return self.request(**fields, **more)

    def answer(self, data: Any) -> R:
        """The result of a route answered at once, from the envelope's ``data``."""
        refused = self.refusal(data) if self.refusal is not None else None
        if refused is not None:
            raise refused
        try:
            return structure({} if data is None else data, self.result)
        except WireFormatError as exc:
            raise MalformedResponseError(
                f"{self.path} answered a body that is {exc}", status=200
            ) from exc


_MODULES = re.compile(r"\b[a-z_][\w]*\.(?=[\w.]*\b)")


def shows(route: Route[Any]) -> Callable[[F], F]:
    """Make ``help()`` and ``inspect.signature`` list each of ``route``'s keyword options in
    place of the method's ``**options`` (type checkers read the ``Unpack`` annotation)."""

    def decorate(method: F) -> F:
        own = inspect.signature(method)
        kept = [p for p in own.parameters.values() if p.kind is not p.VAR_KEYWORD]
        hints = typing.get_type_hints(route.options)
        required = route.options.__required_keys__
        spelled = [
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                default=inspect.Parameter.empty if name in required else route.defaults.get(name),
                annotation=_MODULES.sub("", inspect.formatannotation(hints[name])),
            )
            for name in sorted(hints, key=list(OPTION_DOCS).index)  # in the docs' order
        ]
        timeout = [p for p in kept if p.kind is p.KEYWORD_ONLY]
        positional = [p for p in kept if p.kind is not p.KEYWORD_ONLY]
        method.__signature__ = own.replace(  # type: ignore[attr-defined]
            parameters=[*positional, *spelled, *timeout]
        )
        method.__doc__ = _with_options(method.__doc__ or "", [p.name for p in spelled])
        return method

    return decorate


def _with_options(doc: str, names: list[str]) -> str:
    """``doc`` with a line per option in its "Args:" section (made if missing), before
    ``timeout``."""
    lines = doc.splitlines()
    indent = "        "
    entries = [f"{indent}    {name}: {OPTION_DOCS[name]}" for name in names]
    if f"{indent}Args:" not in lines:
        ends = [i for i, line in enumerate(lines) if line.strip() in ("Returns:", "Raises:")]
        at = ends[0] if ends else len(lines)
        return "\n".join([*lines[:at], f"{indent}Args:", *entries, "", *lines[at:]])
    start = lines.index(f"{indent}Args:") + 1
    end = start
    while end < len(lines) and lines[end].strip():
        end += 1
    section = lines[start:end]
    at = next(
        (i for i, line in enumerate(section) if line.strip().startswith("timeout:")), len(section)
    )
    return "\n".join([*lines[:start], *section[:at], *entries, *section[at:], *lines[end:]])


def _lyrics(given: Mapping[str, Any]) -> Mapping[str, Any]:
    return {"prompt": check.lyrics_prompt(given["prompt"])}


def _cover(given: Mapping[str, Any]) -> Mapping[str, Any]:
    task_id = check.required_text(given["task_id"], "task_id", "the id of a finished music task")
    return {"task_id": task_id}


def _timestamps(given: Mapping[str, Any]) -> Mapping[str, Any]:
    return {
        "task_id": check.required_text(given["task_id"], "task_id"),
        "audio_id": check.required_text(given["audio_id"], "audio_id"),
    }


def _style(given: Mapping[str, Any]) -> Mapping[str, Any]:
    return {"content": check.required_text(given["content"], "content", "a short style hint")}


def _failed_boost(data: Any) -> Exception | None:
    # The boost reports its own failure inside a success envelope (PROTOCOL.md §5).
    if not (isinstance(data, Mapping) and str(data.get("successFlag", "1")) == "2"):
        return None
    try:
        code: int | None = int(data["errorCode"])
    except (KeyError, TypeError, ValueError):
        code = None
    return TaskFailedError(
        str(data.get("taskId") or ""), code, str(data.get("errorMessage") or "style boost failed")
    )


GENERATE = Route(
    "generate",
    "/suno/generate",
    GenerateRequest,
    MusicResult,
    check.generate,
    TaskKind.MUSIC,
    GenerateOptions,
    {"instrumental": False, "custom_mode": False},
)
EXTEND = Route(
    "extend",
    "/suno/extend",
    ExtendRequest,
    MusicResult,
    check.extend,
    TaskKind.MUSIC,
    ExtendOptions,
    {"default_param_flag": False},
)
LYRICS = Route(
    "generate_lyrics",
    "/suno/generate-lyrics",
    LyricsRequest,
    LyricsResult,
    _lyrics,
    TaskKind.LYRICS,
)
COVER = Route(
    "generate_cover", "/suno/generate-cover", CoverRequest, CoverResult, _cover, TaskKind.COVER
)
TIMESTAMPED_LYRICS = Route(
    "timestamped_lyrics",
    "/suno/timestamped-lyrics",
    TimestampedLyricsRequest,
    TimestampedLyrics,
    _timestamps,
)
STYLE = Route(
    "style_generate",
    "/suno/style-generate",
    StyleRequest,
    StyleResult,
    _style,
    refusal=_failed_boost,
)

# Every route, by the client method that calls it.
ROUTES: Mapping[str, Route[Any]] = {
    route.method: route for route in (GENERATE, EXTEND, LYRICS, COVER, TIMESTAMPED_LYRICS, STYLE)
}
