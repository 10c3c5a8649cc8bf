"""Pictures of episodes: animated GIFs from ``render()`` frames.

Examples
--------
>>> import numpy as np, tempfile, os
>>> from envs.render import save_gif
>>> frames = [np.zeros((4, 5, 3), np.uint8), np.full((4, 5, 3), 255, np.uint8)]
>>> path = save_gif(frames, os.path.join(tempfile.mkdtemp(), "ep.gif"), scale=4)
>>> path.name
'ep.gif'
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from causal_influence.errors import ShapeError, describe
from causal_influence.io import atomic_write

__all__ = ["record_episode", "save_gif"]


def save_gif(
    frames: Sequence[np.ndarray],
    path: str | os.PathLike[str],
    *,
    fps: float = 10.0,
    scale: int = 8,
) -> Path:
    """Write frames as an animated GIF, atomically (:func:`causal_influence.io.atomic_write`).

    Parameters
    ----------
    frames : sequence of uint8 arrays of shape (H, W, 3)
    path : path-like
        Destination ``.gif``.
    fps : float
        Frames per second.
    scale : int
        Each cell becomes a ``scale x scale`` block (nearest neighbour).

    Returns
    -------
    pathlib.Path
    """
    if len(frames) == 0:
        raise ShapeError("save_gif: expected at least one frame")
    images = []
    for k, frame in enumerate(frames):
        arr = np.asarray(frame)
        if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
            raise ShapeError(f"frame {k}: expected uint8 of shape (H, W, 3); got {describe(arr)}")
        big = np.repeat(np.repeat(arr, scale, axis=0), scale, axis=1)
        images.append(Image.fromarray(big))
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(out) as (tmp,):
        # The temporary name does not end in .gif, so the format is named explicitly.
        images[0].save(
            tmp,
            format="GIF",
            save_all=True,
            append_images=images[1:],
            duration=int(1000 / fps),
            loop=0,
            optimize=False,
        )
    return out


def record_episode(
    env: Any,
    policy: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    *,
    seed: int | None = None,
    max_steps: int | None = None,
) -> list[np.ndarray]:
    """Run one episode of a PettingZoo ``ParallelEnv`` (``render_mode="rgb_array"``) and return
    its frames. ``policy(observations) -> actions``; uniform random actions when None."""
    observations, _ = env.reset(seed=seed)
    frames = [env.render()]
    steps = 0
    for agent in env.possible_agents:
        env.action_space(agent).seed(None if seed is None else seed + 1)
    while env.agents and (max_steps is None or steps < max_steps):
        if policy is None:
            actions = {a: env.action_space(a).sample() for a in env.agents}
        else:
            actions = policy(observations)
        observations, *_ = env.step(actions)
        frames.append(env.render())
        steps += 1
    return frames
