"""Request bodies written straight from a submit's checked fields: for each request model, a
writer compiled once that gives what ``to_wire(model(**fields))`` gives, without the model."""

from __future__ import annotations

import typing
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import cattrs
from cattrs.fns import identity

from ._convert import _camel, to_wire
from ._convert import _converter as converter

Write = Callable[[Mapping[str, Any]], dict[str, Any]]


def request_writer(cls: type[Any]) -> Write:
    """``write(values)``: ``to_wire(cls(**values))`` for the request model ``cls``, written
    straight from ``values``: a submit has no other use for the model."""
    write = _writers.get(cls)
    if write is None:
        write = _writers[cls] = _writer(converter, cls)
    return write


def _writer(conv: cattrs.Converter, cls: type[Any]) -> Write:
    # What _request_hook's cattrs function does with a model, from a mapping: the fields
    # without a None default in a literal, then each other one that is not None, in the
    # model's order, each through its type's hook (none where the value is its own wire form).
    # Compiled once per model, as cattrs does, without its `!= None` compares and its call per
    # optional value. A required field missing: the model is built, and raises its TypeError.
    hints = typing.get_type_hints(cls)
    scope: dict[str, Any] = {"model": cls, "to_wire": to_wire}
    literal: list[str] = []
    optional: list[str] = []
    for i, f in enumerate(attrs.fields(cls)):
        kind = hints[f.name]
        args = typing.get_args(kind)
        if f.default is None and len(args) == 2 and type(None) in args:
            kind = next(a for a in args if a is not type(None))  # None itself is left out
        hook = conv.get_unstructure_hook(kind)
        if hook is not identity:
            scope[f"h{i}"] = hook
        wrap = "{}" if hook is identity else f"h{i}({{}})"
        if f.default is attrs.NOTHING:
            literal.append(f"        {_camel(f.name)!r}: {wrap.format(f'values[{f.name!r}]')},")
        elif f.default is None:
            optional += [
                f"    v = get({f.name!r})",
                "    if v is not None:",
                f"        res[{_camel(f.name)!r}] = {wrap.format('v')}",
            ]
        else:  # not in any request model: let cattrs' own hook write it
            return lambda values: to_wire(cls(**values))
    lines = [
        "def write(values):",
        "    get = values.get",
        "    try:",
        "        res = {",
        *(f"    {line}" for line in literal),
        "        }",
        "    except KeyError:  # a required field is missing",
        "        return to_wire(model(**values))",
        *optional,
        "    return res",
    ]
    exec(compile("\n".join(lines), f"<request writer of {cls.__name__}>", "exec"), scope)
    write: Write = scope["write"]
    return write


_writers: dict[type[Any], Write] = {}
