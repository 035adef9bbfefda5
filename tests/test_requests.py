"""Every route's request body as a submit writes it (``Route.wire``, from the checked fields)
is the one its request model gives through cattrs: the same keys, values and order."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs
import cattrs
import pytest
from cattrs.gen import make_dict_unstructure_fn, override

from anyint_music._convert import _camel, configure_converter, to_wire
from anyint_music._http import _dumps
from anyint_music._routes import ROUTES, Route

URL = "https://example.test/source.mp3"
SONG = {
    "persona_id": "persona-1",
    "persona_model": "voice_persona",
    "negative_tags": "metal",
    "vocal_gender": "f",
    "style_weight": 0.654,
    "weirdness_constraint": 0,
    "audio_weight": 1,
}
WEIGHTS = {k: SONG[k] for k in ("vocal_gender", "style_weight", "weirdness_constraint")}

# Per route: (args, kwargs) of the least and of the most a caller can give.
CALLS: dict[str, list[tuple[tuple[Any, ...], dict[str, Any]]]] = {
    "generate": [
        (("a song",), {"model": "V5"}),
        (("a song",), {"model": "V4", "instrumental": True}),
        (
            ("lyrics",),
            {"model": "V4_5", "custom_mode": True, "style": "pop", "title": "T", **SONG},
        ),
    ],
    "extend": [
        (("audio-1",), {"model": "V5"}),
        (
            ("audio-1",),
            {
                "model": "V4_5PLUS",
                "default_param_flag": True,
                "continue_at": 12,
                "prompt": "more",
                "style": "pop",
                "title": "T",
                **SONG,
            },
        ),
    ],
    "generate_lyrics": [(("about the sea",), {})],
    "generate_cover": [(("task-1",), {})],
    "timestamped_lyrics": [(("task-1", "audio-1"), {})],
    "style_generate": [(("dreamy pop",), {})],
    "upload_cover": [
        ((URL,), {"model": "V5", "prompt": "a cover"}),
        (
            (URL,),
            {"model": "V5", "custom_mode": True, "prompt": "p", "style": "s", "title": "t", **SONG},
        ),
    ],
    "upload_extend": [
        ((URL,), {"model": "V5"}),
        (
            (URL,),
            {
                "model": "V5",
                "default_param_flag": True,
                "instrumental": True,
                "continue_at": 3.5,
                "style": "s",
                "title": "t",
                **SONG,
            },
        ),
    ],
    "add_vocals": [
        ((URL,), {"prompt": "p", "title": "t", "style": "s", "negative_tags": "n"}),
        (
            (URL,),
            {"prompt": "p", "title": "t", "style": "s", "negative_tags": "n", "model": "V5"}
            | WEIGHTS,
        ),
    ],
    "add_instrumental": [
        ((URL,), {"title": "t", "tags": "g", "negative_tags": "n"}),
        ((URL,), {"title": "t", "tags": "g", "negative_tags": "n", "model": "V4_5PLUS"} | WEIGHTS),
    ],
    "replace_section": [
        (
            ("task-1", "audio-1"),
            {"prompt": "p", "tags": "g", "title": "t", "infill_start_s": 0, "infill_end_s": 9.5},
        ),
        (
            ("task-1", "audio-1"),
            {
                "prompt": "p",
                "tags": "g",
                "title": "t",
                "infill_start_s": 1.234,
                "infill_end_s": 20,
                "full_lyrics": "all",
                "negative_tags": "n",
            },
        ),
    ],
    "vocal_removal": [(("task-1", "audio-1"), {}), (("task-1", "audio-1"), {"type": "split_stem"})],
    "split_stem": [(("task-1", "audio-1"), {})],
    "wav_generate": [(("task-1", "audio-1"), {})],
    "mp4_generate": [
        (("task-1", "audio-1"), {}),
        (("task-1", "audio-1"), {"author": "me", "domain_name": "example.test"}),
    ],
    "generate_persona": [
        (("task-1", "audio-1"), {"name": "n", "description": "d"}),
        (
            ("task-1", "audio-1"),
            {"name": "n", "description": "d", "vocal_start": 5, "vocal_end": 30, "style": "s"},
        ),
    ],
}


def cattrs_wire(request: Any) -> dict[str, Any]:
    """The request as cattrs' own generated function writes it (camelCase, None left out)."""
    conv = configure_converter(cattrs.Converter())
    cls = type(request)
    overrides = {
        f.name: override(rename=_camel(f.name), omit_if_default=f.default is None)
        for f in attrs.fields(cls)
    }
    body: dict[str, Any] = make_dict_unstructure_fn(cls, conv, **overrides)(request)
    return body


def test_every_route_has_calls() -> None:
    assert set(CALLS) == set(ROUTES)


@pytest.mark.parametrize(
    ("route", "args", "kwargs"),
    [(ROUTES[name], args, kwargs) for name, calls in CALLS.items() for args, kwargs in calls],
    ids=lambda v: v.method if isinstance(v, Route) else None,
)
def test_the_written_body_is_the_models(
    route: Route[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    fields = route.fields(args, kwargs)
    names = {f.name for f in attrs.fields(route.request)}
    more: Mapping[str, Any] = {"call_back_url": "https://hooks.test/cb/x"} if route.kind else {}
    assert set(fields) | set(more) <= names  # nothing the model would refuse, nor drop
    model = route.body(fields, **more)
    written = route.wire(fields, more)
    assert list(written.items()) == list(cattrs_wire(model).items())
    assert json.dumps(written) == json.dumps(to_wire(model))


def test_a_missing_required_field_is_the_models_type_error() -> None:
    route = ROUTES["generate"]
    fields = dict(route.fields(("a song",), {"model": "V5"}))
    with pytest.raises(TypeError, match="call_back_url"):
        route.wire(fields, {})


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"model": "V5", "customMode": False, "styleWeight": 0.65, "prompt": 'é\u2028"\\\t'},
        {"weights": [0.1 + 0.2, 1e300, -0.0, 3, None, True], "nested": {"x": "y"}},
        {"nan": float("nan"), "inf": float("-inf")},
    ],
)
def test_the_sessions_json_is_json_dumps(body: dict[str, Any]) -> None:
    assert _dumps(body) == json.dumps(body)


def test_the_sessions_json_refuses_what_json_dumps_refuses() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        _dumps({"x": object()})
