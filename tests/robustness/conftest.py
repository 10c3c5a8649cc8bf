"""The probe as a test suite: the ``probe`` fixture and the tally of outcomes.

Every test of this directory records its cases with ``probe.record`` / ``probe.error`` /
``probe.same`` (see :mod:`tests.robustness.probe`) and calls ``probe.check()``. The outcomes
travel with the test reports (``user_properties``); at the end of the session a table of
cases per area is printed (and written as JSON to ``$CAUSAL_INFLUENCE_PROBE_JSON`` when set,
which ``tests/robustness/tally.py`` reads).
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from probe import LOST, OK, SILENT, TRACEBACK, Probe

#: Area of each test module (one module per area).
AREAS = {
    "test_files": "files",
    "test_corruption": "corruption",
    "test_kills": "kills",
    "test_reruns": "reruns and resumes",
    "test_cli_arguments": "command line",
    "test_function_arguments": "public functions",
}

_RECORDED: list[tuple[str, str, str, str]] = []


@pytest.fixture
def probe(request: pytest.FixtureRequest):
    module = request.node.module.__name__.rpartition(".")[2]
    p = Probe(AREAS.get(module, module))
    yield p
    for case, outcome, detail in p.cases:
        request.node.user_properties.append(
            ("probe", (p.area, f"{request.node.name}: {case}", outcome, detail))
        )


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "teardown":
        return
    for key, value in report.user_properties:
        if key == "probe":
            _RECORDED.append(tuple(value))


def table(recorded: list[tuple[str, str, str, str]]) -> list[str]:
    """The tally as text lines: cases; typed error or correct; traceback; silent; lost."""
    per_area: dict[str, Counter[str]] = {}
    for area, _case, outcome, _detail in recorded:
        per_area.setdefault(area, Counter())[outcome] += 1
    head = (
        f"{'area':<20} {'cases':>7} {'typed/correct':>14} {'traceback':>10} {'silent':>7} "
        f"{'lost':>5}"
    )
    lines = [head, "-" * len(head)]
    total: Counter[str] = Counter()
    for area in sorted(per_area):
        c = per_area[area]
        total.update(c)
        lines.append(
            f"{area:<20} {sum(c.values()):>7} {c[OK]:>14} {c[TRACEBACK]:>10} {c[SILENT]:>7} "
            f"{c[LOST]:>5}"
        )
    lines.append("-" * len(head))
    lines.append(
        f"{'total':<20} {sum(total.values()):>7} {total[OK]:>14} {total[TRACEBACK]:>10} "
        f"{total[SILENT]:>7} {total[LOST]:>5}"
    )
    return lines


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not _RECORDED:
        return
    terminalreporter.section("robustness probe")
    for line in table(_RECORDED):
        terminalreporter.write_line(line)
    target = os.environ.get("CAUSAL_INFLUENCE_PROBE_JSON")
    if target:
        Path(target).write_text(
            json.dumps([list(r) for r in _RECORDED], ensure_ascii=True), encoding="utf-8"
        )
