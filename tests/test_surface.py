"""The public face as a user meets it: every argument in help, typos refused like Python does,
settings that belong together passed as one value, and the routes table behind the methods."""

from __future__ import annotations

import asyncio
import inspect
import pydoc
from typing import Any

import pytest

from anyint_music import (
    AnyIntMusic,
    ConfigurationError,
    Model,
    RateLimitError,
    RetryPolicy,
    ServerError,
    Task,
    TaskTimeoutError,
)
from anyint_music._routes import ROUTES, Route
from anyint_music.testing import FakeGateway


def _submit_form(route: Route[..., Any]) -> str | None:
    # Every task route has a submit_* form, but the persona route: upstream answers at once.
    if route.kind is None or route.immediate is not None:
        return None
    return route.submit_name or f"submit_{route.method}"


METHODS = sorted(
    {name for route in ROUTES.values() for name in (route.method, _submit_form(route)) if name}
)


@pytest.mark.parametrize("name", METHODS)
def test_help_lists_and_explains_every_argument_of_every_route_method(name: str) -> None:
    method = getattr(AnyIntMusic, name)
    assert method.__name__ == name
    params = inspect.signature(method).parameters
    assert next(iter(params)) == "self"
    assert not any(p.kind is p.VAR_KEYWORD or p.kind is p.VAR_POSITIONAL for p in params.values())
    text = pydoc.render_doc(method, renderer=pydoc.TextDoc())
    for param in list(params)[1:]:
        assert param in text, f"help({name}) does not mention {param}"


def test_a_waiting_method_and_its_submit_form_take_the_same_arguments() -> None:
    pairs = [("generate", "submit_generate"), ("extend", "submit_extend")]
    pairs += [("generate_lyrics", "submit_lyrics"), ("generate_cover", "submit_cover")]
    for waiting, submitting in pairs:
        a = inspect.signature(getattr(AnyIntMusic, waiting))
        b = inspect.signature(getattr(AnyIntMusic, submitting))
        assert a.parameters == b.parameters
        assert "timeout" in a.parameters
        assert b.return_annotation.startswith("Task[")


def test_the_defaults_in_help_are_the_defaults_that_are_sent() -> None:
    params = inspect.signature(AnyIntMusic.generate).parameters
    assert params["model"].default is inspect.Parameter.empty  # required
    assert params["instrumental"].default is False
    assert params["custom_mode"].default is False
    assert params["style"].default is None
    assert inspect.signature(AnyIntMusic.extend).parameters["default_param_flag"].default is False


async def test_a_mistyped_or_missing_argument_is_a_type_error_and_nothing_is_sent(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'instrumentl'"):
        await anyint_client.generate("x", model=Model.V5, instrumentl=True)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="missing 1 required keyword-only argument: 'model'"):
        await anyint_client.submit_extend("audio")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument 'style_wieght'"):
        await anyint_client.submit_upload_cover("x.mp3", model="V5", style_wieght=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="positional"):
        await anyint_client.timestamped_lyrics("task")  # type: ignore[call-arg]
    assert not [r for r in anyint_gateway.requests if r.method == "POST"]
    assert anyint_gateway.tasks == []


async def test_the_options_sent_are_the_options_given(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    song = await anyint_client.generate(
        "la la",
        model="V4",
        custom_mode=True,
        style="folk",
        title="T",
        vocal_gender="f",
        style_weight=0.5,
    )
    body = anyint_gateway.task(song.task_id).request
    assert body["customMode"] is True
    assert body["instrumental"] is False
    assert (body["model"], body["style"], body["title"]) == ("V4", "folk", "T")
    assert (body["vocalGender"], body["styleWeight"], body["prompt"]) == ("f", 0.5, "la la")


async def test_a_submit_forms_timeout_is_its_tasks_default_wait(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    anyint_gateway.stage_delay = 60.0
    task: Task[object] = await anyint_client.submit_lyrics("slow", timeout=0.3)

    async def wait() -> object:
        return await task

    with pytest.raises(TaskTimeoutError):  # not the 900 s client default: a bare TimeoutError
        await asyncio.wait_for(wait(), timeout=30)


async def test_a_submit_forms_timeout_bounds_the_submit(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    anyint_gateway.fail_submit("/suno/generate", times=1000, code=430)  # a rate answer
    with pytest.raises(RateLimitError, match="timeout ran out"):
        await asyncio.wait_for(
            anyint_client.submit_generate("refused", model=Model.V5, timeout=0.5), timeout=30
        )
    assert anyint_gateway.tasks == []


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
