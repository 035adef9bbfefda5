"""The package, its typing test and the examples pass mypy --strict and ruff."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_mypy_strict() -> None:
    pytest.importorskip("mypy")
    done = _run("mypy", "--strict", "anyint_music", "tests/typing", "examples", "benchmarks")
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff() -> None:
    if shutil.which("ruff") is None and _run("ruff", "--version").returncode != 0:
        pytest.skip("ruff is not installed")
    done = _run("ruff", "check", ".")
    assert done.returncode == 0, done.stdout + done.stderr
