"""Every route the client calls, declared once: path, arguments, request model, task kind, query
route, result; and the client's methods made from those declarations.

``AnyIntMusic`` declares ``generate = waiting(GENERATE)`` and ``submit_generate =
submitting(GENERATE)``: both take the arguments of ``_arguments.generate`` (type checkers read
them through a ``ParamSpec``; ``help()`` shows its signature and docstring), and both run the
same check before anything is sent. The command line reads the same table. A new route is a
declaration here, a function of arguments, a request and a result model (the simulator keeps
its own reading of the protocol, on purpose: it is the oracle the SDK is tested against).
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar

import attrs

from . import _arguments as arguments
from . import _arguments_transform as transform
from ._convert import WireFormatError, structure
from ._kinds import KINDS, read_persona
from ._models import (
    AddInstrumentalRequest,
    AddVocalsRequest,
    CoverRequest,
    CoverResult,
    ExtendRequest,
    GenerateRequest,
    LyricsRequest,
    LyricsResult,
    MusicResult,
    Persona,
    PersonaRequest,
    ReplaceSectionRequest,
    StemsResult,
    StyleRequest,
    StyleResult,
    TaskKind,
    TimestampedLyrics,
    TimestampedLyricsRequest,
    TrackRequest,
    UploadCoverRequest,
    UploadExtendRequest,
    VideoRequest,
    VideoResult,
    VocalRemovalRequest,
    WavResult,
)
from ._request_writer import request_writer
from ._tasks import Task
from .errors import BadRequestError, MalformedResponseError, TaskFailedError

P = ParamSpec("P")
R = TypeVar("R")


@attrs.frozen
class Route(Generic[P, R]):
    """One route of the gateway, as the client calls it.

    Attributes:
        arguments: the function whose signature and docstring are the client method's, and
            whose body checks the arguments and returns the request's fields.
        path: the route.
        request: the attrs model of the request body.
        result: what the caller gets back.
        kind: what a task of this route makes; ``None`` for a route answered at once.
        submit_name: the name of the ``submit_*`` method, when it is not ``submit_`` and the
            waiting method's name.
        refusal: for a route answered at once, what its answer says when it is a refusal in
            a success envelope (raised), else ``None``.
        existing: for a route whose refusal may name the task that already exists for the
            request, that task's id (the client attaches to it), else ``None``.
        immediate: for a task route whose answer may already be the result (the persona
            route, synchronous upstream), that result, else ``None`` (a task id to wait for).
        local_files: whether its fields may hold a local file to share (its request has an
            ``upload_url``); the others skip looking for one.
    """

    arguments: Callable[P, Mapping[str, Any]]
    path: str
    request: type[Any]
    result: type[R]
    kind: TaskKind | None = None
    submit_name: str | None = None
    refusal: Callable[[Any], Exception | None] | None = None
    existing: Callable[[BadRequestError], str | None] | None = None
    immediate: Callable[[Any], Any] | None = None
    local_files: bool = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        names = {f.name for f in attrs.fields(self.request)}
        object.__setattr__(self, "local_files", "upload_url" in names)

    @property
    def method(self) -> str:
        """The client's waiting method (or only method, for a route answered at once)."""
        return self.arguments.__name__

    @property
    def query(self) -> str:
        """The route that reads a task of this route back."""
        assert self.kind is not None, f"{self.path} creates no task"
        query = KINDS[self.kind].query
        assert query is not None, f"{self.path}'s tasks cannot be read back"
        return query

    def fields(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Mapping[str, Any]:
        """The checked request fields of a call (Python's own ``TypeError`` for a mistyped or
        missing argument; ``InvalidRequestError`` for a broken rule)."""
        return self.arguments(*args, **kwargs)

    def body(self, fields: Mapping[str, Any], **more: Any) -> Any:
        """The request model of these fields (and ``call_back_url`` for a task)."""
        return self.request(**fields, **more)

    def wire(self, fields: Mapping[str, Any], more: Mapping[str, Any]) -> dict[str, Any]:
        """The JSON object of :meth:`body`'s request model (``more``: ``call_back_url`` for a
        task), without making the model."""
        return request_writer(self.request)({**fields, **more} if more else fields)

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


def _method(route: Route[Any, Any], via: str, name: str, returns: str, doc: str) -> Any:
    """A client method that hands ``route`` and its arguments to the client's ``via``;
    ``help()`` and ``inspect`` show the route's own signature and docs."""

    async def method(self: Any, /, *args: Any, **kwargs: Any) -> Any:
        return await getattr(self, via)(route, args, kwargs)

    own = inspect.signature(route.arguments)
    this = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
    method.__name__ = name
    method.__qualname__ = f"AnyIntMusic.{name}"
    method.__module__ = "anyint_music._client"
    method.__doc__ = doc
    method.__signature__ = own.replace(  # type: ignore[attr-defined]
        parameters=[this, *_spelled(route.arguments, own)], return_annotation=returns
    )
    return method


def _spelled(arguments: Callable[..., Any], own: inspect.Signature) -> list[inspect.Parameter]:
    """``own``'s parameters with ``**options: Unpack[SomeOptions]`` spelled out one keyword at
    a time (before ``timeout``), as type checkers already read it."""
    params = list(own.parameters.values())
    spread = [p for p in params if p.kind is p.VAR_KEYWORD]
    if not spread:
        return params
    options = typing.get_args(typing.get_type_hints(arguments)[spread[0].name])[0]
    keywords = [
        inspect.Parameter(
            key,
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=getattr(hint, "__forward_arg__", hint),
        )
        for key, hint in options.__annotations__.items()
    ]
    kept = [p for p in params if p.kind is not p.VAR_KEYWORD]
    at = next((i for i, p in enumerate(kept) if p.name == "timeout"), len(kept))
    return [*kept[:at], *keywords, *kept[at:]]


def waiting(route: Route[P, R]) -> Callable[Concatenate[Any, P], Awaitable[R]]:
    """The client method that submits ``route``'s task and waits for its result."""
    doc = route.arguments.__doc__ or ""
    made: Callable[Concatenate[Any, P], Awaitable[R]]
    made = _method(route, "_wait", route.method, route.result.__name__, doc)
    return made


def submitting(route: Route[P, R]) -> Callable[Concatenate[Any, P], Awaitable[Task[R]]]:
    """The client method that submits ``route``'s task and returns its :class:`Task`."""
    doc = (
        f"Submit the task of :meth:`{route.method}` and return its :class:`Task` at once.\n\n"
        f"    ``timeout`` bounds the submit and is the task's default wait. As for "
        f":meth:`{route.method}`:\n\n    {route.arguments.__doc__ or ''}"
    )
    name = route.submit_name or f"submit_{route.method}"
    made: Callable[Concatenate[Any, P], Awaitable[Task[R]]]
    made = _method(route, "_submit", name, f"Task[{route.result.__name__}]", doc)
    return made


def asking(route: Route[P, R]) -> Callable[Concatenate[Any, P], Awaitable[R]]:
    """The client method of a route answered at once."""
    doc = route.arguments.__doc__ or ""
    made: Callable[Concatenate[Any, P], Awaitable[R]]
    made = _method(route, "_ask", route.method, route.result.__name__, doc)
    return made


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


def _existing_cover(refusal: BadRequestError) -> str | None:
    # One cover per music task: asking again is refused with the existing cover task's id.
    existing = refusal.data.get("taskId") if isinstance(refusal.data, Mapping) else None
    return existing if isinstance(existing, str) and existing else None


GENERATE = Route(arguments.generate, "/suno/generate", GenerateRequest, MusicResult, TaskKind.MUSIC)
EXTEND = Route(arguments.extend, "/suno/extend", ExtendRequest, MusicResult, TaskKind.MUSIC)
LYRICS = Route(
    arguments.generate_lyrics,
    "/suno/generate-lyrics",
    LyricsRequest,
    LyricsResult,
    TaskKind.LYRICS,
    submit_name="submit_lyrics",
)
COVER = Route(
    arguments.generate_cover,
    "/suno/generate-cover",
    CoverRequest,
    CoverResult,
    TaskKind.COVER,
    submit_name="submit_cover",
    existing=_existing_cover,
)
TIMESTAMPED_LYRICS = Route(
    arguments.timestamped_lyrics,
    "/suno/timestamped-lyrics",
    TimestampedLyricsRequest,
    TimestampedLyrics,
)
STYLE = Route(
    arguments.style_generate,
    "/suno/style-generate",
    StyleRequest,
    StyleResult,
    refusal=_failed_boost,
)

UPLOAD_COVER = Route(
    transform.upload_cover, "/suno/upload-cover", UploadCoverRequest, MusicResult, TaskKind.MUSIC
)
UPLOAD_EXTEND = Route(
    transform.upload_extend,
    "/suno/upload-extend",
    UploadExtendRequest,
    MusicResult,
    TaskKind.MUSIC,
)
ADD_VOCALS = Route(
    transform.add_vocals, "/suno/add-vocals", AddVocalsRequest, MusicResult, TaskKind.MUSIC
)
ADD_INSTRUMENTAL = Route(
    transform.add_instrumental,
    "/suno/add-instrumental",
    AddInstrumentalRequest,
    MusicResult,
    TaskKind.MUSIC,
)
REPLACE_SECTION = Route(
    transform.replace_section,
    "/suno/replace-section",
    ReplaceSectionRequest,
    MusicResult,
    TaskKind.MUSIC,
)
VOCAL_REMOVAL = Route(
    transform.vocal_removal,
    "/suno/vocal-removal",
    VocalRemovalRequest,
    StemsResult,
    TaskKind.STEMS,
)
SPLIT_STEM = Route(
    transform.split_stem, "/suno/split-stem", TrackRequest, StemsResult, TaskKind.STEMS
)
WAV = Route(transform.wav_generate, "/suno/wav-generate", TrackRequest, WavResult, TaskKind.WAV)
VIDEO = Route(
    transform.mp4_generate, "/suno/mp4-generate", VideoRequest, VideoResult, TaskKind.VIDEO
)
PERSONA = Route(
    transform.generate_persona,
    "/suno/generate-persona",
    PersonaRequest,
    Persona,
    TaskKind.PERSONA,
    immediate=read_persona,
)

# Every route, by the client method that calls it.
ROUTES: Mapping[str, Route[..., Any]] = {
    route.method: route
    for route in (
        GENERATE,
        EXTEND,
        LYRICS,
        COVER,
        TIMESTAMPED_LYRICS,
        STYLE,
        UPLOAD_COVER,
        UPLOAD_EXTEND,
        ADD_VOCALS,
        ADD_INSTRUMENTAL,
        REPLACE_SECTION,
        VOCAL_REMOVAL,
        SPLIT_STEM,
        WAV,
        VIDEO,
        PERSONA,
    )
}
