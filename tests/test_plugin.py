"""The pytest plugin, used the way a user's own test suite uses it."""

from __future__ import annotations

from pathlib import Path

import pytest

USER_TESTS = """
from pathlib import Path

import pytest
from anyint_music import Model, TaskFailedError

async def test_my_app_makes_a_song(anyint_client):
    song = await anyint_client.generate(prompt="jingle for my app", model=Model.V5)
    assert len(song.tracks) == 2

async def test_my_app_handles_failure(anyint_gateway, anyint_client):
    anyint_gateway.fail_tasks(code=531, message="refunded")
    with pytest.raises(TaskFailedError):
        await anyint_client.generate(prompt="x", model=Model.V5)

@pytest.fixture
def anyint_gateway_options():
    return {"skip_stages": True}

async def test_options_fixture_configures_the_gateway(anyint_gateway, anyint_client):
    task = await anyint_client.submit_generate("x", model=Model.V5)
    await task
    assert [e.stage.value async for e in task.events()] == ["complete"]
"""


def test_user_suite_runs_with_the_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\n"
        "asyncio_default_fixture_loop_scope = function\nfilterwarnings = error\n"
    )
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess("-q")
    result.assert_outcomes(passed=3)


def test_testing_example_passes(pytester: pytest.Pytester) -> None:
    example = Path(__file__).resolve().parent.parent / "examples" / "testing_your_app"
    # As its docstring says: no pytest configuration at all, no marks.
    pytester.makepyfile(test_jingles=(example / "test_jingles.py").read_text(encoding="utf-8"))
    result = pytester.runpytest_subprocess("-q", "-W", "error")
    result.assert_outcomes(passed=5)
