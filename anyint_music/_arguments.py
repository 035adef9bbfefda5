"""The keyword arguments of the song routes, declared once for a waiting method and its submit_*.

``generate`` and ``submit_generate`` both take ``**options: Unpack[GenerateOptions]``, so type
checkers and editors check and complete every keyword, and ``help()`` lists them (see
``_routes.shows``). The annotations are evaluated (no ``from __future__ import annotations``):
``Required`` must be visible to ``TypedDict`` at run time.
"""

from collections.abc import Mapping
from typing import Required, TypedDict

from ._models import Model, PersonaModel, VocalGender


class _SongOptions(TypedDict, total=False):
    # The fields generate and extend share (PROTOCOL.md §1.1, §2.1).
    model: Required[Model | str]
    style: str | None
    title: str | None
    persona_id: str | None
    persona_model: PersonaModel | str | None
    negative_tags: str | None
    vocal_gender: VocalGender | str | None
    style_weight: float | None
    weirdness_constraint: float | None
    audio_weight: float | None


class GenerateOptions(_SongOptions, total=False):
    """The keyword arguments of :meth:`AnyIntMusic.generate` and ``submit_generate``.

    ``model`` is required; the others are optional. Use it to type a function that passes
    them on: ``async def make(prompt: str, **options: Unpack[GenerateOptions])``.
    """

    instrumental: bool
    custom_mode: bool


class ExtendOptions(_SongOptions, total=False):
    """The keyword arguments of :meth:`AnyIntMusic.extend` and ``submit_extend``.

    ``model`` is required; the others are optional.
    """

    default_param_flag: bool
    continue_at: float | None
    prompt: str | None


# What each option means, for the methods' help (``_routes.shows`` writes it into their "Args").
OPTION_DOCS: Mapping[str, str] = {
    "model": 'a :class:`Model` or its name, e.g. ``Model.V5`` or ``"V5"``.',
    "instrumental": "no vocals.",
    "custom_mode": "use ``style``, ``title`` and ``prompt`` as given.",
    "default_param_flag": "use ``prompt``, ``style``, ``title`` and ``continue_at``.",
    "continue_at": "the second of the source track to continue from.",
    "prompt": "the lyrics to sing (with ``default_param_flag=True``).",
    "style": "style tags (custom parameters only).",
    "title": "song title (custom parameters only).",
    "persona_id": "a saved voice identity (custom parameters only).",
    "persona_model": "which kind ``persona_id`` is.",
    "negative_tags": "styles to avoid.",
    "vocal_gender": '``"m"`` or ``"f"``.',
    "style_weight": "0..1.",
    "weirdness_constraint": "0..1.",
    "audio_weight": "0..1.",
}
