"""The one place where wire JSON and models meet.

Requests leave as camelCase with unset fields omitted. Answers, callbacks and records are read
leniently: camelCase or snake_case keys, ``null`` for a defaulted field, unknown keys kept in
``extra``. Anything that does not fit raises :class:`WireFormatError`; callers turn it into their
own error (a 400 for a callback, ``MalformedResponseError`` for a gateway answer).
"""

from __future__ import annotations

import enum
import functools
import math
import operator
import typing
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import attrs
import cattrs
import cattrs.cols
from cattrs.gen import make_dict_unstructure_fn, override

from ._models import (
    AlignedWord,
    LyricVariant,
    Model,
    PersonaModel,
    Request,
    Stage,
    StemType,
    StyleResult,
    TaskKind,
    TimestampedLyrics,
    Track,
    VocalGender,
)

T = TypeVar("T")

# Wire names that are not simply the camelCase or snake_case of the field name.
_RENAMES: dict[type, dict[str, str]] = {
    TimestampedLyrics: {
        "alignedWords": "words",
        "waveformData": "waveform",
        "aligned_words": "words",
    },
    StyleResult: {"result": "text"},
}


class WireFormatError(ValueError):
    """A body that is not in any documented shape."""


@functools.cache
def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _structure_float(value: Any, _: Any) -> float:
    # bool is an int subclass; a bool where a number belongs is a malformed body.
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError(f"expected a number, got {value!r}")
    result = float(value)
    if not math.isfinite(result):
        raise ValueError(f"expected a finite number, got {value!r}")
    return result


def _structure_str(value: Any, _: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"expected a string, got {type(value).__name__}")


def _structure_int(value: Any, _: Any) -> int:
    # int() alone would take True as 1 and cut 2.7 to 2; a count or a code is a whole number.
    if isinstance(value, bool):
        raise TypeError(f"expected a whole number, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
    raise TypeError(f"expected a whole number, got {value!r:.40}")


# ``member._value_``: the plain value, without the cost of the ``value`` property (it runs for
# every event a store writes).
_enum_value: Callable[[enum.Enum], Any] = operator.attrgetter("_value_")


def _is_tuple_of(kind: Any) -> bool:
    args = typing.get_args(kind)
    return typing.get_origin(kind) is tuple and len(args) == 2 and args[1] is Ellipsis


def _is_mapping(kind: Any) -> bool:
    return typing.get_origin(kind) in (Mapping, dict)


def _guarded(
    make: Callable[[Any, cattrs.Converter], Callable[[Any, Any], Any]],
    accepts: type | tuple[type, ...],
    expected: str,
) -> Callable[[Any, cattrs.Converter], Callable[[Any, Any], Any]]:
    """A hook factory like cattrs' ``make`` that first refuses values of the wrong shape.

    cattrs turns any iterable into a tuple (a string into its characters) and fails on a
    non-mapping with an ``AttributeError`` about ``items``; a malformed body should say what
    it expected instead.
    """

    def factory(kind: Any, conv: cattrs.Converter) -> Callable[[Any, Any], Any]:
        inner = make(kind, conv)

        def hook(value: Any, kind: Any) -> Any:
            if not isinstance(value, accepts):
                raise TypeError(f"expected {expected}, got {type(value).__name__}")
            return inner(value, kind)

        return hook

    return factory


def _structure_bool(value: Any, _: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in (0, 1, "true", "false", "0", "1"):
        return value in (1, "true", "1")
    raise TypeError(f"expected a boolean, got {value!r}")


def _lenient_hook(conv: cattrs.Converter, cls: type[T]) -> Callable[[Any, Any], T]:
    """A structure hook that maps either key spelling to fields and keeps unknown keys.

    It is on the receiver's hot path (every track of every callback), so the spellings and the
    field hooks are looked up once here rather than per value.
    """
    fields = attrs.fields(cls)  # type: ignore[arg-type]
    hints = typing.get_type_hints(cls)
    has_extra = any(f.name == "extra" for f in fields)
    required = frozenset(f.name for f in fields if f.default is attrs.NOTHING)
    spellings: dict[str, str] = {}
    hooks: dict[str, tuple[Callable[[Any, Any], Any], Any]] = {}
    # Fields where a JSON string (or a finite float) is taken as it is, with no hook call.
    strings: set[str] = set()
    floats: set[str] = set()
    for f in fields:
        if f.name == "extra":
            continue
        kind = hints[f.name]
        args = typing.get_args(kind)
        if type(None) in args:  # X | None: None itself is skipped below, so use X's hook
            kind = next(a for a in args if a is not type(None))
        hooks[f.name] = (conv.get_structure_hook(kind), kind)
        if kind is str:
            strings.add(f.name)
        elif kind is float:
            floats.add(f.name)
        spellings[f.name] = spellings[_camel(f.name)] = f.name
    spellings.update(_RENAMES.get(cls, {}))

    def hook(obj: Any, _: Any) -> T:
        if obj.__class__ is not dict and not isinstance(obj, Mapping):  # dict: skip the ABC
            raise TypeError(f"expected an object for {cls.__name__}, got {type(obj).__name__}")
        values: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in obj.items():
            name = spellings.get(key)
            if name is None:
                if key == "extra" and isinstance(value, Mapping):
                    extra.update(value)  # our own unstructured form, read back from a store
                else:
                    extra[key] = value
                continue
            if value.__class__ is str and name in strings:
                values[name] = value
                continue
            if value.__class__ is float and name in floats and value - value == 0.0:  # finite
                values[name] = value
                continue
            if value is None and name not in required:
                continue
            structure_field, kind = hooks[name]
            try:
                values[name] = structure_field(value, kind)
            except (TypeError, ValueError, KeyError, cattrs.BaseValidationError) as exc:
                raise ValueError(f"{key}: {_describe(exc, kind)}") from exc
        if not values.keys() >= required:
            raise ValueError(f"missing {', '.join(sorted(required - values.keys()))}")
        make: Any = cls
        result: T = make(**values, extra=extra) if has_extra else make(**values)
        return result

    return _plain_hook(cls, spellings, strings, floats, required, hook) or hook


_MISSING = object()


def _plain_hook(
    cls: type[T],
    spellings: dict[str, str],
    strings: set[str],
    floats: set[str],
    required: frozenset[str],
    general: Callable[[Any, Any], T],
) -> Callable[[Any, Any], T] | None:
    """A hook for the usual object of ``cls``: a dict of known keys only, each once, with
    strings and finite floats (or ``null`` for a defaulted field) where they belong. It reads
    each field by name, with no loop over the keys; any other object goes to ``general``, which
    also says what is wrong. ``None`` when ``cls`` has fields of other types.

    Written out as source and compiled once per class, as attrs and cattrs do with theirs.
    """
    every = attrs.fields(cls)  # type: ignore[arg-type]
    fields = [f for f in every if f.name != "extra"]
    if any(f.name not in strings and f.name not in floats for f in fields):
        return None
    # Defaults shared by every instance: plain immutable values, or none (required).
    shared = (str, float, type(None))
    if any(f.default is not attrs.NOTHING and type(f.default) not in shared for f in fields):
        return None
    if any(f.kw_only for f in every):
        return None
    names: dict[str, list[str]] = {f.name: [] for f in fields}
    for key, name in spellings.items():
        names[name].append(key)
    defaults = {f"d{i}": f.default for i, f in enumerate(fields)}
    lines = [
        "def plain(obj, _):",
        "    if obj.__class__ is not dict:",
        "        return general(obj, _)",
        "    get = obj.get",
        "    found = 0",
    ]
    for i, f in enumerate(fields):
        v = f"v{i}"
        keys = names[f.name]
        lines.append(f"    {v} = get({keys[0]!r}, MISSING)")
        lines += [f"    if {v} is MISSING:\n        {v} = get({k!r}, MISSING)" for k in keys[1:]]
        good = (
            f"{v}.__class__ is str"
            if f.name in strings
            else f"{v}.__class__ is float and {v} - {v} == 0.0"  # finite
        )
        if f.name in required:
            absent, bad = ["return general(obj, _)"], ["return general(obj, _)"]
        else:  # null is the default, as in the general hook
            absent = [f"{v} = d{i}"]
            bad = [f"if {v} is None:", f"    {v} = d{i}", "else:", "    return general(obj, _)"]
        lines += [
            f"    if {v} is MISSING:",
            *(f"        {line}" for line in absent),
            "    else:",
            "        found += 1",
            f"        if not ({good}):",
            *(f"            {line}" for line in bad),
        ]
    # Positional arguments, in the order of attrs' __init__: cheaper than keywords.
    where = {f.name: f"v{i}" for i, f in enumerate(fields)}
    args = ", ".join(where.get(f.name, "{}") for f in every)
    lines += [
        "    if found != len(obj):  # an unknown key, or one field in both spellings",
        "        return general(obj, _)",
        f"    return make({args})",
    ]
    scope: dict[str, Any] = {"general": general, "MISSING": _MISSING, "make": cls, **defaults}
    exec(compile("\n".join(lines), f"<plain hook of {cls.__name__}>", "exec"), scope)
    plain: Callable[[Any, Any], T] = scope["plain"]
    return plain


def configure_converter(conv: cattrs.Converter) -> cattrs.Converter:
    """Register every hook this package needs on ``conv``."""
    conv.register_structure_hook(float, _structure_float)
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(bool, _structure_bool)
    conv.register_structure_hook(int, _structure_int)
    conv.register_structure_hook_factory(
        _is_tuple_of,
        _guarded(cattrs.cols.homogenous_tuple_structure_factory, (list, tuple), "a list"),
    )
    conv.register_structure_hook_factory(
        _is_mapping, _guarded(cattrs.cols.mapping_structure_factory, Mapping, "an object")
    )
    # StrEnums are str subclasses: without this the str hook above would claim them. They go
    # out as their plain string values (the same JSON text, but ``type(v) is str``).
    for enum_cls in (Model, PersonaModel, Stage, StemType, TaskKind, VocalGender):
        conv.register_structure_hook(enum_cls, lambda v, cls: cls(v))
        conv.register_unstructure_hook(enum_cls, _enum_value)
    lenient: tuple[type, ...] = (Track, LyricVariant, AlignedWord, TimestampedLyrics, StyleResult)
    for cls in lenient:
        conv.register_structure_hook(cls, _lenient_hook(conv, cls))
    conv.register_unstructure_hook_factory(_is_tuple_of, _list_of)
    conv.register_unstructure_hook_factory(
        lambda cls: isinstance(cls, type) and issubclass(cls, Request),
        lambda cls: _request_hook(conv, cls),
    )
    return conv


def _list_of(kind: Any, conv: cattrs.Converter) -> Callable[[Any], list[Any]]:
    """A tuple of ``kind``'s items as a list, each item through its own hook (a store writes
    every event this way): a comprehension, where cattrs' generic one dispatches per item."""
    item = typing.get_args(kind)[0]
    if item in (str, int, float, bool):  # values that are their own unstructured form
        return list
    hook = conv.get_unstructure_hook(item)
    return lambda values: [hook(v) for v in values]


def _request_hook(conv: cattrs.Converter, cls: type[Any]) -> Callable[[Any], dict[str, Any]]:
    # Every request model goes out camelCased, with its unset (None) fields left out.
    overrides: dict[str, Any] = {
        f.name: override(rename=_camel(f.name), omit_if_default=f.default is None)
        for f in attrs.fields(cls)
    }
    return make_dict_unstructure_fn(cls, conv, **overrides)


_converter = configure_converter(cattrs.Converter())


def to_wire(request: Any) -> dict[str, Any]:
    """The JSON object of a request model (camelCase keys, unset fields left out)."""
    body: dict[str, Any] = _converter.unstructure(request)
    return body


def unstructure(value: Any) -> Any:
    """``value`` as plain JSON-ready data (for stores)."""
    return _converter.unstructure(value)


def to_dict(value: Any) -> dict[str, Any]:
    """A result or event as JSON-ready built-ins (``to_dict`` of the models): snake_case keys,
    enums as their values, tuples as lists, ``extra`` kept. The stores write the same form."""
    data: dict[str, Any] = _converter.unstructure(value)
    return data


def from_dict(data: Any, cls: type[T]) -> T:
    """``cls`` read back from ``to_dict``'s output (or the wire's spelling), or
    :class:`WireFormatError` naming the class and the field that did not fit."""
    if data.__class__ is not dict and not isinstance(data, Mapping):
        raise WireFormatError(
            f"not a valid {cls.__name__}: expected a mapping, got {type(data).__name__}"
        )
    return structure(data, cls)


def structure(data: Any, cls: type[T]) -> T:
    """``data`` as ``cls``, or :class:`WireFormatError` saying what did not fit."""
    try:
        return _converter.structure(data, cls)
    except (cattrs.BaseValidationError, ValueError, TypeError, KeyError) as exc:
        raise WireFormatError(_describe(exc, cls)) from exc


def _describe(exc: Exception, cls: type) -> str:
    if isinstance(exc, cattrs.BaseValidationError):
        details = "; ".join(
            f"{'.'.join(str(p) for p in path) or '<root>'}: {_reason(err)}"
            for err, path in _flatten(exc, ())
        )
        return f"not a valid {cls.__name__}: {details}"
    return f"not a valid {cls.__name__}: {exc}"


def _reason(exc: BaseException) -> str:
    # cattrs reports a required field that is absent as the bare KeyError of its name.
    return "missing" if type(exc) is KeyError else str(exc)


def _flatten(
    exc: BaseException, path: tuple[Any, ...]
) -> list[tuple[BaseException, tuple[Any, ...]]]:
    if isinstance(exc, cattrs.BaseValidationError):
        out: list[tuple[BaseException, tuple[Any, ...]]] = []
        for sub in exc.exceptions:
            note = next(iter(getattr(sub, "__notes__", ()) or ()), None)
            step = getattr(note, "name", None) or getattr(note, "index", None)
            out.extend(_flatten(sub, (*path, step) if step is not None else path))
        return out
    return [(exc, path)]


# --- the parts of callbacks and records that every kind shares ---

_TASK_ID_KEYS = ("task_id", "taskId")


def task_id_of(obj: Mapping[str, Any]) -> str | None:
    for key in _TASK_ID_KEYS:
        value = obj.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def code_of(value: Any, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool):
        raise WireFormatError(f"code must be a number, got {value!r}")
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        raise WireFormatError(f"code must be a number, got {value!r:.40}") from None


def split_envelope(body: Any) -> tuple[int, str, Mapping[str, Any]]:
    """(code, msg, inner) of a callback in the wrapped or the unwrapped form."""
    if body.__class__ is not dict and not isinstance(body, Mapping):  # dict: skip the ABC
        raise WireFormatError("a callback body must be a JSON object")
    if "callbackType" in body or "task_id" in body or "taskId" in body:
        inner: Any = body  # AnyInt's unwrapped example: everything at the top level
    else:
        inner = body.get("data")
        if inner.__class__ is not dict and not isinstance(inner, Mapping):
            raise WireFormatError("a callback body needs a task id, at the top or under 'data'")
    msg = body.get("msg", body.get("message", ""))
    return code_of(body.get("code"), 200), msg if isinstance(msg, str) else str(msg), inner


def _items(inner: Mapping[str, Any], key: str) -> list[Any]:
    items = inner.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        raise WireFormatError(f"'{key}' must be a list or null")
    return items


def each(inner: Mapping[str, Any], key: str, cls: type[T]) -> tuple[T, ...]:
    """``inner[key]`` (a list or null) structured item by item as ``cls``."""
    # The item hook is called directly: this runs for every callback, and the generic list
    # structuring adds nothing but its own overhead.
    hook = _item_hooks.get(cls) or _converter.get_structure_hook(cls)
    out: list[T] = []
    for index, item in enumerate(_items(inner, key)):
        try:
            out.append(hook(item, cls))
        except (cattrs.BaseValidationError, ValueError, TypeError, KeyError) as exc:
            raise WireFormatError(f"{key}[{index}]: {_describe(exc, cls)}") from exc
    return tuple(out)


_item_hooks: dict[type, Callable[[Any, Any], Any]] = {
    cls: _converter.get_structure_hook(cls) for cls in (Track, LyricVariant, str)
}
