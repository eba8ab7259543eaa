"""Hold the production code to its coverage floors (docs/testing.md).

Reads the combined data of a `coverage run` (the suite and every Python process it started),
prints the report of the modules under the per-module floor, and exits 1 when the total is
under TOTAL_FLOOR or any module is under MODULE_FLOOR. Modules with fewer than MIN_STATEMENTS
statements are held to the total only (a 3-line module missing 1 line is not a finding).

    python scripts/coverage_floor.py [--total 96] [--module 85]
"""

from __future__ import annotations

import argparse
import sys

import coverage

TOTAL_FLOOR = 96.0
MODULE_FLOOR = 85.0
MIN_STATEMENTS = 10


def measure(cov: coverage.Coverage) -> tuple[float, list[tuple[str, int, int, float]]]:
    """The total percentage and, per measured file, (path, statements, missed, percent)."""
    data = cov.get_data()
    rows = []
    statements = missed = 0
    for path in sorted(data.measured_files()):
        try:
            _, executable, _, missing, _ = cov.analysis2(path)
        except coverage.exceptions.NoSource:
            continue
        if not executable:
            continue
        statements += len(executable)
        missed += len(missing)
        percent = 100.0 * (len(executable) - len(missing)) / len(executable)
        rows.append((path, len(executable), len(missing), percent))
    total = 100.0 * (statements - missed) / statements if statements else 0.0
    return total, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=float, default=TOTAL_FLOOR)
    parser.add_argument("--module", type=float, default=MODULE_FLOOR)
    args = parser.parse_args(argv)
    cov = coverage.Coverage()
    cov.load()
    total, rows = measure(cov)
    if not rows:
        print("coverage: no data was recorded (was the suite run under `coverage run`?)")
        return 1
    low = [row for row in rows if row[1] >= MIN_STATEMENTS and row[3] < args.module]
    for path, statements, missed, percent in low:
        print(f"  {percent:5.1f} %  {missed:4d} of {statements:4d} lines missed  {path}")
    verdict = 0
    if low:
        print(f"coverage: {len(low)} module(s) under the {args.module:g} % module floor")
        verdict = 1
    print(
        f"coverage: {total:.2f} % of {sum(r[1] for r in rows)} lines in {len(rows)} modules "
        f"(floor {args.total:g} %)"
    )
    if total < args.total:
        print(f"coverage: the total is under the {args.total:g} % floor")
        verdict = 1
    return verdict


if __name__ == "__main__":
    sys.exit(main())
