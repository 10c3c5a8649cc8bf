"""The probe's vocabulary: what a case is, how its outcome is classified, and small helpers.

A *case* is one thing a careless or hostile user does (a corrupted file, a kill during a write,
a rerun into an existing directory, a bad argument). Its *outcome* is one of

- ``ok``: a typed error (a :class:`~causal_influence.errors.CausalInfluenceError`, or for the
  command line exit status 2 with a one-line message), or the correct result;
- ``traceback``: an untyped exception (or a command-line traceback);
- ``silent``: a wrong result without an error;
- ``lost``: data the user had is deleted, replaced or unreadable afterwards.

Each test records its cases through the ``probe`` fixture (``tests/robustness/conftest.py``)
and fails when one of them is not ``ok``; ``tests/robustness/tally.py`` prints the count per
area from the recorded outcomes.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from causal_influence.errors import CausalInfluenceError
from causal_influence.trajectory import Trajectory

OK, TRACEBACK, SILENT, LOST = "ok", "traceback", "silent", "lost"
OUTCOMES = (OK, TRACEBACK, SILENT, LOST)

#: Errors a user can act on: the project's typed errors and the file-system errors whose message
#: names the path (missing file, existing output, permission).
TYPED = (CausalInfluenceError, FileNotFoundError, FileExistsError, PermissionError)


@dataclass
class Probe:
    """Records the outcomes of one test's cases (see the module docstring)."""

    area: str
    cases: list[tuple[str, str, str]] = field(default_factory=list)

    def record(self, case: str, outcome: str, detail: str = "") -> str:
        assert outcome in OUTCOMES, outcome
        self.cases.append((case, outcome, detail))
        return outcome

    def error(
        self,
        case: str,
        fn: Callable[..., Any],
        *args: Any,
        errors: tuple[type[BaseException], ...] = TYPED,
        names: str | None = None,
        **kwargs: Any,
    ) -> str:
        """Bad input: ``fn(*args, **kwargs)`` must raise one of ``errors`` (whose message
        contains ``names`` when given); returning is ``silent``, anything else ``traceback``."""
        try:
            result = fn(*args, **kwargs)
        except errors as err:
            if names is not None and names not in str(err):
                return self.record(case, TRACEBACK, f"message does not name {names!r}: {err}")
            return self.record(case, OK, f"{type(err).__name__}: {err}")
        except Exception as err:
            return self.record(case, TRACEBACK, _last_lines(err))
        return self.record(case, SILENT, f"returned {_short(result)}")

    def same(
        self,
        case: str,
        fn: Callable[[], Any],
        expected: Any,
        *,
        equal: Callable[[Any, Any], bool] | None = None,
        errors: tuple[type[BaseException], ...] = TYPED,
    ) -> str:
        """Either the correct result or a typed error; a different result is ``silent``."""
        try:
            result = fn()
        except errors as err:
            return self.record(case, OK, f"{type(err).__name__}: {err}")
        except Exception as err:
            return self.record(case, TRACEBACK, _last_lines(err))
        same = (equal or _equal)(result, expected)
        return self.record(case, OK if same else SILENT, "" if same else "different result")

    def check(self) -> None:
        """Fail the test when any case is not ``ok`` (listing the first few)."""
        bad = [c for c in self.cases if c[1] != OK]
        if bad:
            lines = [f"{outcome}: {case}: {detail}" for case, outcome, detail in bad[:8]]
            raise AssertionError(
                f"{len(bad)} of {len(self.cases)} cases not handled:\n" + "\n".join(lines)
            )


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, Trajectory) or isinstance(b, Trajectory):
        return bool(a == b)
    try:
        return bool(np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True))
    except TypeError:
        return bool(a == b)


def _short(x: Any) -> str:
    text = repr(x)
    return text if len(text) < 120 else text[:117] + "..."


def _last_lines(err: BaseException) -> str:
    lines = traceback.format_exception_only(type(err), err)
    return "".join(lines).strip()[:300]


# ---------------------------------------------------------------------------- command line


@dataclass
class CliResult:
    code: int | None
    out: str
    err: str
    exception: BaseException | None


def run_cli(argv: list[str]) -> CliResult:
    """``causal-influence ARGV`` in this process: exit status, stdout, stderr, and the
    exception that escaped ``main`` (a traceback a user would see)."""
    from analysis.cli import main

    out, err = io.StringIO(), io.StringIO()
    code: int | None = None
    escaped: BaseException | None = None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # pragma: no cover - main returns its status
            code = exc.code if isinstance(exc.code, int) else 2
        except BaseException as exc:
            escaped = exc
    return CliResult(code, out.getvalue(), err.getvalue(), escaped)


def classify_cli_error(result: CliResult) -> tuple[str, str]:
    """A bad command line: exit 2 with one line on stderr is ``ok``; exit 0 is ``silent``."""
    if result.exception is not None:
        return TRACEBACK, _last_lines(result.exception)
    lines = [line for line in result.err.splitlines() if line.strip()]
    if result.code == 2 and "Traceback" not in result.err:
        usage = [line for line in lines if not line.startswith("usage:")]
        if len(usage) == 1 and usage[0].startswith("causal-influence"):
            return OK, usage[0]
        return TRACEBACK, f"exit 2 but stderr has {len(lines)} lines: {result.err[-300:]}"
    if result.code == 0:
        return SILENT, f"exit 0; stdout {result.out[-200:]!r}"
    return TRACEBACK, f"exit {result.code}: {result.err[-300:]}"


# ---------------------------------------------------------------------------- files


def snapshot(root: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under ``root`` (hidden ones included)."""
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            found[os.fsdecode(path.relative_to(root))] = hashlib.sha256(
                path.read_bytes()
            ).hexdigest()
    return found


def kept(before: dict[str, str], root: Path) -> tuple[str, str]:
    """``ok`` when every file of ``before`` is still under ``root`` unchanged, else ``lost``."""
    after = snapshot(root)
    gone = [name for name, digest in before.items() if after.get(name) != digest]
    if gone:
        return LOST, f"{len(gone)} files deleted or changed, e.g. {gone[:3]}"
    return OK, ""


@contextlib.contextmanager
def no_write_permission(path: Path) -> Iterator[bool]:
    """``path`` made read-only; yields whether that holds (not for root, who writes anyway)."""
    mode = path.stat().st_mode
    path.chmod(0o500)
    try:
        yield not (hasattr(os, "geteuid") and os.geteuid() == 0)
    finally:
        path.chmod(mode)


def small_trajectory(
    *,
    num_steps: int = 12,
    num_agents: int = 2,
    num_actions: int = 3,
    episodes: int = 3,
    seed: int = 0,
    fields: tuple[str, ...] = ("messages", "logits", "visible", "influence"),
) -> Trajectory:
    """A small trajectory with messages, logits, visibility and influence."""
    rng = np.random.default_rng(seed)
    t_, n, a = num_steps, num_agents, num_actions
    arrays: dict[str, Any] = {
        "messages": rng.integers(0, 2, (t_, n)),
        "logits": rng.normal(size=(t_, n, a)).astype(np.float32),
        "visible": rng.random((t_, n, n)) < 0.7,
        "influence": rng.random((t_, n, n)),
        "counterfactual_logits": rng.normal(size=(t_, n, n, a, a)).astype(np.float32),
    }
    return Trajectory(
        actions=rng.integers(0, a, (t_, n)),
        rewards=rng.normal(size=(t_, n)),
        episode_ids=np.repeat(np.arange(episodes), -(-t_ // episodes))[:t_],
        **{f: arrays[f] for f in fields},
        num_actions=a,
        num_symbols=2 if "messages" in fields else 0,
        env_name="harvest",
        seed=seed,
    )


def flip_byte(data: bytes, offset: int, mask: int) -> bytes:
    out = bytearray(data)
    out[offset] ^= mask
    return bytes(out)


def offsets(size: int, count: int, rng: np.random.Generator) -> list[int]:
    """``count`` offsets into a file of ``size`` bytes: evenly spaced, then random."""
    if count >= size:
        return list(range(size))
    even = np.linspace(0, size - 1, count // 2).astype(int)
    rest = rng.choice(size, size=count - even.size, replace=False)
    return sorted({int(x) for x in (*even, *rest)})
