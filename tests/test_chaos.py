"""The promise to long-lived workers, under a seeded storm: 2,000 tasks, each resolved exactly
once with its own result, none lost, none misrouted, none waiting past its timeout."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from _chaos import run_storm


async def test_2000_tasks_through_chaos() -> None:
    # The timeout bounds a stuck wait, not the storm's pace: on a shared, loaded machine the
    # throttled submits of 2,000 tasks may queue for over a minute, and that is no harm.
    tally = await run_storm(2000, seed=3, timeout=180)
    storm = tally.gateway
    # the storm really happened
    assert storm["callbacks_duplicated"] > 0
    assert storm["callbacks_dropped"] > 0
    assert storm["callbacks_reordered_tasks"] > 0
    assert storm["submits_refused"]["503"] > 0
    assert storm["submits_refused"]["rate"] > 0
    assert storm["answers_early"] > 0
    # and nothing came to harm
    assert tally.lost == 0
    assert tally.failed == 0, tally
    assert tally.resolved == 2000
    assert tally.misrouted == 0
    assert tally.created_twice == 0
    assert tally.overtime == 0
    assert storm["tasks_created"] == 2000
