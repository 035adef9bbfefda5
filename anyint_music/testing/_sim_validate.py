"""Request checks of the simulated gateway that need no task state (PROTOCOL §1.1, §2.1, §3.1)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ._sim_content import MODELS

SIMPLE_PROMPT_MAX = 500
LYRICS_PROMPT_MAX_WORDS = 200
ADD_MODELS = ("V4_5PLUS", "V5")  # add-vocals, add-instrumental (sunoapi; kie adds V5_5)
STEM_TYPES = ("separate_vocal", "split_stem")
MP4_TEXT_MAX = 50
PERSONA_SPAN = (10.0, 30.0)  # vocalEnd - vocalStart, seconds
REPLACE_SPAN = (6.0, 60.0)  # infillEndS - infillStartS, seconds


class Refusal(Exception):
    """A request the gateway refuses; becomes an error answer in the configured style."""

    def __init__(self, code: int, msg: str, data: Any = None) -> None:
        super().__init__(code, msg)
        self.code = code
        self.msg = msg
        self.data = data


def prompt_max(model: str) -> int:
    """Custom-mode prompt limit for a model."""
    return 3000 if model == "V4" else 5000


def style_max(model: str) -> int:
    """Style limit for a model."""
    return 200 if model == "V4" else 1000


def title_max(model: str) -> int:
    """Title limit for a model (sunoapi's and kie's extend page's values)."""
    return 80 if model in ("V4", "V4_5ALL") else 100


def _string(body: dict[str, Any], key: str, *, required: bool) -> str:
    value = body.get(key)
    if value is None or value == "":
        if required:
            raise Refusal(400, f"{key} cannot be empty.")
        return ""
    if not isinstance(value, str):
        raise Refusal(400, f"{key} must be a string.")
    return value


def _flag(body: dict[str, Any], key: str) -> bool:
    value = body.get(key)
    if value is None:
        raise Refusal(400, f"{key} cannot be null.")
    if not isinstance(value, bool):
        raise Refusal(400, f"{key} must be a boolean.")
    return value


def callback_url(body: dict[str, Any]) -> str:
    """Return the request's ``callBackUrl`` or refuse it like the upstream does."""
    value = body.get("callBackUrl")
    if not value:
        raise Refusal(400, "Please enter callBackUrl.")
    return _url(value, "callBackUrl")


def upload_url(body: dict[str, Any]) -> str:
    """Return the request's ``uploadUrl`` or refuse it."""
    value = body.get("uploadUrl")
    if not value:
        raise Refusal(400, "uploadUrl cannot be empty.")
    return _url(value, "uploadUrl")


def _url(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise Refusal(400, f"{key} must be a string.")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise Refusal(400, f"{key} must be an http(s) URL.")
    return value


def model(body: dict[str, Any]) -> str:
    """Return the request's model or refuse it."""
    value = body.get("model")
    if value is None or value == "":
        raise Refusal(400, "model cannot be null.")
    if value not in MODELS:
        raise Refusal(400, f"model must be one of {', '.join(MODELS)}.")
    return str(value)


def _optional_fields(body: dict[str, Any]) -> None:
    for key in ("styleWeight", "weirdnessConstraint", "audioWeight"):
        value = body.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise Refusal(400, f"{key} must be a number between 0 and 1.")
    if body.get("vocalGender") not in (None, "", "m", "f"):
        raise Refusal(400, "vocalGender must be 'm' or 'f'.")
    if body.get("personaModel") not in (None, "", "style_persona", "voice_persona"):
        raise Refusal(400, "personaModel must be 'style_persona' or 'voice_persona'.")
    for key in ("negativeTags", "personaId"):
        _string(body, key, required=False)


def _custom_limits(mdl: str, prompt: str, style: str, title: str) -> None:
    if len(prompt) > prompt_max(mdl):
        raise Refusal(413, f"prompt is too long: at most {prompt_max(mdl)} characters for {mdl}.")
    if len(style) > style_max(mdl):
        raise Refusal(413, f"style is too long: at most {style_max(mdl)} characters for {mdl}.")
    if len(title) > title_max(mdl):
        raise Refusal(413, f"title is too long: at most {title_max(mdl)} characters for {mdl}.")


def check_generate(body: dict[str, Any]) -> None:
    """Refuse a ``/suno/generate`` body that breaks the documented rules."""
    callback_url(body)
    custom = _flag(body, "customMode")
    instrumental = _flag(body, "instrumental")
    mdl = model(body)
    _optional_fields(body)
    if not custom:
        prompt = _string(body, "prompt", required=True)
        if len(prompt) > SIMPLE_PROMPT_MAX:
            raise Refusal(
                413, f"prompt is too long: at most {SIMPLE_PROMPT_MAX} characters in simple mode."
            )
        return
    style = _string(body, "style", required=True)
    title = _string(body, "title", required=True)
    prompt = _string(body, "prompt", required=not instrumental)
    _custom_limits(mdl, prompt, style, title)


def check_extend(body: dict[str, Any]) -> tuple[str, bool, float | None]:
    """Check an extend body's own fields.

    Returns:
        The source audio id, the ``defaultParamFlag`` and ``continueAt`` (when the flag is set).
        The source track itself is checked by the gateway.
    """
    callback_url(body)
    audio = _string(body, "audioId", required=True)
    flag = _flag(body, "defaultParamFlag")
    mdl = model(body)
    _optional_fields(body)
    if not flag:
        return audio, flag, None
    prompt = _string(body, "prompt", required=True)
    return audio, flag, _custom_continuation(body, mdl, prompt)


def _seconds(body: dict[str, Any], key: str, *, when: str = "") -> float:
    value = body.get(key)
    if value is None:
        raise Refusal(400, f"{key} cannot be null{when}.")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Refusal(400, f"{key} must be a number of seconds.")
    return float(value)


def _custom_continuation(body: dict[str, Any], mdl: str, prompt: str) -> float:
    """Check the style, title and ``continueAt`` of a continuation with its own parameters."""
    style = _string(body, "style", required=True)
    title = _string(body, "title", required=True)
    at = _seconds(body, "continueAt", when=" when defaultParamFlag is true")
    _custom_limits(mdl, prompt, style, title)
    return at


def check_lyrics(body: dict[str, Any]) -> str:
    """Check a generate-lyrics body and return its prompt."""
    callback_url(body)
    prompt = _string(body, "prompt", required=True)
    if len(prompt.split()) > LYRICS_PROMPT_MAX_WORDS:
        raise Refusal(413, f"prompt is too long: at most {LYRICS_PROMPT_MAX_WORDS} words.")
    return prompt


def task_id(body: dict[str, Any]) -> str:
    """Return the body's ``taskId`` or refuse it."""
    return _string(body, "taskId", required=True)


def audio_id(body: dict[str, Any]) -> str:
    """Return the body's ``audioId`` or refuse it."""
    return _string(body, "audioId", required=True)


def content(body: dict[str, Any]) -> str:
    """Return a style-generate body's ``content`` or refuse it."""
    value = _string(body, "content", required=True)
    if not value.strip():
        raise Refusal(400, "content cannot be empty.")
    return value


# --- transform and export routes (PROTOCOL-TRANSFORM §4-§13) ---------------------------------


def check_upload_cover(body: dict[str, Any]) -> None:
    """Refuse an upload-cover body: generate's rules (§4.1) plus an ``uploadUrl``."""
    check_generate(body)
    upload_url(body)


def check_upload_extend(body: dict[str, Any]) -> tuple[bool, float | None]:
    """Check an upload-extend body (§5.1).

    Returns:
        The ``defaultParamFlag`` and ``continueAt`` (when the flag is set; above 0). Whether it
        lies within the uploaded audio is not checked: the simulator does not decode it.
    """
    callback_url(body)
    upload_url(body)
    flag = _flag(body, "defaultParamFlag")
    mdl = model(body)
    instrumental = body.get("instrumental")
    if instrumental is None:  # optional on sunoapi (kie's schema requires it)
        instrumental = False
    if not isinstance(instrumental, bool):
        raise Refusal(400, "instrumental must be a boolean.")
    _optional_fields(body)
    if not flag:
        _string(body, "prompt", required=False)
        return flag, None
    prompt = _string(body, "prompt", required=not instrumental)
    at = _custom_continuation(body, mdl, prompt)
    if at <= 0:
        raise Refusal(400, "continueAt must be greater than 0.")
    return flag, at


def check_add(body: dict[str, Any], required: tuple[str, ...]) -> str:
    """Check an add-vocals or add-instrumental body (§6.1, §7.1) and return its model.

    Args:
        body: The request body.
        required: The text fields the route requires besides ``uploadUrl`` and ``callBackUrl``.
    """
    callback_url(body)
    upload_url(body)
    for key in required:
        _string(body, key, required=True)
    value = body.get("model")
    if value is None or value == "":
        value = ADD_MODELS[0]
    if value not in ADD_MODELS:
        raise Refusal(400, f"model must be one of {', '.join(ADD_MODELS)}.")
    _optional_fields(body)
    return str(value)


def check_replace_section(body: dict[str, Any]) -> tuple[float, float]:
    """Check a replace-section body's own fields (§11.1, kie's shape).

    Returns:
        ``infillStartS`` and ``infillEndS``; the span against the track is checked by the
        caller. ``taskId``/``audioId`` are read by the caller too.
    """
    if body.get("callBackUrl") not in (None, ""):
        callback_url(body)
    task_id(body)
    audio_id(body)
    for key in ("prompt", "tags", "title"):
        _string(body, key, required=True)
    for key in ("fullLyrics", "negativeTags"):
        _string(body, key, required=False)
    start, end = _seconds(body, "infillStartS"), _seconds(body, "infillEndS")
    if any(round(v, 2) != v for v in (start, end)):
        raise Refusal(400, "infillStartS and infillEndS take at most 2 decimal places.")
    if start < 0:
        raise Refusal(400, "infillStartS must not be negative.")
    if start >= end:
        raise Refusal(400, "infillStartS must be less than infillEndS.")
    low, high = REPLACE_SPAN
    if not low <= end - start <= high:
        raise Refusal(400, f"The replaced section must last {low:g} to {high:g} seconds.")
    return start, end


def check_track_request(body: dict[str, Any]) -> tuple[str, str]:
    """Check a body naming a track and a callback (§9, §12, §13); return taskId and audioId."""
    callback_url(body)
    return task_id(body), audio_id(body)


def stem_type(body: dict[str, Any]) -> str:
    """Return a vocal-removal body's ``type`` (``separate_vocal`` when absent) or refuse it."""
    value = body.get("type")
    if value is None or value == "":
        return STEM_TYPES[0]
    if value not in STEM_TYPES:
        raise Refusal(400, f"type must be one of {', '.join(STEM_TYPES)}.")
    return str(value)


def check_mp4(body: dict[str, Any]) -> None:
    """Refuse an mp4-generate body's ``author``/``domainName`` over 50 characters (§13.1)."""
    for key in ("author", "domainName"):
        if len(_string(body, key, required=False)) > MP4_TEXT_MAX:
            raise Refusal(400, f"{key} must be at most {MP4_TEXT_MAX} characters.")


def check_persona(body: dict[str, Any], *, with_callback: bool) -> tuple[float, float]:
    """Check a generate-persona body (§8.1).

    Args:
        body: The request body.
        with_callback: The persona comes by callback, so ``callBackUrl`` is required.

    Returns:
        ``vocalStart`` and ``vocalEnd`` (0 and 30 when absent), 10 to 30 seconds apart.
    """
    if with_callback:
        callback_url(body)
    task_id(body)
    audio_id(body)
    _string(body, "name", required=True)
    _string(body, "description", required=True)
    _string(body, "style", required=False)
    start = _seconds(body, "vocalStart") if body.get("vocalStart") is not None else 0.0
    end = _seconds(body, "vocalEnd") if body.get("vocalEnd") is not None else 30.0
    low, high = PERSONA_SPAN
    if start < 0 or not low <= end - start <= high:
        raise Refusal(400, f"vocalEnd - vocalStart must be {low:g} to {high:g} seconds, from 0 on.")
    return start, end
