"""The public face as a user meets it: every argument in help, typos refused like Python does,
settings that belong together passed as one value, and the routes table behind the methods."""

from __future__ import annotations

import inspect
import pydoc

import pytest

from anyint_music import (
    AnyIntMusic,
    ConfigurationError,
    ExtendOptions,
    GenerateOptions,
    Model,
    RetryPolicy,
    ServerError,
)
from anyint_music.testing import FakeGateway

SONG_METHODS = [
    ("generate", GenerateOptions),
    ("submit_generate", GenerateOptions),
    ("extend", ExtendOptions),
    ("submit_extend", ExtendOptions),
]


@pytest.mark.parametrize(("name", "options"), SONG_METHODS, ids=[n for n, _ in SONG_METHODS])
def test_help_lists_and_explains_every_argument_of_a_song_method(name: str, options: type) -> None:
    method = getattr(AnyIntMusic, name)
    params = inspect.signature(method).parameters
    assert set(options.__annotations__) <= set(params)
    assert params["model"].default is inspect.Parameter.empty  # required
    assert all(params[n].kind is inspect.Parameter.KEYWORD_ONLY for n in options.__annotations__)
    assert not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    text = pydoc.render_doc(method, renderer=pydoc.TextDoc())
    for option in options.__annotations__:
        assert f"{option}: " in text, f"help({name}) does not explain {option}"
    if not name.startswith("submit_"):
        assert "timeout" in params


def test_the_defaults_in_help_are_the_defaults_that_are_sent() -> None:
    params = inspect.signature(AnyIntMusic.generate).parameters
    assert params["instrumental"].default is False
    assert params["custom_mode"].default is False
    assert params["style"].default is None
    assert inspect.signature(AnyIntMusic.extend).parameters["default_param_flag"].default is False


async def test_a_mistyped_or_missing_keyword_is_a_type_error_and_nothing_is_sent(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'instrumentl'"):
        await anyint_client.generate("x", model=Model.V5, instrumentl=True)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="missing required keyword-only argument: 'model'"):
        await anyint_client.submit_extend("audio")  # type: ignore[call-arg]
    assert not [r for r in anyint_gateway.requests if r.method == "POST"]
    assert anyint_gateway.tasks == []


async def test_the_options_sent_are_the_options_given(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    options: GenerateOptions = {
        "model": "V4",
        "custom_mode": True,
        "style": "folk",
        "title": "T",
        "vocal_gender": "f",
        "style_weight": 0.5,
    }
    song = await anyint_client.generate("la la", **options)
    body = anyint_gateway.task(song.task_id).request
    assert body["customMode"] is True
    assert body["instrumental"] is False
    assert (body["model"], body["style"], body["title"]) == ("V4", "folk", "T")
    assert (body["vocalGender"], body["styleWeight"], body["prompt"]) == ("f", 0.5, "la la")


async def test_a_retry_policy_passed_as_one_value_is_the_one_used(
    anyint_gateway: FakeGateway,
) -> None:
    anyint_gateway.fail_submit("/suno/generate", times=1, status=503)
    async with AnyIntMusic(
        api_key=anyint_gateway.api_key,
        base_url=anyint_gateway.url,
        retry=RetryPolicy(max_attempts=1, max_time=0),
    ) as client:
        with pytest.raises(ServerError):
            await client.generate("once", model=Model.V5)
        song = await client.generate("twice", model=Model.V5)  # the failure was used up
    assert song.tracks
    submits = [r for r in anyint_gateway.requests if r.path == "/suno/generate"]
    assert len(submits) == 2


def test_a_retry_policy_out_of_range_or_given_twice_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ConfigurationError, match="backoff"):
        RetryPolicy(backoff=-1)
    with pytest.raises(ConfigurationError, match="not both"):
        AnyIntMusic(api_key="k", retry=RetryPolicy(), max_attempts=2)
