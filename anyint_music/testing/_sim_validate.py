"""Request checks of the simulated gateway that need no task state (PROTOCOL §1.1, §2.1, §3.1)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ._sim_content import MODELS

SIMPLE_PROMPT_MAX = 500
LYRICS_PROMPT_MAX_WORDS = 200


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
    if not isinstance(value, str):
        raise Refusal(400, "callBackUrl must be a string.")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise Refusal(400, "callBackUrl must be an http(s) URL.")
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
    style = _string(body, "style", required=True)
    title = _string(body, "title", required=True)
    at = body.get("continueAt")
    if at is None:
        raise Refusal(400, "continueAt cannot be null when defaultParamFlag is true.")
    if isinstance(at, bool) or not isinstance(at, int | float):
        raise Refusal(400, "continueAt must be a number of seconds.")
    _custom_limits(mdl, prompt, style, title)
    return audio, flag, float(at)


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
