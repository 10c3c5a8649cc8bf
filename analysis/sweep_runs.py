"""The runs of a sweep and the steps that build them from a sweep file.

:class:`SweepRun` is one training run (name, condition, seed, the table columns it sets and
its full :class:`agents.config.TrainConfig`); the functions here turn the keys of a sweep file
(``base``, ``settings``, ``grid``, ``seeds``; format in :mod:`analysis.sweep`) into runs, which
:func:`analysis.sweep.expand_grid` chains.

Examples
--------
>>> from agents.config import TrainConfig
>>> runs = cross_runs(TrainConfig().to_dict(), named_settings(["none"], {}), {"lr": [0.1]}, [0])
>>> runs[0].name, runs[0].config.lr
('none_lr=0.1_seed=0', 0.1)
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.config import TrainConfig
from causal_influence.errors import ConfigError, FileFormatError
from causal_influence.io.limits import read_json

__all__ = [
    "SweepRun",
    "apply_overrides",
    "base_fields",
    "checked_config",
    "cross_runs",
    "named_settings",
    "one_line",
    "parse_seeds",
    "read_sweep_file",
    "safe_name",
    "value_label",
]


@dataclass(frozen=True)
class SweepRun:
    """One training run of a sweep.

    Attributes
    ----------
    name : str
        Unique, file-system safe; the run's directory is ``OUT/runs/NAME``.
    condition : str
        The setting and grid values (the runs of a condition differ only in the seed).
    seed : int
    params : dict
        The table columns of the run: ``setting`` (the setting's name) and one per grid key.
    config : agents.config.TrainConfig
    """

    name: str
    condition: str
    seed: int
    params: dict[str, Any]
    config: TrainConfig

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (the config as :meth:`TrainConfig.to_dict`)."""
        return {
            "name": self.name,
            "condition": self.condition,
            "seed": self.seed,
            "params": json.loads(json.dumps(self.params)),
            "config": self.config.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SweepRun:
        """Inverse of :meth:`to_dict`."""
        return cls(
            name=str(data["name"]),
            condition=str(data["condition"]),
            seed=int(data["seed"]),
            params=dict(data["params"]),
            config=TrainConfig.from_dict(dict(data["config"])),
        )


def apply_overrides(config: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` with ``overrides`` applied (``env`` tables merged, ``env.FIELD`` keys).

    Examples
    --------
    >>> apply_overrides({"lr": 0.1, "env": {"map": "small_harvest"}}, {"env.num_agents": 2})
    {'lr': 0.1, 'env': {'map': 'small_harvest', 'num_agents': 2}}
    """
    out = dict(config)
    env_over: dict[str, Any] = {}
    for key, value in overrides.items():
        if key == "env":
            if not isinstance(value, Mapping):
                raise ConfigError(
                    f"env: expected a table of the game's configuration fields (SSDConfig, "
                    f"SignallingConfig, ...); got {value!r}"
                )
            env_over.update(value)
        elif key.startswith("env."):
            env_over[key[len("env.") :]] = value
        else:
            out[key] = value
    if env_over:
        env = dict(out.get("env") or {})
        if "game" in env_over and env_over["game"] != env.get("game", "harvest"):
            env.pop("map", None)  # another game: its own map unless one is given
        env.update(env_over)
        out["env"] = env
    return out


def checked_config(data: dict[str, Any], where: str) -> TrainConfig:
    """``TrainConfig.from_dict(data)`` with ``where`` (the run or table) named in its errors."""
    try:
        return TrainConfig.from_dict(data)
    except ConfigError as err:
        raise ConfigError(f"{where}: {err}") from None
    except TypeError as err:  # an unknown field of the game's configuration
        raise ConfigError(
            f"{where}: {err}; see the game's configuration (envs.config.SSDConfig, "
            f"envs.signalling.SignallingConfig) for the env fields"
        ) from None


def value_label(value: Any) -> str:
    """A grid value as it appears in condition and run names (floats by ``repr``)."""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "-".join(value_label(v) for v in value)
    return str(value)


def safe_name(name: str) -> str:
    """``name`` with every run of characters unsafe in a file name replaced by ``_``.

    Examples
    --------
    >>> safe_name("moa lr=0.001 seed=0")
    'moa_lr=0.001_seed=0'
    """
    return re.sub(r"[^A-Za-z0-9._=+-]+", "_", name).strip("_") or "run"


def parse_seeds(seeds: Any) -> tuple[int, ...]:
    """Seeds from a list of distinct ints, or a count n for 0 .. n-1.

    Examples
    --------
    >>> parse_seeds(3), parse_seeds([7, 1])
    ((0, 1, 2), (7, 1))
    """
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        if seeds < 1:
            raise ConfigError(f"seeds: expected a positive count or a list of ints; got {seeds}")
        return tuple(range(seeds))
    if (
        not isinstance(seeds, Sequence)
        or isinstance(seeds, str)
        or not seeds
        or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds)
    ):
        raise ConfigError(
            f"seeds: expected a non-empty list of integers (or a count n for 0 .. n-1); got "
            f"{seeds!r}"
        )
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"seeds: expected distinct seeds; got {list(seeds)}")
    return tuple(int(s) for s in seeds)


def base_fields(base: TrainConfig | Mapping[str, Any]) -> dict[str, Any]:
    """The fields shared by every run, as a mapping in the form of :meth:`TrainConfig.to_dict`
    (a mapping is checked by building its config once)."""
    if isinstance(base, TrainConfig):
        return apply_overrides({}, base.to_dict())
    if isinstance(base, Mapping):
        checked_config(apply_overrides({}, dict(base)), "base")
        return apply_overrides({}, dict(base))
    raise ConfigError(
        f"base: expected a TrainConfig or a mapping of its fields; got {type(base).__name__}"
    )


def named_settings(
    settings: Mapping[str, Mapping[str, Any]] | Sequence[str] | None, base: Mapping[str, Any]
) -> dict[str, Mapping[str, Any]]:
    """Settings by name, each the TrainConfig fields it sets (a bare name sets ``setting``);
    without any, one setting named after ``base``'s.

    Examples
    --------
    >>> named_settings(["none", "moa"], {})
    {'none': {'setting': 'none'}, 'moa': {'setting': 'moa'}}
    """
    if settings is None:
        return {str(base.get("setting", TrainConfig.setting)): {}}
    named: dict[str, Mapping[str, Any]] = {}
    if isinstance(settings, Mapping):
        for name, over in settings.items():
            if not isinstance(over, Mapping):
                raise ConfigError(
                    f"settings.{name}: expected a table of TrainConfig fields; got {over!r}"
                )
            named[str(name)] = over
    elif isinstance(settings, Sequence) and not isinstance(settings, str):
        for name in settings:
            if not isinstance(name, str):
                raise ConfigError(f"settings: expected setting names; got {name!r}")
            named[name] = {"setting": name}
    else:
        raise ConfigError(
            f"settings: expected a mapping of name to overrides or a list of setting names; got "
            f"{settings!r}"
        )
    if not named:
        raise ConfigError("settings: expected at least one setting")
    return named


def cross_runs(
    base: Mapping[str, Any],
    named: Mapping[str, Mapping[str, Any]],
    grid: Mapping[str, Sequence[Any]],
    seeds: Sequence[int],
) -> list[SweepRun]:
    """Every setting x grid combination x seed, in that order (the last grid key fastest)."""
    keys = list(grid)
    runs: list[SweepRun] = []
    names: set[str] = set()
    for label, over in named.items():
        for combo in itertools.product(*(grid[k] for k in keys)):
            chosen = dict(zip(keys, combo, strict=True))
            condition = " ".join([label, *(f"{k}={value_label(v)}" for k, v in chosen.items())])
            merged = apply_overrides(apply_overrides(dict(base), over), chosen)
            for seed in seeds:
                name = safe_name(f"{condition} seed={seed}")
                if name in names:
                    raise ConfigError(
                        f"two runs would share the directory name {name!r}; give the settings "
                        f"distinct names"
                    )
                names.add(name)
                config = checked_config({**merged, "seed": seed}, f"run {name}")
                runs.append(SweepRun(name, condition, seed, {"setting": label, **chosen}, config))
    return runs


def read_sweep_file(path: Path) -> dict[str, Any]:
    """The table of a sweep file: ``.json``, or ``.toml`` (Python >= 3.11 or ``tomli``)."""
    suffix = path.suffix.lower()
    if suffix == ".json":
        data = read_json(path, "sweep file")  # bounded: size, nesting, number length
    elif suffix == ".toml":
        text = _toml_text(path)
        try:
            import tomllib  # type: ignore[import-not-found,unused-ignore]
        except ModuleNotFoundError:  # Python 3.10
            try:
                import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]
            except ModuleNotFoundError:
                raise ConfigError(
                    f"{path}: reading TOML needs Python >= 3.11 or the 'tomli' package; "
                    f"install tomli or write the sweep file as JSON"
                ) from None
        try:
            data = tomllib.loads(text)
        except (tomllib.TOMLDecodeError, RecursionError, ValueError) as err:
            raise FileFormatError(f"{path}: not valid TOML ({err})") from None
    else:
        raise ConfigError(
            f"{path}: expected a sweep file ending in .toml or .json; got {path.suffix!r}"
        )
    if not isinstance(data, dict):
        raise FileFormatError(f"{path}: expected a table of sweep keys; got {type(data).__name__}")
    return data


def _toml_text(path: Path) -> str:
    """The text of a TOML sweep file, within the size limit of JSON files, as UTF-8."""
    from causal_influence.io.limits import MAX_JSON_BYTES

    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such sweep file")
    if path.stat().st_size > MAX_JSON_BYTES:
        raise FileFormatError(f"{path}: a sweep file of {path.stat().st_size:,} bytes; too large")
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise FileFormatError(f"{path}: a sweep file must be UTF-8 text ({err})") from None


def one_line(err: BaseException) -> str:
    """``Type: first line of the message`` of an exception."""
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0]}" if text else type(err).__name__
