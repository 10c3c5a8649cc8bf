"""Smoke run of ``benchmarks/bench_analysis.py --quick`` (tiny sizes; no timing assertions)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_analysis_quick_runs_and_prints_its_figures() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_analysis.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for figure in (
        "(a) summarize",
        # 40 coordination pairs, 5 agents' speaker consistency, 20 observational influence
        # tests; the 40 high-influence comparisons have no test without counterfactual logits
        "(b) analyze(summary): 65 permutation tests",
        "(c) permutation_test",
        "EXTRAPOLATED",
        "speed-up, one test, (d) / (c)",
        "2 shards",
        "8 shards",
        "peak, 8 shards / 2 shards:",
        "all shards / first shard alone",
        "peak above 'before' / the largest shard's in-RAM size",
        "(goal <= 2; load",
    ):
        assert figure in out, f"{figure!r} missing from:\n{out}"
    assert " ms" in out
    assert "nan" not in out.lower()
