"""Client-side checks of the rules the service documents, run before anything is sent.

Each failure is an :class:`InvalidRequestError` naming the argument and the rule.
Limits are those of PROTOCOL.md §1.1 and §2.1; where the vendors disagree we apply the looser
documented limit and let the service have the last word.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, TypeVar

from ._models import Model, PersonaModel, VocalGender
from ._uploads import upload_source
from .errors import InvalidRequestError

E = TypeVar("E", bound=StrEnum)

SIMPLE_PROMPT_MAX = 500
LYRICS_PROMPT_MAX_WORDS = 200


_PROMPT_MAX = {Model.V4: 3000}
_STYLE_MAX = {Model.V4: 200}
_TITLE_MAX = {Model.V4: 80, Model.V4_5ALL: 80}


def limits(model: Model) -> Mapping[str, int]:
    """Custom-mode character limits for ``model``: prompt, style, title."""
    return {
        "prompt": _PROMPT_MAX.get(model, 5000),
        "style": _STYLE_MAX.get(model, 1000),
        "title": _TITLE_MAX.get(model, 100),
    }


def enum_value(enum: type[E], value: Any, field: str) -> E:
    """``value`` as a member of ``enum``, accepting the member or its wire string."""
    if value.__class__ is enum:  # the member itself: spare Enum's call machinery
        return value
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in enum)
        raise InvalidRequestError(
            f"{field}={value!r} is not supported; use one of {allowed}", field=field
        ) from None


def model(value: Any) -> Model:
    return enum_value(Model, value, "model")


def optional_enum(enum: type[E], value: Any, field: str) -> E | None:
    return None if value is None else enum_value(enum, value, field)


def required_text(value: Any, field: str, what: str = "") -> str:
    if not isinstance(value, str) or not value.strip():
        hint = f" ({what})" if what else ""
        raise InvalidRequestError(
            f"{field} is required{hint} and must be a non-empty string", field=field
        )
    return value


def optional_text(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidRequestError(
            f"{field} must be a string, got {type(value).__name__}", field=field
        )
    return value


def max_length(value: str | None, field: str, limit: int, context: str) -> None:
    if value is not None and len(value) > limit:
        raise InvalidRequestError(
            f"{field} is {len(value)} characters; {context} allows at most {limit}", field=field
        )


def unit_interval(value: Any, field: str) -> float | None:
    """An optional weight in 0.00..1.00."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidRequestError(
            f"{field} must be a number from 0 to 1, got {value!r}", field=field
        )
    if not 0.0 <= value <= 1.0:
        raise InvalidRequestError(f"{field} must be between 0 and 1, got {value!r}", field=field)
    return round(float(value), 2)


def positive_number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidRequestError(
            f"{field} must be a number of seconds, got {value!r}", field=field
        )
    if value <= 0:
        raise InvalidRequestError(f"{field} must be greater than 0, got {value!r}", field=field)
    return float(value)


def timeout(value: Any, field: str = "timeout") -> float:
    return positive_number(value, field)


def boolean(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidRequestError(f"{field} must be True or False, got {value!r}", field=field)
    return value


_TUNING = (
    "persona_id",
    "persona_model",
    "negative_tags",
    "vocal_gender",
    "style_weight",
    "weirdness_constraint",
    "audio_weight",
)
# Every field of a song route, unset. Its checked fields start as a copy: whole from the start
# (filling it in never grows the dict), and already right for the tuning not given.
_GENERATE = dict.fromkeys(("custom_mode", "instrumental", "model", "prompt", "style", "title"))
_GENERATE.update(dict.fromkeys(_TUNING))
_EXTENSION = dict.fromkeys(("default_param_flag", "model", "prompt", "style", "title"))
_EXTENSION.update(dict.fromkeys(("continue_at", *_TUNING)))


def _tuning(a: Mapping[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` (a copy of ``_GENERATE`` or ``_EXTENSION``) with the optional tuning
    arguments common to the song routes, checked."""
    if (
        a["persona_id"] is None
        and a["persona_model"] is None
        and a["negative_tags"] is None
        and a["vocal_gender"] is None
        and a["style_weight"] is None
        and a["weirdness_constraint"] is None
        and a["audio_weight"] is None
    ):
        return fields  # the usual call: none given, nothing to check or set
    fields["persona_id"] = a["persona_id"]
    fields["persona_model"] = optional_enum(PersonaModel, a["persona_model"], "persona_model")
    fields["negative_tags"] = optional_text(a["negative_tags"], "negative_tags")
    fields.update(_weights(a))
    return fields


def custom_fields(
    model: Model,
    *,
    prompt: str | None,
    style: str | None,
    title: str | None,
    prompt_required: bool,
    context: str,
) -> None:
    """Required fields and per-model limits of custom parameters."""
    if prompt_required:
        required_text(prompt, "prompt", f"the lyrics, in {context}")
    required_text(style, "style", f"in {context}")
    required_text(title, "title", f"in {context}")
    lim = limits(model)
    where = f"{context} with model {model.value}"
    max_length(prompt, "prompt", lim["prompt"], where)
    max_length(style, "style", lim["style"], where)
    max_length(title, "title", lim["title"], where)


def generate(a: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a ``/suno/generate`` request, after its mode rules (PROTOCOL.md §1.1)."""
    chosen = model(a["model"])
    custom_mode = boolean(a["custom_mode"], "custom_mode")
    instrumental = boolean(a["instrumental"], "instrumental")
    prompt = optional_text(a["prompt"], "prompt")
    style = optional_text(a["style"], "style")
    title = optional_text(a["title"], "title")
    optional_text(a["persona_id"], "persona_id")
    if custom_mode:
        custom_fields(
            chosen,
            prompt=prompt,
            style=style,
            title=title,
            prompt_required=not instrumental,
            context="custom mode" + (" (instrumental)" if instrumental else ""),
        )
    else:
        required_text(prompt, "prompt", "a description of the song, in simple mode")
        max_length(prompt, "prompt", SIMPLE_PROMPT_MAX, "simple mode")
        if a["style"] or a["title"] or a["persona_id"]:
            field = next(f for f in ("style", "title", "persona_id") if a[f])
            raise InvalidRequestError(
                f"{field} is only used in custom mode; pass custom_mode=True "
                f"(with style and title) or leave {field} out",
                field=field,
            )
    fields = _GENERATE.copy()
    fields["custom_mode"] = custom_mode
    fields["instrumental"] = instrumental
    fields["model"] = chosen
    fields["prompt"] = a["prompt"]
    fields["style"] = a["style"]
    fields["title"] = a["title"]
    return _tuning(a, fields)


def extend(a: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a ``/suno/extend`` request, after its rules (PROTOCOL.md §2.1)."""
    chosen = model(a["model"])
    default_param_flag = boolean(a["default_param_flag"], "default_param_flag")
    audio_id = required_text(
        a["audio_id"], "audio_id", "the id of a track from an earlier generate or extend"
    )
    fields = _extension(a, chosen, default_param_flag, prompt_required=True, route="extend")
    return {"audio_id": audio_id, **fields}


def upload_extend(a: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a ``/suno/upload-extend`` request (PROTOCOL-TRANSFORM.md §5)."""
    chosen = model(a["model"])
    default_param_flag = boolean(a["default_param_flag"], "default_param_flag")
    instrumental = boolean(a["instrumental"], "instrumental")
    source = upload_source(a["upload_url"])
    fields = _extension(
        a, chosen, default_param_flag, prompt_required=not instrumental, route="upload_extend"
    )
    return {"upload_url": source, "instrumental": instrumental, **fields}


def _extension(
    a: Mapping[str, Any], chosen: Model, flag: bool, *, prompt_required: bool, route: str
) -> dict[str, Any]:
    # The rules extend and upload_extend share: with the flag off everything is inherited
    # from the source; with it on, custom parameters and a point to continue from.
    prompt = optional_text(a["prompt"], "prompt")
    style = optional_text(a["style"], "style")
    title = optional_text(a["title"], "title")
    optional_text(a["persona_id"], "persona_id")
    continue_at = a["continue_at"]
    if not flag:
        given = [
            name
            for name in ("prompt", "style", "title", "continue_at", "persona_id")
            if a[name] is not None
        ]
        if given:
            raise InvalidRequestError(
                f"{', '.join(given)} only take effect with default_param_flag=True; without it "
                "the extension inherits everything from the source track",
                field=given[0],
            )
    else:
        custom_fields(
            chosen,
            prompt=prompt,
            style=style,
            title=title,
            prompt_required=prompt_required,
            context=f"{route} with default_param_flag=True",
        )
        if continue_at is None:
            raise InvalidRequestError(
                "continue_at is required with default_param_flag=True: the second of the source "
                "track to continue from",
                field="continue_at",
            )
        continue_at = positive_number(continue_at, "continue_at")
    fields = _EXTENSION.copy()
    fields["default_param_flag"] = flag
    fields["model"] = chosen
    fields["prompt"] = a["prompt"]
    fields["style"] = a["style"]
    fields["title"] = a["title"]
    fields["continue_at"] = continue_at
    return _tuning(a, fields)


def upload_cover(a: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a ``/suno/upload-cover`` request: generate's mode rules and a source
    (PROTOCOL-TRANSFORM.md §4)."""
    return {**generate(a), "upload_url": upload_source(a["upload_url"])}


# Models the add-* routes take (PROTOCOL-TRANSFORM.md §6, §7); upstream's default is V4_5PLUS.
_ADD_MODELS = (Model.V4_5PLUS, Model.V5)


def _add_model(value: Any) -> Model | None:
    if value is None:
        return None
    chosen = model(value)
    if chosen not in _ADD_MODELS:
        allowed = ", ".join(repr(m.value) for m in _ADD_MODELS)
        raise InvalidRequestError(
            f"model={chosen.value!r} is not taken by this route; use {allowed} (or leave it out)",
            field="model",
        )
    return chosen


def _weights(a: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "vocal_gender": optional_enum(VocalGender, a["vocal_gender"], "vocal_gender"),
        "style_weight": unit_interval(a["style_weight"], "style_weight"),
        "weirdness_constraint": unit_interval(a["weirdness_constraint"], "weirdness_constraint"),
        "audio_weight": unit_interval(a["audio_weight"], "audio_weight"),
    }


def add_vocals(a: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a ``/suno/add-vocals`` request (PROTOCOL-TRANSFORM.md §6)."""
    return {
        "upload_url": upload_source(a["upload_url"]),
        "prompt": required_text(a["prompt"], "prompt", "the lyrics and how to sing them"),
        "title": required_text(a["title"], "title"),
        "style": required_text(a["style"], "style"),
        "negative_tags": required_text(a["negative_tags"], "negative_tags"),
        "model": _add_model(a["model"]),
        **_weights(a),
    }


def add_instrumental(a: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a ``/suno/add-instrumental`` request (PROTOCOL-TRANSFORM.md §7)."""
    return {
        "upload_url": upload_source(a["upload_url"]),
        "title": required_text(a["title"], "title"),
        "tags": required_text(a["tags"], "tags", "the accompaniment's style"),
        "negative_tags": required_text(a["negative_tags"], "negative_tags"),
        "model": _add_model(a["model"]),
        **_weights(a),
    }


def track(a: Mapping[str, Any]) -> dict[str, Any]:
    """A finished track named by its task and its id (the export and split routes)."""
    return {
        "task_id": required_text(a["task_id"], "task_id", "the task that made the track"),
        "audio_id": required_text(a["audio_id"], "audio_id", "the track's id"),
    }


def replace_section(a: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a ``/suno/replace-section`` request (PROTOCOL-TRANSFORM.md §11)."""
    start = a["infill_start_s"]
    if isinstance(start, bool) or not isinstance(start, int | float) or not start >= 0:
        raise InvalidRequestError(
            f"infill_start_s must be a number of seconds >= 0, got {start!r}",
            field="infill_start_s",
        )
    end = positive_number(a["infill_end_s"], "infill_end_s")
    if not end > start:
        raise InvalidRequestError(
            f"infill_end_s ({end:g}) must be after infill_start_s ({start:g})",
            field="infill_end_s",
        )
    return {
        **track(a),
        "prompt": required_text(a["prompt"], "prompt", "the lyrics of the new section"),
        "tags": required_text(a["tags"], "tags"),
        "title": required_text(a["title"], "title"),
        "infill_start_s": round(float(start), 2),
        "infill_end_s": round(end, 2),
        "full_lyrics": optional_text(a["full_lyrics"], "full_lyrics"),
        "negative_tags": optional_text(a["negative_tags"], "negative_tags"),
    }


def short_text(value: Any, field: str, limit: int) -> str | None:
    text = optional_text(value, field)
    max_length(text, field, limit, "the service")
    return text


def persona(a: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a ``/suno/generate-persona`` request (PROTOCOL-TRANSFORM.md §8)."""
    start, end = a["vocal_start"], a["vocal_end"]
    for field, value in (("vocal_start", start), ("vocal_end", end)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0
        ):
            raise InvalidRequestError(
                f"{field} must be a number of seconds >= 0, got {value!r}", field=field
            )
    # The service's defaults are 0 and 30; the span must be 10 to 30 seconds.
    span = (30.0 if end is None else end) - (0.0 if start is None else start)
    if not 10 <= span <= 30:
        raise InvalidRequestError(
            f"vocal_end - vocal_start must be 10 to 30 seconds, got {span:g}", field="vocal_end"
        )
    return {
        **track(a),
        "name": required_text(a["name"], "name", "the persona's name"),
        "description": required_text(a["description"], "description", "what the voice is like"),
        "vocal_start": None if start is None else float(start),
        "vocal_end": None if end is None else float(end),
        "style": optional_text(a["style"], "style"),
    }


def lyrics_prompt(prompt: Any) -> str:
    text = required_text(prompt, "prompt", "what the lyrics should be about")
    words = len(text.split())
    if words > LYRICS_PROMPT_MAX_WORDS:
        raise InvalidRequestError(
            f"prompt is {words} words; generate_lyrics allows at most {LYRICS_PROMPT_MAX_WORDS}",
            field="prompt",
        )
    return text
