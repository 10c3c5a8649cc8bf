"""Print the robustness probe's count per area from the project's own tests.

Runs the suite of ``tests/robustness`` with pytest and prints, per area, the cases tried and
how each ended: a typed error or the correct result, a raw traceback, a silently wrong
result, or data lost. The numbers are those the tests recorded (``tests/robustness/probe.py``);
a case that is not handled also fails its test.

Usage (from the repository root)::

    python tests/robustness/tally.py            # the default selection (not slow)
    python tests/robustness/tally.py --all      # with the slow cases (byte scans, many kills)
    python tests/robustness/tally.py --json out.json   # also keep the outcomes

Exit status: pytest's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
OUTCOMES = ("ok", "traceback", "silent", "lost")


def table(recorded: list[list[str]]) -> list[str]:
    """Lines of the table: area, cases, typed error or correct, traceback, silent, lost."""
    per_area: dict[str, Counter[str]] = {}
    for area, _case, outcome, _detail in recorded:
        per_area.setdefault(area, Counter())[outcome] += 1
    head = ["area", "cases", "typed error or correct", "raw traceback", "silently wrong", "lost"]
    rows = []
    total: Counter[str] = Counter()
    for area in sorted(per_area):
        counts = per_area[area]
        total.update(counts)
        rows.append([area, sum(counts.values()), *(counts[o] for o in OUTCOMES)])
    rows.append(["total", sum(total.values()), *(total[o] for o in OUTCOMES)])
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    lines = [" | ".join(str(h).ljust(w) for h, w in zip(head, widths, strict=True))]
    lines.append("-|-".join("-" * w for w in widths))
    for row in rows:
        cells = [str(row[0]).ljust(widths[0])]
        cells += [str(v).rjust(w) for v, w in zip(row[1:], widths[1:], strict=True)]
        lines.append(" | ".join(cells))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", action="store_true", help="include the tests marked slow")
    parser.add_argument("--json", metavar="PATH", help="also write the recorded outcomes")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(args.json) if args.json else Path(tmp) / "outcomes.json"
        env = {**os.environ, "CAUSAL_INFLUENCE_PROBE_JSON": str(target)}
        env.setdefault("OMP_NUM_THREADS", "1")
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(HERE)]
        command += ["-m", ""] if args.all else []
        proc = subprocess.run(command, cwd=ROOT, env=env, check=False)
        if not target.is_file():
            print("tally: no outcomes were recorded", file=sys.stderr)
            return proc.returncode or 1
        recorded = json.loads(target.read_text(encoding="utf-8"))
    print()
    print("\n".join(table(recorded)))
    return proc.returncode


if __name__ == "__main__":
    raise SystemExit(main())
