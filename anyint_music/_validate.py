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


def _tuning(a: Mapping[str, Any]) -> dict[str, Any]:
    """The optional tuning arguments common to the song routes, checked."""
    return {
        "persona_id": a["persona_id"],
        "persona_model": optional_enum(PersonaModel, a["persona_model"], "persona_model"),
        "vocal_gender": optional_enum(VocalGender, a["vocal_gender"], "vocal_gender"),
        "style_weight": unit_interval(a["style_weight"], "style_weight"),
        "weirdness_constraint": unit_interval(a["weirdness_constraint"], "weirdness_constraint"),
        "audio_weight": unit_interval(a["audio_weight"], "audio_weight"),
        "negative_tags": optional_text(a["negative_tags"], "negative_tags"),
    }


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
        for field in ("style", "title", "persona_id"):
            if a[field]:
                raise InvalidRequestError(
                    f"{field} is only used in custom mode; pass custom_mode=True "
                    f"(with style and title) or leave {field} out",
                    field=field,
                )
    return {
        "custom_mode": custom_mode,
        "instrumental": instrumental,
        "model": chosen,
        "prompt": a["prompt"],
        "style": a["style"],
        "title": a["title"],
        **_tuning(a),
    }


def extend(a: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a ``/suno/extend`` request, after its rules (PROTOCOL.md §2.1)."""
    chosen = model(a["model"])
    default_param_flag = boolean(a["default_param_flag"], "default_param_flag")
    audio_id = required_text(
        a["audio_id"], "audio_id", "the id of a track from an earlier generate or extend"
    )
    prompt = optional_text(a["prompt"], "prompt")
    style = optional_text(a["style"], "style")
    title = optional_text(a["title"], "title")
    optional_text(a["persona_id"], "persona_id")
    continue_at = a["continue_at"]
    if not default_param_flag:
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
            prompt_required=True,
            context="extend with default_param_flag=True",
        )
        if continue_at is None:
            raise InvalidRequestError(
                "continue_at is required with default_param_flag=True: the second of the source "
                "track to continue from",
                field="continue_at",
            )
        continue_at = positive_number(continue_at, "continue_at")
    return {
        "audio_id": audio_id,
        "default_param_flag": default_param_flag,
        "model": chosen,
        "prompt": a["prompt"],
        "style": a["style"],
        "title": a["title"],
        "continue_at": continue_at,
        **_tuning(a),
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
