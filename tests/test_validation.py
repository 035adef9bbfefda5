"""Documented rules are checked before anything is sent, with messages naming field and limit."""

from __future__ import annotations

from typing import Any

import pytest

from anyint_music import AnyIntMusic, InvalidRequestError, Model
from anyint_music.testing import FakeGateway


def _sent(gateway: FakeGateway) -> list[str]:
    return [r.path for r in gateway.requests if r.path.startswith("/suno/")]


@pytest.mark.parametrize(
    ("kwargs", "field", "words"),
    [
        ({"prompt": None, "model": "V5"}, "prompt", "required"),
        ({"prompt": "  ", "model": "V5"}, "prompt", "required"),
        ({"prompt": "x" * 501, "model": "V5"}, "prompt", "at most 500"),
        ({"prompt": "x", "model": "V6"}, "model", "'V4', 'V4_5'"),
        ({"prompt": "x", "model": "V5", "style": "rock"}, "style", "custom_mode=True"),
        ({"prompt": "x", "model": "V5", "persona_id": "p"}, "persona_id", "custom mode"),
        ({"model": "V5", "custom_mode": True, "title": "T", "prompt": "la"}, "style", "required"),
        ({"model": "V5", "custom_mode": True, "style": "S", "prompt": "la"}, "title", "required"),
        ({"model": "V5", "custom_mode": True, "style": "S", "title": "T"}, "prompt", "lyrics"),
        (
            {"model": "V4", "custom_mode": True, "style": "S", "title": "T", "prompt": "x" * 3001},
            "prompt",
            "at most 3000",
        ),
        (
            {"model": "V5", "custom_mode": True, "style": "S", "title": "T", "prompt": "x" * 5001},
            "prompt",
            "at most 5000",
        ),
        (
            {
                "model": "V4",
                "custom_mode": True,
                "style": "s" * 201,
                "title": "T",
                "instrumental": True,
            },
            "style",
            "at most 200",
        ),
        (
            {
                "model": "V5",
                "custom_mode": True,
                "style": "s" * 1001,
                "title": "T",
                "instrumental": True,
            },
            "style",
            "at most 1000",
        ),
        (
            {
                "model": "V4_5ALL",
                "custom_mode": True,
                "style": "s",
                "title": "t" * 81,
                "instrumental": True,
            },
            "title",
            "at most 80",
        ),
        (
            {
                "model": "V5",
                "custom_mode": True,
                "style": "s",
                "title": "t" * 101,
                "instrumental": True,
            },
            "title",
            "at most 100",
        ),
        ({"prompt": "x", "model": "V5", "style_weight": 1.5}, "style_weight", "between 0 and 1"),
        (
            {"prompt": "x", "model": "V5", "weirdness_constraint": -0.1},
            "weirdness_constraint",
            "between 0 and 1",
        ),
        (
            {"prompt": "x", "model": "V5", "audio_weight": float("nan")},
            "audio_weight",
            "number from 0 to 1",
        ),
        (
            {"prompt": "x", "model": "V5", "audio_weight": True},
            "audio_weight",
            "number from 0 to 1",
        ),
        ({"prompt": "x", "model": "V5", "vocal_gender": "x"}, "vocal_gender", "'m', 'f'"),
        (
            {"prompt": "x", "model": "V5", "persona_model": "robot"},
            "persona_model",
            "style_persona",
        ),
        ({"prompt": "x", "model": "V5", "instrumental": "yes"}, "instrumental", "True or False"),
    ],
)
async def test_generate_rules(
    anyint_gateway: FakeGateway,
    anyint_client: AnyIntMusic,
    kwargs: dict[str, Any],
    field: str,
    words: str,
) -> None:
    with pytest.raises(InvalidRequestError, match=field) as info:
        await anyint_client.generate(**kwargs)
    assert info.value.field == field
    assert words in str(info.value)
    assert isinstance(info.value, ValueError)
    assert _sent(anyint_gateway) == []


async def test_limits_at_the_boundary_are_accepted(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    await anyint_client.submit_generate("x" * 500, model=Model.V5)
    await anyint_client.submit_generate(
        "x" * 3000, model=Model.V4, custom_mode=True, style="s" * 200, title="t" * 80
    )
    await anyint_client.submit_generate(
        model=Model.V5,
        custom_mode=True,
        instrumental=True,
        style="s" * 1000,
        title="t" * 100,
        style_weight=0,
        audio_weight=1,
    )
    assert _sent(anyint_gateway) == ["/suno/generate"] * 3


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"audio_id": ""}, "audio_id"),
        ({"audio_id": "a", "style": "x"}, "style"),
        ({"audio_id": "a", "continue_at": 3}, "continue_at"),
        (
            {
                "audio_id": "a",
                "default_param_flag": True,
                "prompt": "p",
                "style": "s",
                "title": "t",
            },
            "continue_at",
        ),
        (
            {
                "audio_id": "a",
                "default_param_flag": True,
                "prompt": "p",
                "style": "s",
                "title": "t",
                "continue_at": 0,
            },
            "continue_at",
        ),
        (
            {
                "audio_id": "a",
                "default_param_flag": True,
                "style": "s",
                "title": "t",
                "continue_at": 5,
            },
            "prompt",
        ),
        (
            {
                "audio_id": "a",
                "default_param_flag": True,
                "prompt": "p",
                "style": "s" * 1001,
                "title": "t",
                "continue_at": 5,
            },
            "style",
        ),
    ],
)
async def test_extend_rules(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic, kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidRequestError) as info:
        await anyint_client.extend(model=Model.V5, **kwargs)
    assert info.value.field == field
    assert _sent(anyint_gateway) == []


async def test_lyrics_prompt_limit_is_200_words(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    with pytest.raises(InvalidRequestError, match="201 words"):
        await anyint_client.generate_lyrics(" ".join(["word"] * 201))
    with pytest.raises(InvalidRequestError, match="prompt is required"):
        await anyint_client.generate_lyrics("")
    assert _sent(anyint_gateway) == []


async def test_sync_routes_and_cover_need_their_ids(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    with pytest.raises(InvalidRequestError, match="audio_id"):
        await anyint_client.timestamped_lyrics("t", "")
    with pytest.raises(InvalidRequestError, match="content"):
        await anyint_client.style_generate("")
    with pytest.raises(InvalidRequestError, match="task_id"):
        await anyint_client.generate_cover("")
    with pytest.raises(InvalidRequestError, match="timeout"):
        await anyint_client.generate(prompt="x", model=Model.V5, timeout=-1)
    assert _sent(anyint_gateway) == []
