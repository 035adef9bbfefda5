"""The pytest plugin in a user's project: the README's test with no configuration at all, which
tests the plugin marks for pytest-asyncio (and which it leaves alone), knobs per test through
``@pytest.mark.anyint`` and the report of what the simulator saw when a test fails."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
import pytest_asyncio

# The README's three-line test, exactly as a user would paste it.
README_TEST = """
async def test_my_jingle(anyint_client):
    song = await anyint_client.generate(prompt="a jingle", model="V5")
    assert len(song.tracks) == 2
"""


def run_pytest(project: Path, *args: str) -> str:
    """Run pytest in `project` with this venv's python, as a user would from a shell.

    Returns its output: stdout, stderr and the exit status.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.pop("PYTHONPATH", None)  # the package comes from its installation, as for a user
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return f"{done.stdout}\n--- stderr ---\n{done.stderr}\nexit {done.returncode}"


@pytest.mark.parametrize(
    "config",
    [
        pytest.param(None, id="no-configuration"),
        pytest.param('asyncio_mode = "strict"', id="strict"),
        pytest.param('asyncio_mode = "auto"', id="auto"),
    ],
)
def test_readme_test_passes_in_a_fresh_project(tmp_path: Path, config: str | None) -> None:
    (tmp_path / "test_song.py").write_text(README_TEST, encoding="utf-8")
    if config is not None:
        (tmp_path / "pyproject.toml").write_text(
            f"[tool.pytest.ini_options]\n{config}\n", encoding="utf-8"
        )
    output = run_pytest(tmp_path)
    assert output.endswith("exit 0"), output
    assert f"rootdir: {tmp_path}" in output, output
    assert "1 passed in" in output, output
    if config is None:
        # Really no configuration: no file found above the folder either.
        assert "configfile:" not in output, output
        # And a clean run: not even pytest-asyncio's note about its unset loop scope.
        assert "warning" not in output.lower(), output
    else:
        assert "configfile: pyproject.toml" in output, output


def test_async_tests_without_the_fixtures_are_left_alone(tmp_path: Path) -> None:
    (tmp_path / "test_song.py").write_text(README_TEST, encoding="utf-8")
    (tmp_path / "test_other.py").write_text(
        "async def test_not_ours():\n    pass\n", encoding="utf-8"
    )
    output = run_pytest(tmp_path, "-rA")
    assert "PASSED test_song.py::test_my_jingle" in output, output
    # Strict mode refuses it exactly as it would without this package (failed since pytest
    # 8.4, skipped with a warning before).
    assert "PASSED test_other.py" not in output, output
    assert "async def functions are not natively supported" in output, output


MARKING = """
import pytest
import pytest_asyncio

@pytest_asyncio.fixture
async def my_app(anyint_client):
    return anyint_client

async def test_readme(anyint_client): ...
async def test_gateway_only(anyint_gateway): ...
async def test_through_a_fixture(my_app): ...
async def test_unrelated(): ...
def test_sync(anyint_gateway): ...
async def test_only_the_options(anyint_gateway_options): ...

@pytest.mark.asyncio(loop_scope="module")
async def test_already_marked(anyint_client): ...

@pytest.mark.anyio
async def test_anyio(anyint_client): ...

class TestGroup:
    async def test_method(self, anyint_client): ...
"""


def _asyncio_marks(items: list[pytest.Item]) -> dict[str, list[dict[str, object]]]:
    return {
        item.originalname: [dict(m.kwargs) for m in item.iter_markers("asyncio")]
        for item in items
        if isinstance(item, pytest.Function)
    }


def test_strict_mode_marks_only_tests_that_use_the_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        "[pytest]\nasyncio_mode = strict\nasyncio_default_fixture_loop_scope = function\n"
    )
    pytester.makepyfile(test_marking=MARKING)
    items, _ = pytester.inline_genitems()
    assert _asyncio_marks(items) == {
        "test_readme": [{}],
        "test_gateway_only": [{}],
        "test_through_a_fixture": [{}],
        "test_unrelated": [],
        "test_sync": [],
        "test_only_the_options": [],
        "test_already_marked": [{"loop_scope": "module"}],  # kept as written, not doubled
        "test_anyio": [],
        "test_method": [{}],
    }
    # Marked in time: pytest-asyncio made them its own test items, so it runs them.
    runs_them = {item.originalname for item in items if pytest_asyncio.is_async_test(item)}
    assert runs_them == {
        "test_readme",
        "test_gateway_only",
        "test_through_a_fixture",
        "test_already_marked",
        "test_method",
    }


LOOP_FACTORIES = """
import asyncio

def pytest_asyncio_loop_factories(config, item):
    return {"one": asyncio.new_event_loop, "two": asyncio.new_event_loop}
"""


@pytest.mark.skipif(
    tuple(int(p) for p in version("pytest-asyncio").split(".")[:2]) < (1, 4),
    reason="pytest_asyncio_loop_factories came in pytest-asyncio 1.4",
)
def test_the_mark_counts_for_loop_factories_too(pytester: pytest.Pytester) -> None:
    # Marked before pytest-asyncio parametrizes the definition, exactly like a written mark.
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makeconftest(LOOP_FACTORIES)
    pytester.makepyfile(
        test_loops="import pytest\n"
        + README_TEST
        + "\n@pytest.mark.asyncio\nasync def test_written(anyint_client): ...\n"
        + "\nasync def test_unrelated(): ...\n",
    )
    items, _ = pytester.inline_genitems()
    assert [item.name for item in items] == [
        "test_my_jingle[one]",
        "test_my_jingle[two]",
        "test_written[one]",
        "test_written[two]",
        "test_unrelated",
    ]


def test_auto_mode_is_exactly_as_without_the_plugin(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    )
    pytester.makepyfile(test_marking=MARKING)
    with_plugin, _ = pytester.inline_genitems()
    without_plugin, _ = pytester.inline_genitems("-p", "no:anyint_music")
    assert _asyncio_marks(with_plugin) == _asyncio_marks(without_plugin)
    assert [type(i) for i in with_plugin] == [type(i) for i in without_plugin]


def test_runs_without_pytest_asyncio_are_not_broken(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_sync="def test_plain():\n    assert True\n")
    result = pytester.runpytest_inprocess("-p", "no:asyncio")
    result.assert_outcomes(passed=1)


KNOBS = """
import pytest
from anyint_music import TaskFailedError

pytestmark = pytest.mark.anyint(stage_delay=0.01, duplicates=1)

@pytest.fixture
def anyint_gateway_options():
    return {"skip_stages": True, "duplicates": 3, "seed": 7}

async def test_module_mark_and_the_options_fixture(anyint_gateway):
    assert anyint_gateway.stage_delay == 0.01
    assert anyint_gateway.duplicates == 1  # a mark wins over the options fixture
    assert anyint_gateway.skip_stages is True

@pytest.mark.anyint(duplicates=0, unwrapped=True)
class TestClassMarks:
    async def test_class_mark(self, anyint_gateway):
        assert (anyint_gateway.duplicates, anyint_gateway.unwrapped) == (0, True)

    @pytest.mark.anyint(duplicates=2)
    async def test_closest_mark_wins(self, anyint_gateway, anyint_client):
        assert (anyint_gateway.duplicates, anyint_gateway.unwrapped) == (2, True)
        song = await anyint_client.generate(prompt="x", model="V5")
        await anyint_gateway.wait_idle()
        assert len(anyint_gateway.callbacks) == 3  # complete only, three times
        assert all(c.ok for c in anyint_gateway.callbacks)

@pytest.mark.anyint(stage_dealy=0.1)
async def test_a_misspelt_knob(anyint_gateway): ...

@pytest.mark.anyint(0.1)
async def test_a_positional_knob(anyint_gateway): ...

async def test_that_fails(anyint_gateway, anyint_client):
    anyint_gateway.fail_tasks(code=531, message="refunded")
    with pytest.raises(TaskFailedError):
        await anyint_client.generate(prompt="the failing song", model="V5")
    await anyint_gateway.wait_idle()
    assert not anyint_gateway.callbacks, "fails on purpose, to show the report"
"""


def test_knobs_per_test_and_the_report_of_what_the_simulator_saw(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(test_knobs=KNOBS)
    result = pytester.runpytest_subprocess("-W", "error", "--strict-markers")
    result.assert_outcomes(passed=3, failed=1, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*@pytest.mark.anyint: unknown FakeGateway knob(s) stage_dealy; the knobs are *",
            "*@pytest.mark.anyint takes FakeGateway knobs as keywords only, not (0.1,)*",
        ],
        consecutive=False,
    )
    result.stdout.fnmatch_lines(
        [
            "*- Captured anyint simulator call -*",
            "1 request received, 2 callbacks sent (2 answered 200), 1 task created",
            "requests received:",
            '  POST /suno/generate  {*"prompt": "the failing song"*}',
            "callbacks sent, with the receiver's answers:",
            "  error    task *: receiver answered 200",  # skip_stages: no text stage
            "  error    task *: receiver answered 200",  # and its duplicate
            "tasks:",
            "  * /suno/generate GENERATE_AUDIO_FAILED (code 531: refunded)",
        ]
    )
    assert ", copy 1: receiver answered 200" in result.stdout.str()
    # Only the failing test gets the section.
    assert result.stdout.str().count("Captured anyint simulator") == 1
