"""Connecting to Ray, shared by :mod:`analysis.sweep` and :mod:`analysis.shards` (private).

Ray is an optional extra (``pip install 'causal-influence[ray]'``) and is imported only inside
these functions, so every other module of the toolkit works without it.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from typing import Any

from causal_influence.errors import ConfigError

__all__ = ["check_options", "cluster_cpus", "import_ray", "ray_session", "remote_cause"]

#: Install hint shown when Ray is missing.
INSTALL_HINT = "pip install 'causal-influence[ray]'"


def import_ray() -> Any:
    """The ``ray`` module, or a ConfigError that says how to install it."""
    try:
        import ray
    except ImportError as err:
        raise ConfigError(
            f"this needs Ray, an optional extra that is not installed ({err}); install it with "
            f"{INSTALL_HINT}"
        ) from None
    return ray


def check_options(address: str | None, num_cpus: int | None) -> None:
    """Raise ConfigError for options :func:`ray_session` cannot honour (before any work)."""
    if num_cpus is not None and (
        isinstance(num_cpus, bool) or not isinstance(num_cpus, int) or num_cpus < 1
    ):
        raise ConfigError(f"num_cpus: expected a positive integer; got {num_cpus!r}")
    if address is not None and (not isinstance(address, str) or not address):
        raise ConfigError(f"address: expected a cluster address such as 'auto'; got {address!r}")
    if num_cpus is not None and address is not None:
        raise ConfigError(
            f"num_cpus={num_cpus} sizes a local cluster, but address={address!r} connects to a "
            f"running one (whose CPUs were set by `ray start --num-cpus`); pass only one"
        )


@contextlib.contextmanager
def ray_session(address: str | None = None, *, num_cpus: int | None = None) -> Iterator[Any]:
    """Yield the ``ray`` module connected to a cluster; shut down only what was started here.

    Parameters
    ----------
    address : str, optional
        Address of a running cluster (``"auto"``, ``"HOST:6379"`` or ``"ray://HOST:10001"``);
        None starts a local cluster on this machine for the duration of the block.
    num_cpus : int, optional
        CPUs of the local cluster (default: all of this machine's); only without ``address``.

    When Ray is already initialised in this process (``ray.init`` called by the caller), that
    connection is used as it is and left running.

    Raises
    ------
    ConfigError
        Ray is not installed, ``num_cpus`` is given with ``address``, or the cluster at
        ``address`` cannot be reached.
    """
    check_options(address, num_cpus)
    ray = import_ray()
    if ray.is_initialized():
        yield ray
        return
    if address is None:
        ray.init(num_cpus=num_cpus, include_dashboard=False)
    else:
        _check_reachable(address)
        try:
            ray.init(address=address)
        except Exception as err:  # Ray raises ConnectionError, RuntimeError, ValueError, ...
            raise ConfigError(
                f"could not connect to the Ray cluster at {address!r} ({type(err).__name__}: "
                f"{str(err).splitlines()[0] if str(err) else ''}); start one with `ray start "
                f"--head` and pass the address it prints, or 'auto' on a node of the cluster"
            ) from None
    try:
        yield ray
    finally:
        ray.shutdown()


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail fast when nothing listens at HOST:PORT (``ray.init`` would retry for minutes)."""
    host_port = address.removeprefix("ray://")
    host, sep, port = host_port.rpartition(":")
    if not sep or not host or not port.isdigit():
        return  # "auto", or a form Ray resolves itself
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as err:
        raise ConfigError(
            f"no Ray cluster answers at {address!r} ({err}); start one with `ray start --head` "
            f"and pass the address it prints, or 'auto' on a node of the cluster"
        ) from None


def cluster_cpus(ray: Any) -> int:
    """Total CPUs of the connected cluster (at least 1)."""
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def remote_cause(err: BaseException) -> BaseException:
    """The exception raised inside a Ray task (Ray wraps it in a ``RayTaskError``)."""
    cause = getattr(err, "cause", None)
    return cause if isinstance(cause, BaseException) else err
