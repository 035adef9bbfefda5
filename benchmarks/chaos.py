"""Chaos at scale: 20,000 tasks through a seeded storm of duplicates, reordered, early, late,
dropped and redelivered callbacks, 503s and rate answers. Prints one JSON line.

    python benchmarks/chaos.py [--tasks 20000] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _chaos import run_storm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    tally = asyncio.run(run_storm(args.tasks, seed=args.seed, timeout=300))
    figures = tally.as_dict()
    figures["tasks_per_second"] = round(tally.tasks / tally.seconds, 1)
    print(json.dumps({"benchmark": "chaos", **figures}))


if __name__ == "__main__":
    main()
